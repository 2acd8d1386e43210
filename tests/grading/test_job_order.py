"""The order a batch hands its submissions out in: long chapters first, so it ends on short ones."""
from __future__ import annotations

from autograder.grading.batch import heaviest_first
from autograder.grading.worker import Job
from autograder.paths import assignments


def job(student: str, assignment_id: str) -> Job:
    return Job(student, assignment_id, {}, "template", f"work/{student}/{assignment_id}")


def test_long_chapters_go_first_and_each_chapters_students_keep_their_order() -> None:
    jobs = [job(f"s{n}", aid) for n in range(3) for aid in assignments()] + [job("s9", "not_a_chapter")]
    ordered = heaviest_first(jobs)
    assert sorted(map(id, ordered)) == sorted(map(id, jobs)), "every job handed out once"
    position = {aid: [i for i, j in enumerate(ordered) if j.assignment_id == aid] for aid in assignments()}
    # chapter 7 (a training loop per batch size, schedules, three optimizers) runs ten times longer than
    # chapter 1 (a few lines of arithmetic): all of chapter 1 comes after all of chapter 7
    assert max(position["ch7_minibatch_sgd"]) < min(position["ch1_the_idea"])
    for aid in assignments():
        students = [ordered[i].student_id for i in position[aid]]
        assert students == ["s0", "s1", "s2"], f"{aid}: students out of their order"
        assert position[aid] == list(range(position[aid][0], position[aid][0] + 3)), f"{aid} not together"
    assert ordered[-1].assignment_id == "not_a_chapter", "what the course does not know goes last, not a crash"
