"""Grading on a Dask distributed cluster: `grade SUBMISSIONS --out OUT --scheduler tcp://HOST:8786`.

The coordinator (the `grade` process) keeps everything that is the class's: the gradebook, the state
store, the CSVs and the report. `ClusterPool` has the local `Pool`'s interface; it sends each
submission to the cluster as bytes (its notebooks, plus the course template once per batch: no shared
file system is assumed), and a worker grades it exactly as a local worker does (`Pool` of one
grading process: the same sandbox, kernel zygote, trusted verdict and time limit) and returns the
outcome with nbgrader's autograded and feedback folders as bytes.

A Dask worker that dies mid-submission loses nothing: the scheduler gives the task to another worker.
A worker without a sandbox (no bubblewrap) refuses to grade unless the batch allows it explicitly
(`--allow-unsandboxed-workers`); each row says which protections were in force on the worker that
graded it, and which worker that was.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from autograder.grading.worker import Job, Outcome
from autograder.status import AUTOGRADE_FAILED

CONNECT_SECONDS = 60


def pack(folder: Path) -> bytes:
    """A folder's contents as a gzipped tar (links followed: the receiver gets plain files)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True) as tar:
        for entry in sorted(Path(folder).iterdir()):
            tar.add(entry, arcname=entry.name)
    return buffer.getvalue()


def unpack(data: bytes, into: Path) -> None:
    """Extract `pack`'s bytes into `into`: regular files and folders only, nothing outside it."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")


# ----------------------------------------------------------------------------- on a Dask worker

_IDLE: list = []   # this Dask worker's warm grading processes (a Pool of one each), not in use now
_IDLE_LOCK = threading.Lock()
_TEMPLATES = threading.Lock()


def _where() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


def _root() -> Path:
    # one folder per Dask worker process: two workers on one machine must not share (and replace)
    # each other's unpacked course template
    root = Path(tempfile.gettempdir()) / f"gd-cluster-{os.getuid()}-{os.getpid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _new_pool(zygote: bool):
    import atexit

    from autograder.grading.pool import Pool

    pool = Pool(1, _root() / "logs", zygote)
    atexit.register(pool.close)   # its grading process and sandboxes end with the Dask worker
    return pool


def _take_pool(zygote: bool):
    """A warm grading process of this Dask worker's, for one task at a time."""
    with _IDLE_LOCK:
        if _IDLE:
            return _IDLE.pop()
    return _new_pool(zygote)


def _give_back(pool) -> None:
    with _IDLE_LOCK:
        _IDLE.append(pool)


def warm_up(zygote: bool = True, dask_worker=None) -> int:
    """Run on every Dask worker when a batch starts (`Client.run`): one grading process per thread,
    started now (each warms up nbgrader and its kernel zygote, or else its verdict server, in the background),
    so the first task finds them ready."""
    threads = dask_worker.state.nthreads if dask_worker is not None else 1
    with _IDLE_LOCK:
        missing = max(0, threads - len(_IDLE))
    for _ in range(missing):
        _give_back(_new_pool(zygote))
    return missing


def _template(root: Path, key: str, data: bytes) -> Path:
    folder = root / f"template-{key}"
    with _TEMPLATES:
        if not (folder / "gradebook.db").exists():
            building = Path(tempfile.mkdtemp(prefix="building-", dir=root))
            unpack(data, building)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(building, folder)
    return folder


def grade_on_worker(job: dict, notebooks: dict[str, bytes], template_key: str, template: bytes,
                    time_limit: float, allow_unsandboxed: bool) -> dict:
    """Grade one submission on this worker; the outcome plus autograded/feedback folders as bytes."""
    from autograder.sandbox import run as sandbox

    where = _where()
    if sandbox.mode() == "none" and not allow_unsandboxed:
        outcome = Outcome(job["student_id"], job["assignment_id"], AUTOGRADE_FAILED,
                          f"worker {where} has no sandbox (bubblewrap): it refuses to grade "
                          "(--allow-unsandboxed-workers grades there without isolation)",
                          protections=f"none on {where}")
        return {"outcome": asdict(outcome), "autograded": b"", "feedback": b""}
    root = _root()
    work = Path(tempfile.mkdtemp(prefix="job-", dir=root))
    try:
        (work / "in").mkdir()
        paths = {}
        for name, data in notebooks.items():
            paths[name] = str(work / "in" / f"{Path(name).name}.ipynb")
            Path(paths[name]).write_bytes(data)
        local = Job(**{**job, "notebooks": paths, "template": str(_template(root, template_key, template)),
                       "workdir": str(work / "job")})
        pool = _take_pool(local.zygote)
        try:
            outcome = next(iter(pool.run([local], time_limit)))
        finally:
            _give_back(pool)
        outcome.protections = f"{outcome.protections or 'sandboxed'} on {where}"
        autograded = pack(Path(outcome.autograded_dir)) if outcome.autograded_dir else b""
        feedback = pack(Path(outcome.feedback_dir)) if outcome.feedback_dir else b""
        outcome.autograded_dir = outcome.feedback_dir = ""
        return {"outcome": asdict(outcome), "autograded": autograded, "feedback": feedback}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------- on the coordinator

class ClusterPool:
    """The local Pool's interface, grading on the workers of the Dask cluster at `scheduler`."""

    def __init__(self, scheduler: str, template: Path, allow_unsandboxed: bool = False, zygote: bool = True):
        from distributed import Client

        self.client = Client(scheduler, timeout=CONNECT_SECONDS)
        self.template = template
        self.allow_unsandboxed = allow_unsandboxed
        # every worker starts its grading processes now, while the batch is being prepared
        self.client.run(warm_up, zygote, on_error="ignore")

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        return f"{len(workers)} worker(s), {threads} thread(s)"

    def run(self, jobs: list[Job], time_limit: float) -> Iterator[Outcome]:
        from distributed import as_completed

        data = pack(self.template)
        key = hashlib.sha256(data).hexdigest()[:16]
        template = self.client.scatter(data, broadcast=True, hash=True)
        futures = {}
        for job in jobs:
            notebooks = {name: Path(path).read_bytes() for name, path in job.notebooks.items()}
            future = self.client.submit(grade_on_worker, asdict(job), notebooks, key, template, time_limit,
                                        self.allow_unsandboxed, pure=False)
            futures[future] = job
        for future in as_completed(futures):
            job = futures.pop(future)
            try:
                yield self._received(job, future.result())
            except Exception as error:  # noqa: BLE001 - one submission's trouble is not the batch's
                yield Outcome(job.student_id, job.assignment_id, AUTOGRADE_FAILED,
                              f"on the cluster: {type(error).__name__}: {error}"[:300])

    @staticmethod
    def _received(job: Job, result: dict) -> Outcome:
        outcome = Outcome.from_dict(result["outcome"])
        where = Path(job.workdir)
        for kind in ("autograded", "feedback"):
            if result[kind]:
                folder = where / kind / job.student_id / job.assignment_id
                unpack(result[kind], folder)
                setattr(outcome, f"{kind}_dir", str(folder))
        return outcome

    def close(self) -> None:
        self.client.close()
