"""What `grade` makes of its options, without grading a class: the cell timeout's default resolved
once, so naming it is no change of settings; and whether a cluster worker without a sandbox grades."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import cli, limits
from autograder.grading import batch, cluster
from autograder.grading.batch import GradeOptions
from autograder.grading.outdir import finished
from autograder.grading.worker import Job, Outcome
from autograder.sandbox import run as sandbox
from autograder.status import AUTOGRADE_FAILED, OK, TIMED_OUT


def options(monkeypatch: pytest.MonkeyPatch, *argv: str) -> GradeOptions:
    """The GradeOptions `grade` would run with, from its command line."""
    seen: list[GradeOptions] = []
    monkeypatch.setattr(batch, "grade", lambda given: seen.append(given) or 0)
    assert cli.main(["grade", "subs", "--out", "out", *argv]) == 0
    (given,) = seen
    return given


def timed_out_row(given: GradeOptions) -> dict:
    """The state a batch records for a row stopped at a time limit (outdir.record's keys)."""
    return {"key": "k", "status": TIMED_OUT, "cell_timeout": given.cell_timeout, "time_limit": given.time_limit}


def test_naming_the_default_cell_timeout_is_not_a_change_of_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    unnamed = options(monkeypatch)
    named = options(monkeypatch, "--cell-timeout", str(limits.CELL_TIMEOUT))
    assert unnamed.cell_timeout == named.cell_timeout == limits.CELL_TIMEOUT, "resolved once, at the command line"
    assert finished(timed_out_row(unnamed), "k", named.cell_timeout, named.time_limit), "graded again for nothing"
    assert finished(timed_out_row(named), "k", unnamed.cell_timeout, unnamed.time_limit)
    # a row recorded when "not given" was kept as such was graded with the default too
    assert finished({**timed_out_row(unnamed), "cell_timeout": None}, "k", named.cell_timeout, named.time_limit)
    # a timeout that is really another one is a change: the stopped row is graded again
    longer = options(monkeypatch, "--cell-timeout", str(limits.CELL_TIMEOUT + 1))
    assert not finished(timed_out_row(unnamed), "k", longer.cell_timeout, longer.time_limit)
    assert finished({**timed_out_row(unnamed), "status": OK}, "k", longer.cell_timeout, longer.time_limit), \
        "a row that was not stopped does not depend on the limits"


def test_a_job_has_the_resolved_cell_timeout() -> None:
    job = Job("s", "ch1_the_idea", {}, "template", "work")
    assert job.cell_timeout == limits.CELL_TIMEOUT
    assert GradeOptions(Path("subs"), Path("out")).cell_timeout == limits.CELL_TIMEOUT


# ----------------------------------------------------------------------------- --allow-unsandboxed-workers

def test_the_flag_reaches_the_cluster_pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert options(monkeypatch, "--scheduler", "tcp://127.0.0.1:1").allow_unsandboxed_workers is False
    given = options(monkeypatch, "--scheduler", "tcp://127.0.0.1:1", "--allow-unsandboxed-workers")
    assert given.allow_unsandboxed_workers is True
    made: list[tuple] = []

    class Recorder:
        def __init__(self, *args) -> None:
            made.append(args)

    monkeypatch.setattr(cluster, "ClusterPool", Recorder)
    course = SimpleNamespace(template=tmp_path / "template", grading=tmp_path)
    batch._pool(given, course, 1)
    batch._pool(options(monkeypatch, "--scheduler", "tcp://127.0.0.1:1"), course, 1)
    assert [args[2] for args in made] == [True, False], made


class FakePool:
    """A worker's warm grading process: says what it was given, grades nothing."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def run(self, jobs: list[Job], time_limit: float):
        self.jobs += jobs
        yield Outcome(jobs[0].student_id, jobs[0].assignment_id, OK, protections="in-process")


@pytest.fixture
def unsandboxed_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakePool:
    """A cluster worker on a machine without bubblewrap; its grading processes are a FakePool."""
    pool = FakePool()
    monkeypatch.setattr(sandbox, "mode", lambda: "none")
    root = tmp_path / "worker"
    root.mkdir()
    monkeypatch.setattr(cluster, "_root", lambda: root)
    monkeypatch.setattr(cluster, "_take_pool", lambda zygote: pool)
    monkeypatch.setattr(cluster, "_give_back", lambda given: None)
    return pool


def grade_on(tmp_path: Path, allow: bool) -> Outcome:
    template = tmp_path / "template"
    template.mkdir(exist_ok=True)
    (template / "gradebook.db").write_bytes(b"")
    job = asdict(Job("s1", "ch1_the_idea", {"the_idea": "s1/the_idea.ipynb"}, "", ""))
    result = cluster.grade_on_worker(job, {"the_idea": b"{}"}, "key", cluster.pack(template), 600.0, allow)
    return Outcome.from_dict(result["outcome"])


def test_without_the_flag_a_worker_without_a_sandbox_refuses(unsandboxed_worker: FakePool, tmp_path: Path) -> None:
    outcome = grade_on(tmp_path, allow=False)
    assert not unsandboxed_worker.jobs, "nothing was graded"
    assert outcome.status == AUTOGRADE_FAILED
    assert "has no sandbox (bubblewrap): it refuses to grade" in outcome.reason, outcome.reason
    assert "--allow-unsandboxed-workers" in outcome.reason, "the message names the way out"
    assert outcome.protections.startswith("none on "), outcome.protections


def test_with_the_flag_a_worker_without_a_sandbox_grades_and_says_so(unsandboxed_worker: FakePool,
                                                                    tmp_path: Path) -> None:
    outcome = grade_on(tmp_path, allow=True)
    (job,) = unsandboxed_worker.jobs
    assert (job.student_id, job.assignment_id) == ("s1", "ch1_the_idea")
    assert Path(job.notebooks["the_idea"]).name == "the_idea.ipynb"
    assert outcome.status == OK
    assert outcome.protections.startswith("in-process on "), "the row says the code ran unisolated"
