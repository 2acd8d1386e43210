"""The verdict reads a notebook as IPython runs it: magics, split and copied cells, cell types, time.

Pure text and arithmetic (nothing is run here); the corpus's honest cases run these in the sandbox.
"""
from __future__ import annotations

from types import SimpleNamespace

from autograder.verdict.program import cells_seconds
from autograder.verdict.reconcile import reconcile
from autograder.verdict.source import source_program
from autograder.verdict.submission import notebook_cells, python_source, solution_code


def _cell(gid: str | None, source: str, cell_type: str = "code") -> dict:
    meta = {"nbgrader": {"grade_id": gid, "solution": True}} if gid else {}
    return {"cell_type": cell_type, "source": source, "metadata": meta}


def test_python_bodied_cell_magics_run_their_body() -> None:
    assert python_source("%%time\ndef f():\n    return 1\n") == "def f():\n    return 1\n"
    assert python_source("\n%%capture\n%matplotlib inline\nx = 1\n") == \
        "get_ipython().run_line_magic('matplotlib', 'inline')\nx = 1\n"
    scoped = python_source("%%timeit -n 2\ny = 2\n")
    namespace: dict = {}
    exec(scoped, namespace)   # the body runs, and what it binds stays in the timer's scope
    assert "y" not in namespace
    assert python_source("%%html\n<b>hi</b>\n").startswith("get_ipython().run_cell_magic('html'")
    assert python_source("%time x = 1\n") == "get_ipython().run_line_magic('time', 'x = 1')\n"


def test_split_copied_and_flipped_exercise_cells_run_in_order() -> None:
    program = source_program("ch2_implement", "gradient_descent")
    step = "single_step_gradient_descent"
    cells = [_cell(step, "def single_step_gradient_descent(t, r):\n    return t\n"),   # an older attempt
             _cell(step, "def slope(t):\n    return 2 * t\n"),                           # a split cell's halves
             _cell(step, "def single_step_gradient_descent(t, r):\n    return t - r * slope(t)\n"),
             _cell("gradient_descent", "def gradient_descent(t, r, n):\n    return t\n", "markdown")]
    code, problems = solution_code(cells, program.solution_ids)
    assert not problems, problems
    assert code[step].count("def ") == 3 and code["gradient_descent"].startswith("def gradient_descent")
    ordered = notebook_cells(cells, program, code)
    assert [c["id"] for c in ordered] == [step, step, step, "gradient_descent"]
    assert ordered[-1]["source"].startswith("def gradient_descent")


def test_the_verdicts_cells_get_the_kernels_time() -> None:
    three = [{"id": f"cell {i}", "source": "pass"} for i in range(3)]
    # three exploration cells of about 22 s, each under nbgrader's 30 s: 90 s, within the submission's 600 s
    assert cells_seconds(three, 30, 600) == 90
    assert cells_seconds(three, 30, 50) == 50
    assert cells_seconds(three + [{"id": "course cell 1", "source": "x = 1", "trusted": True}], 30, 600) == 90


def test_only_a_wrong_answer_seen_is_flagged() -> None:
    wrong = SimpleNamespace(points=0.0, max_points=2.0, reason="returned 3.0: wrong value", checked=True)
    stopped = SimpleNamespace(points=0.0, max_points=3.0, reason="the code did not finish", checked=False)
    scores, flagged, unconfirmed, notes = reconcile({"a": 2.0, "b": 3.0}, {"a": wrong, "b": stopped},
                                                    {"a": 2.0, "b": 3.0})
    assert scores == {"a": 0.0, "b": 0.0}, "no points are granted by making the verdict fail"
    assert len(flagged) == 1 and flagged[0].startswith("a:")
    assert len(unconfirmed) == 1 and unconfirmed[0].startswith("b:")
    assert notes == []


def test_no_reference_code_enters_the_sandbox() -> None:
    """What a test hands the sandbox holds no line of the reference code (compiled, never as text)."""
    import json

    from autograder.paths import COURSE_DIR, SOURCE_DIR
    from autograder.verdict.exercises import all_exercises
    from autograder.verdict.program import _program

    reference = set()
    for path in SOURCE_DIR.glob("*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            inside = text.split("### BEGIN SOLUTION")[1:]
            reference |= {line.strip() for part in inside for line in part.split("### END SOLUTION")[0].splitlines()
                          if len(line.strip()) >= 20}
    released = "".join(path.read_text() for path in COURSE_DIR.glob("*/*.ipynb"))
    reference = {line for line in reference if json.dumps(line)[1:-1] not in released}  # not also course code
    depending = [e for e in all_exercises().values() if e.overrides.strip()]
    assert depending and reference
    for exercise in depending:
        program = source_program(exercise.assignment_id, exercise.notebook)
        job = json.dumps(_program(program, exercise, [], [], "nonce", 5.0, 10, 60.0))
        leaked = [line for line in reference if line in job]
        assert not leaked, (exercise.test_id, leaked[:3])


def test_an_answer_never_defined_or_stopped_is_not_observed() -> None:
    from autograder.verdict.program import _not_observed

    assert _not_observed({"calls": [{"error": "NameError"}]})        # the function never existed in the run
    assert _not_observed({"error": "CellTimeoutError", "value": {"t": "None"}})
    assert _not_observed({"calls": [{"error": "OSError (no space left)"}]})
    assert not _not_observed({"calls": [{"error": "ZeroDivisionError"}]})   # the answer raised: a wrong answer
    assert not _not_observed({"calls": [{"out": {"t": "float", "v": "1.0"}}]})


def test_numpy_floats_are_the_floats_a_prompt_promises() -> None:
    """`train_epoch` returning numpy.float64 losses (a float subclass; the prompt says "list of float")."""
    import random

    from autograder.verdict.exercises import exercises

    check = exercises("ch7_minibatch_sgd", "minibatch_sgd")["test_train_epoch"]
    from autograder.verdict.exercises.ch7_minibatch_sgd import ref_epoch

    case = check.make_cases(random.Random(7))[0]
    losses, w, b = ref_epoch(case)

    def observed(tag: str) -> dict:
        items = [{"t": tag, "v": repr(x)} for x in losses]
        tensor = lambda v: {"t": "torch.Tensor", "dim": 1, "numel": 1, "v": [repr(v)]}  # noqa: E731
        return {"calls": [{"out": {"t": "list", "len": len(items), "items": items},
                           "args": [tensor(w), tensor(b)]}]}

    assert check.judge(case, observed("float")) is None
    assert check.judge(case, observed("numpy.float64")) is None
    assert "not a float" in check.judge(case, observed("torch.Tensor"))
