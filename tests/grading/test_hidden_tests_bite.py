"""Real nbgrader (generate_assignment, autograde) proves that the hidden tests bite.

(a) the release copy unchanged scores 0 autograded points; (b) the reference scores every
autograded point; (c) each plausible wrong answer loses exactly its exercise's points; (d) each
honest answer in another accepted form (another momentum convention, gradients cleared at the start
of the step) scores every point.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.course.coursedir import stage_source
from autograder.paths import assignments, notebooks
from autograder.verdict.exercises import all_exercises
from support import synthetic

NBGRADER = [sys.executable, "-m", "nbgrader"]


def student_id(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def honest_id(honest: synthetic.HonestAnswer) -> str:
    return student_id(f"honest-{honest.cell_id}-{honest.label}")


def prepare(root: Path, aid: str) -> dict[str, dict]:
    """A course dir for one assignment with its release generated and its submissions in place."""
    stage_source(root)
    subprocess.run(NBGRADER + ["generate_assignment", aid, "--force", "--create"], cwd=root,
                   check=True, capture_output=True)
    (nb_name,) = notebooks(aid)
    cases = {"release": {}, "reference": {}}
    synthetic.write(synthetic.release_notebook(aid, nb_name), root / "submitted" / "release" / aid / f"{nb_name}.ipynb")
    synthetic.write(synthetic.solved(aid, nb_name), root / "submitted" / "reference" / aid / f"{nb_name}.ipynb")
    for wrong in synthetic.WRONG_ANSWERS:
        if wrong.assignment_id != aid:
            continue
        sid = student_id(f"{wrong.cell_id}-{wrong.label}")
        cases[sid] = {"wrong": wrong}
        nb = synthetic.solved(aid, nb_name, **{wrong.cell_id: wrong.source})
        synthetic.write(nb, root / "submitted" / sid / aid / f"{nb_name}.ipynb")
    for honest in synthetic.HONEST_ANSWERS:
        if honest.assignment_id == aid:
            nb = synthetic.solved(aid, nb_name, **{honest.cell_id: honest.source})
            synthetic.write(nb, root / "submitted" / honest_id(honest) / aid / f"{nb_name}.ipynb")
    if aid == "ch2_implement":
        honest_extras(root, aid, nb_name)
    return cases


WARNING_ANSWER = """
import sys, warnings

def single_step_gradient_descent(theta, learning_rate):
    warnings.warn("a harmless warning from a correct answer")
    print("debug output on stderr", file=sys.stderr)
    return theta - learning_rate * 2 * theta
"""


def honest_extras(root: Path, aid: str, nb_name: str) -> None:
    """Correct answers in shapes nbgrader alone would punish or miss."""
    synthetic.write(synthetic.solved(aid, nb_name, single_step_gradient_descent=WARNING_ANSWER),
                    root / "submitted" / "warns-on-stderr" / aid / f"{nb_name}.ipynb")
    nb = synthetic.solved(aid, nb_name)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_gradient_descent"]
    synthetic.write(nb, root / "submitted" / "deleted-test-cell" / aid / f"{nb_name}.ipynb")
    nb = synthetic.solved(aid, nb_name, gradient_descent="def gradient_descent(a, b, c):\n    return 0.0")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_gradient_descent":
            cell.metadata.nbgrader["points"] = 100
            cell.source = "pass  # tests removed"
    synthetic.write(nb, root / "submitted" / "tampered-test-cell" / aid / f"{nb_name}.ipynb")


def cause(log: str) -> str:
    """nbgrader's log from its first traceback on (where it says why), else the log's end."""
    at = log.find("Traceback")
    return log[at:at + 4000] if at >= 0 else log[-3000:]


def autograde(root: Path, aid: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Run `nbgrader autograde` for every student; return {student: {test grade_id: (score, max)}}."""
    (nb_name,) = notebooks(aid)
    for student in sorted(p.name for p in (root / "submitted").iterdir()):
        subprocess.run(NBGRADER + ["db", "student", "add", student], cwd=root, check=True, capture_output=True)
    result = subprocess.run(NBGRADER + ["autograde", aid, "--force"], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        # nbgrader was seen to stop on one student of a class under load (its cause cut from the log):
        # the cause is reported, and the class graded again (--force) before anything is judged.
        warnings.warn(f"nbgrader autograde {aid} failed once, graded again: {cause(result.stderr)}", stacklevel=2)
        result = subprocess.run(NBGRADER + ["autograde", aid, "--force"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, cause(result.stderr)
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in sorted(p.name for p in (root / "submitted").iterdir()):
            submission = gb.find_submission_notebook(nb_name, aid, student)
            scores[student] = {g.name: (g.auto_score or 0.0, g.max_score) for g in submission.grades
                               if g.cell.cell_type == "code"}
    return scores


def selected_chapters(session: pytest.Session) -> list[str]:
    """The chapters the selected tests of this module read: every chapter in a full run, one with -k."""
    wanted = set()
    for item in session.items:
        if Path(str(item.path)) != Path(__file__) or "graded" not in getattr(item, "fixturenames", ()):
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        answer = params.get("wrong") or params.get("honest")
        wanted.add(params.get("aid") or (answer.assignment_id if answer else "ch2_implement"))
    return [aid for aid in assignments() if aid in wanted]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, tuple[dict, dict]]:
    os.environ["GD_GRADING_SEED"] = "20261122"  # reproducible hidden-test inputs for this run

    def one(aid: str) -> tuple[str, tuple[dict, dict]]:
        root = tmp_path_factory.mktemp(aid)
        cases = prepare(root, aid)
        return aid, (cases, autograde(root, aid))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, selected_chapters(request.session)))


@pytest.mark.parametrize("aid", assignments())
def test_release_copy_scores_zero(graded: dict, aid: str) -> None:
    _, scores = graded[aid]
    assert scores["release"], "no autograded test cells found"
    assert all(score == 0 for score, _ in scores["release"].values()), scores["release"]


@pytest.mark.parametrize("aid", assignments())
def test_reference_scores_every_autograded_point(graded: dict, aid: str) -> None:
    _, scores = graded[aid]
    assert all(score == max_score > 0 for score, max_score in scores["reference"].values()), scores["reference"]


@pytest.mark.parametrize("wrong", synthetic.WRONG_ANSWERS, ids=lambda w: f"{w.assignment_id}:{w.cell_id}:{w.label}")
def test_wrong_answer_loses_exactly_its_exercise(graded: dict, wrong: synthetic.WrongAnswer) -> None:
    cases, scores = graded[wrong.assignment_id]
    got = scores[student_id(f"{wrong.cell_id}-{wrong.label}")]
    for test_id, (score, max_score) in got.items():
        if test_id in wrong.loses:
            assert score == 0, f"{wrong.label}: {test_id} kept {score}/{max_score}"
        else:
            assert score == max_score, f"{wrong.label}: {test_id} lost points ({score}/{max_score})"


@pytest.mark.parametrize("honest", synthetic.HONEST_ANSWERS,
                         ids=lambda h: f"{h.assignment_id}:{h.cell_id}:{h.label}")
def test_honest_answer_keeps_every_point(graded: dict, honest: synthetic.HonestAnswer) -> None:
    _, scores = graded[honest.assignment_id]
    got = scores[honest_id(honest)]
    assert got and all(score == max_score > 0 for score, max_score in got.values()), (honest.label, got)


def test_warning_on_stderr_keeps_its_points(graded: dict) -> None:
    _, scores = graded["ch2_implement"]
    assert scores["warns-on-stderr"]["test_single_step_gradient_descent"] == (2.0, 2.0)


def test_deleted_test_cell_is_restored_and_graded(graded: dict) -> None:
    _, scores = graded["ch2_implement"]
    assert scores["deleted-test-cell"]["test_gradient_descent"] == (3.0, 3.0)


def test_tampered_test_cell_is_overwritten_from_the_source(graded: dict) -> None:
    _, scores = graded["ch2_implement"]
    assert scores["tampered-test-cell"]["test_gradient_descent"] == (0.0, 3.0)
    assert scores["tampered-test-cell"]["test_single_step_gradient_descent"] == (2.0, 2.0)


def test_every_exercise_has_wrong_answers() -> None:
    covered = {(w.assignment_id, t) for w in synthetic.WRONG_ANSWERS for t in w.loses}
    for aid in assignments():
        (nb_name,) = notebooks(aid)
        tests = {gid for gid in synthetic.reference_answers(aid, nb_name)}  # solution cells
        assert tests, aid
    # every autograded test cell has at least one
    assert covered == {(aid, test_id) for aid, _, test_id in all_exercises()}
