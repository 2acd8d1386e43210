"""Grading on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1.

One batch of the adversarial corpus (a case per kind of threat, and honest ones) goes through
`python -m autograder grade --scheduler`; one worker is killed while the batch runs. Every row is
still there, every case scores exactly what it scores locally (its expected points), and each row
says on which worker it was graded and with which protections.
"""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.paths import REPO_ROOT
from autograder.sandbox.run import mode
from support.corpus import CASES, stage
from support.corpus import student_id as sid

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

# One case per kind of threat, over every chapter, and honest submissions.
PART = ["forge_report", "hard_coded_gradient_steps", "lying_tensor_subclass", "os_exit_top_level",
        "read_secret_files", "write_outside", "honest_torch_variants", "honest_train_step_variant",
        "tamper_metadata_points", "replace_builtins_isclose"]
START_SECONDS = 180



def environment() -> dict[str, str]:
    return {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO_ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def dask(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen([str(Path(sys.executable).parent / "dask"), *args], stdout=handle, stderr=handle,
                                stdin=subprocess.DEVNULL, env=environment(), cwd=log.parent, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """Stop a process this test started, and its process group (the worker's grading processes)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("dask")
    file = work / "scheduler.json"
    scheduler = dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(file), log=work / "scheduler.log")
    workers: list[subprocess.Popen] = []
    try:
        deadline = time.monotonic() + START_SECONDS
        while not file.exists() and time.monotonic() < deadline and scheduler.poll() is None:
            time.sleep(0.2)
        assert file.exists(), (work / "scheduler.log").read_text()[-2000:]
        address = json.loads(file.read_text())["address"]
        for number in range(2):
            folder = work / f"worker-{number}"
            folder.mkdir()
            workers.append(dask("worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                "--no-dashboard", "--name", f"w{number}", "--local-directory", str(folder),
                                log=folder / "worker.log"))
        from distributed import Client

        with Client(address, timeout=START_SECONDS) as client:
            client.wait_for_workers(2, timeout=START_SECONDS)
            names = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
        yield {"address": address, "workers": workers, "names": names, "work": work}
    finally:
        for proc in workers + [scheduler]:
            stop(proc)


@pytest.fixture(scope="module")
def batch(cluster, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("cluster-batch")
    out = work / "out"
    staged = stage(work, PART, "SQLite format 3 -- fake gradebook\n")
    subs, listener, marker = staged.subs, staged.listener, staged.marker
    killed = cluster["workers"][0]
    try:
        grade = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
                                  "--scheduler", cluster["address"], "--seed", "20261122", "--cell-timeout", "5",
                                  "--time-limit", "240"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=environment(), cwd=REPO_ROOT)
        # Kill a worker once the batch is under way: the first row is in, the rest are being graded.
        deadline = time.monotonic() + 1500
        while grade.poll() is None and time.monotonic() < deadline:
            if killed.poll() is None and list((out / ".grading" / "state").rglob("*.json")):
                stop(killed)
            time.sleep(0.5)
        stdout, stderr = grade.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        listener.close()
    yield {"returncode": grade.returncode, "stdout": stdout, "stderr": stderr, "out": out,
           "killed_while_grading": killed.returncode is not None, "names": cluster["names"],
           "listener": listener, "marker": marker}


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_cluster_grades_every_case_exactly_as_locally(batch) -> None:
    assert batch["returncode"] == 0, batch["stderr"][-3000:]
    assert "Dask cluster" in batch["stderr"]
    assert batch["killed_while_grading"], "the worker was not killed during the batch"
    grades = {r["student_id"]: r for r in rows(batch["out"] / "grades.csv")}
    assert set(grades) == {sid(n) for n in PART} | {"honest-reference"}
    tests = rows(batch["out"] / "tests.csv")
    for name in PART:
        got = {r["grade_id"]: float(r["points"]) for r in tests
               if r["student_id"] == sid(name) and r["kind"] == "autograded"}
        row = grades[sid(name)]
        assert got == CASES[name].expected, f"{name}: {row['status']}: {row['reason']}"
    reference = grades["honest-reference"]
    assert float(reference["score"]) == float(reference["max_score"]), reference
    # each row names the worker that graded it and the protections in force there
    survivor = batch["names"]["w1"]
    assert all(r["protections"].startswith("sandboxed") for r in grades.values()), grades
    assert all(" on tcp://127.0.0.1:" in r["protections"] for r in grades.values()), grades
    assert any(r["protections"].endswith(survivor) for r in grades.values())
    assert batch["listener"].accepted == 0
    assert not batch["marker"].exists()
    for student, row in grades.items():   # feedback comes back from the workers as bytes
        if row["status"] == "ok":
            assert (batch["out"] / "feedback" / student).is_dir(), row


def test_the_readme_slurm_example_makes_a_worker_job() -> None:
    """docs/cluster.md's dask-jobqueue example, as written (but for submitting the jobs), makes the job
    script of a grading worker: the package's environment, a thread per core, no nanny."""
    readme = (REPO_ROOT / "docs" / "cluster.md").read_text()
    block = re.search(r"```python\n(\s*from dask_jobqueue import SLURMCluster.*?)```", readme, re.S).group(1)
    code = "\n".join(line.strip() for line in block.splitlines()
                     if not line.strip().startswith(("cluster.scale", "print(")))
    assert "SLURMCluster(" in code
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the documented example
    cluster = namespace["cluster"]
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "source ~/gd-course/.venv/bin/activate" in script
    assert "--nthreads 32" in script and "--no-nanny" in script
    assert "#SBATCH -t 01:00:00" in script


def test_workers_keep_warm_grading_processes_between_tasks(cluster, batch) -> None:
    """Each Dask worker started a grading process per thread when the batch began, and keeps it
    (nbgrader, the verdict server and the kernel zygote warm) for the next task and batch."""
    from distributed import Client

    from autograder.grading import cluster as on_worker

    def warm_count() -> int:
        return len(on_worker._IDLE)

    with Client(cluster["address"], timeout=START_SECONDS) as client:
        counts = client.run(warm_count)
    alive = [address for name, address in cluster["names"].items() if address in counts]
    assert alive and all(counts[address] == 1 for address in alive), counts
