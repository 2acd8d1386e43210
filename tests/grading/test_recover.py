"""A notebook whose nbgrader metadata was lost or changed (Colab, VS Code, a cell turned into markdown)
is matched back to the release and graded; one that cannot be matched gets a reason a student reads.

Unit tests on the real release notebooks of two chapters; through nbgrader and the verdict, the corpus's
Colab and editor saves (tests/adversarial/honest_colab_save, honest_vscode_save) in the graded batch.
"""
from __future__ import annotations

import copy
import json
import uuid

import nbformat
import pytest

from autograder.grading.recover import recover, recover_file, recover_notebooks
from autograder.paths import COURSE_DIR
from support import synthetic
from support.grade_fixtures import CH1, CH2, NB1, NB2

CH5, NB5 = "ch5_convergence", "convergence"
CHAPTERS = [(CH2, NB2), (CH5, NB5)]


def _release(aid: str, name: str) -> nbformat.NotebookNode:
    return synthetic.release_notebook(aid, name)


def _graded_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def _solution_ids(aid: str, name: str) -> list[str]:
    return [gid for gid, c in _graded_cells(_release(aid, name)).items() if c.metadata["nbgrader"]["solution"]]


def _answered(aid: str, name: str) -> nbformat.NotebookNode:
    """A solved notebook whose written answers are answered too."""
    nb = synthetic.solved(aid, name)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "A smaller step converges slowly; a step that is too large diverges."
    return nb


def _colab_save(nb: nbformat.NotebookNode, ids: str = "new") -> nbformat.NotebookNode:
    """As Google Colab saves it: no nbgrader metadata, Colab's own instead; cell ids "new", "kept" or
    "none" (an nbformat 4.0 file)."""
    nb = copy.deepcopy(nb)
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True}
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode({"id": uuid.uuid4().hex[:12]})
        if ids == "new":
            cell.id = uuid.uuid4().hex[:8]
        elif ids == "none":
            del cell["id"]
    if ids == "none":
        nb.nbformat_minor = 0
    return nb


def _answers(nb: nbformat.NotebookNode, aid: str, name: str) -> dict[str, str]:
    cells = _graded_cells(nb)
    return {gid: cells[gid].source for gid in _solution_ids(aid, name)}


def _assert_recovered(nb: nbformat.NotebookNode, aid: str, name: str, answers: dict[str, str]) -> None:
    """Every graded cell of the release is there with the release's nbgrader metadata and type, and the
    student's answers are kept word for word."""
    release, got = _graded_cells(_release(aid, name)), _graded_cells(nb)
    assert set(got) == set(release)
    for gid, released in release.items():
        assert got[gid].metadata["nbgrader"] == released.metadata["nbgrader"], gid
        assert got[gid].cell_type == released.cell_type, gid
    assert _answers(nb, aid, name) == answers


# ----------------------------------------------------------------------------- matching

@pytest.mark.parametrize("ids", ["new", "kept", "none"])
@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
def test_a_colab_save_gets_the_release_metadata_back_and_keeps_the_answers(aid, name, ids):
    solved = _answered(aid, name)
    answers = _answers(solved, aid, name)
    nb = _colab_save(solved, ids)
    recovery = recover(nb, _release(aid, name), name)
    assert not recovery.problem
    _assert_recovered(nb, aid, name, answers)
    assert len(recovery.restored) == len(_graded_cells(_release(aid, name)))
    assert recovery.note(name) == (f"recovered nbgrader metadata of {len(recovery.restored)} cells "
                                   f"({name}.ipynb was saved without it, e.g. by Colab)")
    assert all(c.metadata["id"] for c in nb.cells), "Colab's own metadata is left as it is"


@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
def test_a_vs_code_save_that_dropped_or_reordered_metadata(aid, name):
    solved = _answered(aid, name)
    answers = _answers(solved, aid, name)
    nb = copy.deepcopy(solved)
    graded = [c for c in nb.cells if "nbgrader" in c.metadata]
    for cell in graded[::2]:
        del cell.metadata["nbgrader"]                      # dropped, the cell id kept
    for cell in graded[1::2]:                              # reordered keys: the same metadata
        cell.metadata["nbgrader"] = nbformat.NotebookNode(dict(reversed(cell.metadata["nbgrader"].items())))
    recovery = recover(nb, _release(aid, name), name)
    assert not recovery.problem
    _assert_recovered(nb, aid, name, answers)
    assert len(recovery.restored) == len(graded[::2])
    assert "lost or changed" in recovery.note(name)


@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
@pytest.mark.parametrize("stripped", [False, True])
def test_a_solution_cell_turned_into_markdown_is_code_again(aid, name, stripped):
    solved = _answered(aid, name)
    answers = _answers(solved, aid, name)
    flipped = [gid for gid in _solution_ids(aid, name) if _graded_cells(solved)[gid].cell_type == "code"][-1]
    cell = _graded_cells(solved)[flipped]
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    nb = _colab_save(solved) if stripped else solved
    recovery = recover(nb, _release(aid, name), name)
    assert not recovery.problem
    _assert_recovered(nb, aid, name, answers)
    assert recovery.retyped == [flipped]
    cell = _graded_cells(nb)[flipped]
    assert (cell.outputs, cell.execution_count) == ([], None)
    nbformat.validate(nb)


@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
def test_moved_cells_are_matched(aid, name):
    """A course cell moved to the end, and an answer moved below its test cell (Colab ids, so only the
    answer's text tells it)."""
    solved = _answered(aid, name)
    answers = _answers(solved, aid, name)
    cells = solved.cells
    course_cell = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "nbgrader" not in c.metadata)
    cells.append(cells.pop(course_cell))
    answer = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution"))
    cells.insert(answer + 1, cells.pop(answer))            # now below its test cell
    nb = _colab_save(solved)
    recovery = recover(nb, _release(aid, name), name)
    assert not recovery.problem
    _assert_recovered(nb, aid, name, answers)


def test_a_cell_the_student_added_is_not_taken_for_the_answer():
    solved = _answered(CH2, NB2)
    answers = _answers(solved, CH2, NB2)
    at = next(i for i, c in enumerate(solved.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    solved.cells.insert(at, nbformat.v4.new_code_cell("print('trying things out')"))
    nb = _colab_save(solved)
    assert not recover(nb, _release(CH2, NB2), NB2).problem
    _assert_recovered(nb, CH2, NB2, answers)
    assert any(c.source == "print('trying things out')" and "nbgrader" not in c.metadata for c in nb.cells)


@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
def test_an_exercise_cell_that_cannot_be_found_is_said_so(aid, name):
    solved = _answered(aid, name)
    first = _solution_ids(aid, name)[0]
    solved.cells = [c for c in solved.cells if c.metadata.get("nbgrader", {}).get("grade_id") != first]
    recovery = recover(_colab_save(solved), _release(aid, name), name)
    assert recovery.problem.startswith(f"the exercise cell '{first}' could not be found: {name}.ipynb lacks")
    assert "re-download the notebook from the course and copy your answer in" in recovery.problem
    assert not recovery.changed


def test_another_chapters_notebook_cannot_be_matched():
    recovery = recover(_answered(CH1, NB1), _release(CH2, NB2), NB2)
    assert "could not be found" in recovery.problem


def test_a_test_cell_nbgrader_cannot_put_back_is_put_back_as_released():
    """nbgrader puts a missing test cell after the cell released before it; that one missing too, its
    autograde failed with `KeyError: 'single_step_gradient_descent'`."""
    nb = _answered(CH2, NB2)
    gone = {"single_step_gradient_descent", "test_single_step_gradient_descent"}
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in gone]
    recovery = recover(nb, _release(CH2, NB2), NB2)
    assert not recovery.problem and recovery.put_back == ["test_single_step_gradient_descent"]
    put_back = _graded_cells(nb)["test_single_step_gradient_descent"]
    assert put_back == _graded_cells(_release(CH2, NB2))["test_single_step_gradient_descent"]
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert order.index("test_single_step_gradient_descent") < order.index("gradient_descent")


@pytest.mark.parametrize(("aid", "name"), CHAPTERS)
def test_an_intact_notebook_is_not_touched(aid, name, tmp_path):
    handed_in = synthetic.write(synthetic.solved(aid, name), tmp_path / "in" / f"{name}.ipynb")
    before = handed_in.read_bytes()
    recovery = recover_file(handed_in, COURSE_DIR / aid / f"{name}.ipynb", tmp_path / "recovered" / f"{name}.ipynb")
    assert not recovery.changed and not recovery.problem
    assert not (tmp_path / "recovered").exists() and handed_in.read_bytes() == before
    recovered = recover_notebooks(tmp_path, aid, {name: str(handed_in)}, tmp_path / "recovered")
    assert (recovered.notebooks, recovered.note, recovered.problem) == ({name: str(handed_in)}, "", "")


def test_a_recovered_copy_is_written_apart_and_the_original_kept(tmp_path):
    handed_in = synthetic.write(_colab_save(_answered(CH2, NB2), "none"), tmp_path / "in" / f"{NB2}.ipynb")
    before = handed_in.read_bytes()
    recovered = recover_notebooks(tmp_path, CH2, {NB2: str(handed_in)}, tmp_path / "recovered")
    assert recovered.notebooks == {NB2: str(tmp_path / "recovered" / f"{NB2}.ipynb")}
    assert recovered.note.startswith("recovered nbgrader metadata of 5 cells")
    assert handed_in.read_bytes() == before
    copy_ = json.loads((tmp_path / "recovered" / f"{NB2}.ipynb").read_text())
    assert copy_["metadata"]["colab"] and copy_["nbformat_minor"] == 0


def test_a_notebook_that_cannot_be_matched_is_a_row_that_says_why(tmp_path):
    """The grading worker stops before nbgrader: no internal KeyError, a reason a student reads."""
    from autograder.grading.worker import Job, grade_submission

    lost = synthetic.solved(CH2, NB2)
    lost.cells = [c for c in lost.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "gradient_descent"]
    path = synthetic.write(_colab_save(lost), tmp_path / "yan" / f"{NB2}.ipynb")
    outcome = grade_submission(Job("yan", CH2, {NB2: str(path)}, str(tmp_path / "template"), str(tmp_path / "work")))
    assert outcome.status == "unreadable_notebook", outcome
    assert outcome.reason.startswith("the exercise cell 'gradient_descent' could not be found"), outcome.reason
    assert "re-download the notebook from the course" in outcome.reason and "KeyError" not in outcome.reason
