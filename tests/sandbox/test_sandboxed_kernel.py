"""nbgrader with the kernel in the sandbox: the student's notebook sees a scratch copy of its folder only.

Graded with the real nbgrader autograde (`grading_worker.grade_with_nbgrader(sandboxed=True)`);
what the kernel could see and do is read back from the autograded notebook's outputs.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograder.grading import worker as grading_worker
from autograder.grading.outdir import Course
from autograder.sandbox.run import mode
from support import synthetic
from support.corpus import Listener
from support.grade_fixtures import CH1, NB1

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

LOOK_AROUND = """
import json, os, socket
seen = {"cwd": os.getcwd(), "here": sorted(os.listdir(".")), "root": sorted(os.listdir("/"))}
seen["reads"] = {}
for path in PATHS:
    try:
        open(path, "rb").read(16)
        seen["reads"][path] = "read"
    except OSError as error:
        seen["reads"][path] = type(error).__name__
try:
    open(WRITE_TO, "w").write("pwned")
    seen["wrote"] = True
except OSError:
    seen["wrote"] = False
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    seen["connected"] = True
except OSError:
    seen["connected"] = False
print("SEEN " + json.dumps(seen))
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    course = Course(tmp_path_factory.mktemp("course") / "out", None)
    course.prepare()
    return course


def grade(course: Course, tmp_path: Path, nb, cell_timeout: int = 10) -> grading_worker.Outcome:
    path = synthetic.write(nb, tmp_path / "submitted" / f"{NB1}.ipynb")
    job = grading_worker.Job("student", CH1, {NB1: str(path)}, str(course.template), str(tmp_path / "work"),
                             cell_timeout=cell_timeout)
    return grading_worker.grade_with_nbgrader(job, sandboxed=True)


def outputs(outcome: grading_worker.Outcome) -> str:
    nb = nbformat.read(Path(outcome.autograded_dir) / f"{NB1}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_the_kernel_sees_its_scratch_folder_and_nothing_else(course: Course, tmp_path: Path) -> None:
    listener = Listener()
    gradebook = course.template / "gradebook.db"
    work_gradebook = tmp_path / "work" / "gradebook.db"
    target = tmp_path / "work" / "pwned.txt"
    probe = (f"PATHS = {[str(gradebook), str(work_gradebook), str(course.out / 'source'), '/etc/shadow']!r}\n"
             f"WRITE_TO = {str(target)!r}\nPORT = {listener.port}\n" + LOOK_AROUND)
    answers = synthetic.reference_answers(CH1, NB1)
    try:
        answer = answers["gradient_steps"] + "\n" + probe
        outcome = grade(course, tmp_path, synthetic.solved(CH1, NB1, gradient_steps=answer))
    finally:
        listener.close()
    assert outcome.status == "ok", outcome.reason
    seen = json.loads(outputs(outcome).split("SEEN ", 1)[1].splitlines()[0])
    assert seen["cwd"] == "/sandbox"
    assert not [name for name in seen["here"] if name.endswith(".ipynb") or name == "gradebook.db"], seen["here"]
    assert {"checks.py", "figures.py", "course_kit.py"} <= set(seen["here"])
    assert all(result != "read" for result in seen["reads"].values()), seen["reads"]
    assert not seen["wrote"] and not target.exists()
    assert not seen["connected"] and listener.accepted == 0
    # and the grades are nbgrader's as usual
    earned = {g["grade_id"]: g["auto_score"] for nb in outcome.notebooks for g in nb.grades if g["cell_type"] == "code"}
    assert earned and all(score == g["max_score"] for nb in outcome.notebooks for g in nb.grades
                          if g["cell_type"] == "code" for score in [earned[g["grade_id"]]])


def test_a_cell_that_never_ends_is_interrupted_and_the_rest_graded(course: Course, tmp_path: Path) -> None:
    answers = synthetic.reference_answers(CH1, NB1)
    endless = synthetic.solved(CH1, NB1, gradient_steps=answers["gradient_steps"] + "\nwhile True:\n    pass")
    outcome = grade(course, tmp_path, endless, cell_timeout=3)
    assert outcome.status == "timed_out", outcome.reason
    assert outcome.notebooks[0].timed_out_cells == ["gradient_steps"]
    scores = {g["grade_id"]: g["auto_score"] for g in outcome.notebooks[0].grades}
    # the answer was computed before the loop: once interrupted, the kernel goes on to its test
    assert scores["test_gradient_steps"] == 2.0 and scores["test_loss"] == 1.0
