"""The class's common mistakes: the trusted verdict names a failed test's likely mistake in the
words of the chapter's visible check, from its own observations (autograder/verdict/diagnosis.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.limits import VERDICT_TEST
from autograder.paths import SOURCE_DIR, assignments, notebooks
from autograder.sandbox.run import mode
from autograder.verdict.exercises import chapter
from autograder.verdict.program import trusted_verdict
from autograder.verdict.server import VerdictServer
from support import synthetic

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

SEED = 31337
DIAGNOSED = [w for w in synthetic.WRONG_ANSWERS
             if w.says and any(w.says in d.says for d in getattr(chapter(w.assignment_id), "DIAGNOSES", []))]


@pytest.fixture(scope="module")
def server():
    with VerdictServer(VERDICT_TEST) as running:
        running.start()
        yield running


@pytest.mark.parametrize("aid", assignments())
def test_each_diagnosis_uses_the_visible_checks_words(aid: str) -> None:
    checks = (SOURCE_DIR / aid / "checks.py").read_text()
    for diagnosis in getattr(chapter(aid), "DIAGNOSES", []):
        assert diagnosis.says in checks, f"{aid}: {diagnosis.says!r} is not what its visible check says"


def test_wrong_answers_are_diagnosed_by_their_own_words(server: VerdictServer, tmp_path: Path) -> None:
    assert len(DIAGNOSED) >= 8, "most plausible mistakes have a diagnosis"
    for wrong in DIAGNOSED:
        nb = notebooks(wrong.assignment_id)[0]
        path = synthetic.write(synthetic.solved(wrong.assignment_id, nb, **{wrong.cell_id: wrong.source}),
                               tmp_path / wrong.label.replace(" ", "_") / f"{nb}.ipynb")
        verdicts = trusted_verdict(path, wrong.assignment_id, nb, seed=SEED, jobs=1, runner=server.run)
        for test_id in wrong.loses:
            assert verdicts[test_id].points == 0
            assert wrong.says in verdicts[test_id].diagnosis, (wrong.label, test_id, verdicts[test_id])


def test_a_correct_answer_has_no_diagnosis(server: VerdictServer, tmp_path: Path) -> None:
    for aid in ("ch1_the_idea", "ch2_implement"):
        nb = notebooks(aid)[0]
        path = synthetic.write(synthetic.solved(aid, nb), tmp_path / aid / f"{nb}.ipynb")
        verdicts = trusted_verdict(path, aid, nb, seed=SEED, jobs=1, runner=server.run)
        assert all(v.points == v.max_points and not v.diagnosis for v in verdicts.values())
