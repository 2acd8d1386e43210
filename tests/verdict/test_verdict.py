"""The trusted verdict: exact scores for the adversarial corpus, the synthetic answers and the source.

The whole corpus is graded once (module fixture, a few verdicts at a time); each case is then a
test of its own. Hostile cases hold placeholders for a port this module listens on, a file it
checks is never written, a fake gradebook and another student's submission.
"""
from __future__ import annotations

import dataclasses
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.grading.recover import recover_notebooks
from autograder.limits import Limits
from autograder.paths import COURSE_DIR, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR, assignments, notebooks
from autograder.sandbox.run import mode
from autograder.verdict.exercises import all_exercises
from autograder.verdict.program import check_coverage, parse_report, source_program, trusted_verdict
from autograder.verdict.source import setup_code
from support import synthetic
from support.corpus import CASES, SECRET_ENV, Listener, corpus, tree_digest

EXERCISES = all_exercises()

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

SEED = 20261122
TEST_LIMITS = Limits(cpu_seconds=20, wall_seconds=40.0, memory_bytes=3 * 2**30, processes=64,
                     open_files=128, file_bytes=4 * 2**20, tmp_bytes=32 * 2**20, output_bytes=4 * 2**20)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    """Every corpus case graded once: (verdicts by case name, the world around them)."""
    work = tmp_path_factory.mktemp("adversarial")
    listener = Listener()
    marker = work / "outside" / "marker.txt"
    marker.parent.mkdir()
    gradebook = REPO_ROOT / "test-artifacts" / "adversarial-fake-gradebook.db"
    gradebook.parent.mkdir(exist_ok=True)
    gradebook.write_text("SQLite format 3 -- fake gradebook: alice 100, bob 100\n")
    other = synthetic.write(synthetic.solved("ch1_the_idea", "the_idea"), work / "other-student" / "the_idea.ipynb")
    placeholders = {"REPO": str(REPO_ROOT), "PORT": str(listener.port), "MARKER": str(marker),
                    "OTHER": str(other), "GRADEBOOK": str(gradebook)}
    before = tree_digest(COURSE_DIR, SOLUTIONS_DIR, SOURCE_DIR)
    old_secret = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = "the grader's secret"

    def grade(case):
        path = corpus.build(case, work / "submissions", placeholders)
        if case.recovered:  # as the grading worker does before nbgrader and the verdict read it
            recovered = recover_notebooks(work / "no-template", case.assignment, {case.notebook: str(path)},
                                          path.parent / "recovered")
            assert recovered.note and not recovered.problem, (case.name, recovered)
            path = Path(recovered.notebooks[case.notebook])
        limits = dataclasses.replace(TEST_LIMITS, **case.limits)
        return case.name, trusted_verdict(path, case.assignment, case.notebook, seed=SEED, limits=limits, jobs=2,
                                          cell_timeout=case.cell_timeout)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            verdicts = dict(pool.map(grade, CASES.values()))
    finally:
        if old_secret is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = old_secret
        listener.close()
    world = {"listener": listener, "marker": marker, "before": before,
             "after": tree_digest(COURSE_DIR, SOLUTIONS_DIR, SOURCE_DIR)}
    yield verdicts, world
    gradebook.unlink(missing_ok=True)


def test_corpus_covers_every_threat_class() -> None:
    threats = {c.threat for c in CASES.values()}
    assert set(corpus.THREATS) <= threats, set(corpus.THREATS) - threats
    for case in CASES.values():
        program = source_program(case.assignment, case.notebook)
        assert set(case.expected) == set(program.tests), case.name


@pytest.mark.parametrize("name", sorted(CASES))
def test_adversarial_case_scores_exactly(graded, name: str) -> None:
    verdicts, _ = graded
    case = CASES[name]
    got = {test_id: v.points for test_id, v in verdicts[name].items()}
    reasons = {test_id: v.reason for test_id, v in verdicts[name].items()}
    assert got == case.expected, f"{name} ({case.threat}): {case.description}\n{reasons}"
    program = source_program(case.assignment, case.notebook)
    for test_id, v in verdicts[name].items():
        assert v.max_points == program.tests[test_id].points, "max points come from the source only"
        assert v.seed == SEED
        assert (v.reason == "passed") == (v.points == v.max_points)


def test_breaking_the_run_is_recorded(graded) -> None:
    verdicts, _ = graded
    # a busy loop meets the CPU limit (the wall clock also allows the notebook's cells their time),
    # or the wall clock on a machine too busy to give it the CPU
    endless = verdicts["infinite_loop"]["test_gradient_descent"].reason
    assert "did not finish" in endless and ("CPU time limit" in endless or "wall-clock" in endless), endless
    assert "wall-clock" in verdicts["sleep_forever"]["test_grad"].reason
    assert "output" in verdicts["output_flood"]["test_loss"].reason
    assert "MemoryError" in verdicts["memory_hog"]["test_single_step_gradient_descent"].reason
    assert "ended the run early" in verdicts["os_exit_top_level"]["test_gradient_steps"].reason
    assert "SystemExit" in verdicts["sys_exit_in_function"]["test_grad"].reason
    # none of these showed a wrong answer: the verdict could not check one (`unconfirmed`, never `flagged`)
    for name, test in (("infinite_loop", "test_gradient_descent"), ("sleep_forever", "test_grad"),
                       ("os_exit_top_level", "test_gradient_steps")):
        assert not verdicts[name][test].checked, (name, verdicts[name][test])


def test_a_wrong_answer_seen_is_a_checked_verdict(graded) -> None:
    verdicts, _ = graded
    wrong = verdicts["replace_builtins_isclose"]["test_gradient_steps"]
    assert wrong.points == 0 and wrong.checked, wrong
    assert all(v.checked for v in verdicts["duplicate_grade_id_conflict"].values())
    assert verdicts["sys_exit_in_function"]["test_grad"].checked, "an answer that raises is a wrong answer"


def test_nothing_reached_the_network_or_the_world(graded) -> None:
    _, world = graded
    assert world["listener"].accepted == 0
    assert not world["marker"].exists()
    assert not (REPO_ROOT / "course" / "pwned.txt").exists()
    assert not (SOURCE_DIR / "pwned.txt").exists()


def test_repository_unchanged_by_the_batch(graded) -> None:
    _, world = graded
    assert world["before"] == world["after"]


# ----------------------------------------------------------------------------- synthetic answers

def _solved_and_wrong():
    for aid in assignments():
        for nb in notebooks(aid):
            yield f"solved-{aid}", aid, nb, {}, ()
    for i, w in enumerate(synthetic.WRONG_ANSWERS):
        nb = notebooks(w.assignment_id)[0]
        yield f"wrong-{i}-{w.assignment_id}-{w.label}", w.assignment_id, nb, {w.cell_id: w.source}, w.loses
    for i, h in enumerate(synthetic.HONEST_ANSWERS):  # another accepted form: loses nothing
        nb = notebooks(h.assignment_id)[0]
        yield f"honest-{i}-{h.assignment_id}-{h.label}", h.assignment_id, nb, {h.cell_id: h.source}, ()


SYNTHETIC = list(_solved_and_wrong())


@pytest.fixture(scope="module")
def graded_synthetic(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("synthetic")

    def grade(item):
        label, aid, nb, overrides, _ = item
        path = synthetic.write(synthetic.solved(aid, nb, **overrides), work / label.replace(" ", "_") / f"{nb}.ipynb")
        return label, trusted_verdict(path, aid, nb, seed=SEED, limits=TEST_LIMITS, jobs=2)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(grade, SYNTHETIC))


@pytest.mark.parametrize("item", SYNTHETIC, ids=[s[0] for s in SYNTHETIC])
def test_synthetic_answers(graded_synthetic, item) -> None:
    label, aid, nb, _, loses = item
    verdicts = graded_synthetic[label]
    lost = {t for t, v in verdicts.items() if v.points == 0}
    assert lost == set(loses), {t: v.reason for t, v in verdicts.items()}
    assert all(v.points in (0, v.max_points) for v in verdicts.values())


# ----------------------------------------------------------------------------- the pieces

def test_every_source_test_cell_has_a_trusted_check() -> None:
    problems = [p for aid in assignments() for nb in notebooks(aid) for p in check_coverage(aid, nb)]
    assert problems == []
    graded = {(aid, nb, t) for aid in assignments() for nb in notebooks(aid) for t in source_program(aid, nb).tests}
    assert graded == set(EXERCISES)


def test_every_chapters_setup_code_runs_on_its_own() -> None:
    """The setup runs before any student code: a name it uses but does not bind fails every test."""
    for aid in assignments():
        for nb in notebooks(aid):
            exec(compile(source_program(aid, nb).setup, f"<setup of {aid}>", "exec"), {})


def test_setup_code_drops_assignments_that_change_objects() -> None:
    cells = [{"source": "import math\nx = math.pi\nx.grad = None\nitems = []\nitems[0] = 1\na, b = 1, 2\n"}]
    setup = setup_code(cells, set(), set())
    assert "x.grad" not in setup and "items[0]" not in setup
    assert "x = math.pi" in setup and "a, b = (1, 2)" in setup


def test_setup_code_keeps_only_imports_and_plain_definitions() -> None:
    ch3 = source_program("ch3_pytorch_slope", "pytorch_slope").setup
    assert "import torch" in ch3 and "learning_rate = 0.2" in ch3 and "def f(x)" in ch3
    assert "checks" not in ch3 and "figures" not in ch3 and "plot_" not in ch3
    ch4 = source_program("ch4_fitting_a_line", "fitting_a_line").setup
    assert "fit(learning_rate=" not in ch4, "setup must never run the student's code"
    for aid in assignments():
        for nb in notebooks(aid):
            setup = source_program(aid, nb).setup
            for solution in synthetic.reference_answers(aid, nb).values():
                for line in solution.splitlines():
                    if line.strip().startswith("return "):
                        assert line.strip() not in setup


def test_cases_are_reproducible_from_the_seed() -> None:
    for exercise in EXERCISES.values():
        key = f"{SEED}:{exercise.assignment_id}:{exercise.notebook}:{exercise.test_id}"
        assert exercise.make_cases(random.Random(key)) == exercise.make_cases(random.Random(key))
        if exercise.make_cases(random.Random(key)) == [{}]:
            continue  # a prediction: one fixed number, no inputs to draw
        other = exercise.make_cases(random.Random(key + "x"))
        assert other != exercise.make_cases(random.Random(key))


def test_report_parsing_rejects_forgeries() -> None:
    nonce = "ab" * 16
    good = nonce + ' {"results": []}'
    assert parse_report(f"noise\n{good}\n", nonce) == {"results": []}
    assert parse_report(f"{good}\n{good}\n", nonce) is None, "two reports: one is forged"
    assert parse_report('cd' * 16 + ' {"results": []}\n', nonce) is None
    assert parse_report(nonce + " {not json\n", nonce) is None
    assert parse_report(nonce + ' ["results"]\n', nonce) is None


def test_unreadable_submission_scores_zero(tmp_path: Path) -> None:
    bad = tmp_path / "the_idea.ipynb"
    bad.write_text("{ this is not a notebook")
    verdicts = trusted_verdict(bad, "ch1_the_idea", "the_idea", seed=SEED, limits=TEST_LIMITS)
    assert {t: v.points for t, v in verdicts.items()} == {"test_loss": 0, "test_grad": 0, "test_gradient_steps": 0}
    assert all("unusable" in v.reason for v in verdicts.values())


def test_a_fresh_seed_is_drawn_and_returned(tmp_path: Path) -> None:
    path = synthetic.write(synthetic.solved("ch2_implement", "gradient_descent"), tmp_path / "gradient_descent.ipynb")
    verdicts = trusted_verdict(path, "ch2_implement", "gradient_descent", limits=TEST_LIMITS)
    seeds = {v.seed for v in verdicts.values()}
    assert len(seeds) == 1 and seeds != {SEED}
    assert all(v.points == v.max_points for v in verdicts.values())
