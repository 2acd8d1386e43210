"""OUT/report.html: one self-contained page (figures embedded as PNG) about a graded batch.

The page is templates/report.html.j2, rendered with autoescaping: every value (names and reasons come
from students and the LMS export) is escaped by Jinja2. The figures come from matplotlib as data.
"""
from __future__ import annotations

import shlex
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from autograder.grading.unmatched import Unmatched
from autograder.status import OK, has_score


def _png(fig) -> str:
    """The figure as base64 PNG, cropped as bbox_inches="tight" crops it, drawn once (as the chapters' figures)."""
    from autograder.student_kit.course_kit import png_bundle

    return png_bundle(fig, "")["image/png"]


@dataclass(frozen=True)
class Figure:
    png: str          # base64
    alt: str
    caption: str
    empty: str = ""   # said instead of the figure when there is nothing to plot


def _figure(fig, alt: str, caption: str) -> Figure:
    return Figure(_png(fig), alt, caption)


def score_figure(grades: list[dict]) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    by_assignment: dict[str, list[float]] = defaultdict(list)
    max_scores: dict[str, float] = {}
    for row in grades:
        if has_score(row):
            by_assignment[row["assignment_id"]].append(float(row["score"]))
            max_scores[row["assignment_id"]] = float(row["max_score"])
    if not by_assignment:
        return Figure("", "", "", "No submission could be graded, so there is no score distribution.")
    names = sorted(by_assignment)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    alt_parts = []
    for ax, name in zip(axes[0], names):
        scores, top = by_assignment[name], max_scores[name] or 1.0
        bins = [x - 0.5 for x in range(int(top) + 2)] if top <= 30 else 10
        ax.hist(scores, bins=bins, color="#3b6ea5", edgecolor="white")
        ax.set_title(name)
        ax.set_xlabel(f"score (out of {top:g})")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, top + 0.5)
        mean = sum(scores) / len(scores)
        alt_parts.append(f"{name}: {len(scores)} graded, mean {mean:.1f} of {top:g}, "
                         f"lowest {min(scores):g}, highest {max(scores):g}")
    fig.suptitle("Score distribution per assignment")
    fig.tight_layout()
    alt = "Histograms of scores per assignment. " + "; ".join(alt_parts) + "."
    return _figure(fig, alt, "Score distribution per assignment (graded submissions only).")


def pass_rates(tests: list[dict]) -> list[tuple[str, float, int]]:
    """(assignment/test, share of students with full points, students), hardest first."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in tests:
        if row["kind"] != "autograded":
            continue
        key = f"{row['assignment_id']} / {row['grade_id']}"
        totals[key][1] += 1
        if float(row["points"]) >= float(row["max_points"]) > 0:
            totals[key][0] += 1
    rates = [(key, passed / count, count) for key, (passed, count) in totals.items() if count]
    return sorted(rates, key=lambda r: (r[1], r[0]))


def pass_rate_figure(tests: list[dict]) -> Figure:
    import matplotlib.pyplot as plt

    rates = pass_rates(tests)
    if not rates:
        return Figure("", "", "", "No test cell was run, so there are no pass rates.")
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rates) + 1.4))
    labels = [r[0] for r in rates][::-1]
    values = [100 * r[1] for r in rates][::-1]
    ax.barh(labels, values, color="#c0504d")
    for y, value in enumerate(values):
        inside = value >= 85
        ax.text(value - 1 if inside else value + 1, y, f"{value:.0f}%", va="center", fontsize=8,
                ha="right" if inside else "left", color="white" if inside else "black")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full points (%)")
    ax.set_ylabel("test cell")
    ax.set_title("Pass rate per test cell (hardest at the top)")
    fig.tight_layout()
    alt = "Bar chart of the pass rate per test cell, hardest first: " + "; ".join(
        f"{key} {100 * rate:.0f}% of {count}" for key, rate, count in rates) + "."
    return _figure(fig, alt, "Share of graded students who got full points on each test cell.")


def question_scores(tests: list[dict]) -> dict[str, tuple[float, list[float], int]]:
    """'assignment / question' -> (its points, the points of each student graded on it, answers still
    waiting for a grader); test cells and written answers alike, per assignment in the notebook's order."""
    found: dict[str, tuple[float, list[float], list[int]]] = {}
    for row in tests:
        top, scores, waiting = found.setdefault(f"{row['assignment_id']} / {row['grade_id']}",
                                                (float(row["max_points"]), [], [0]))
        if str(row["needs_manual_grade"]) == "True":
            waiting[0] += 1
        else:
            scores.append(float(row["points"]))
    ordered = sorted(found.items(), key=lambda item: item[0].split(" / ")[0])   # stable: notebook order kept
    return {key: (top, scores, waiting[0]) for key, (top, scores, waiting) in ordered}


def question_figure(tests: list[dict], columns: int = 4) -> Figure:
    """A small histogram of the points per question (x: points, y: students)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    questions = question_scores(tests)
    if not questions:
        return Figure("", "", "", "No question was graded, so there are no scores per question.")
    rows = -(-len(questions) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 1.9 * rows + 0.6), squeeze=False)
    alt_parts = []
    for ax, (key, (top, scores, waiting)) in zip(axes.flat, questions.items()):
        step = 0.5 if top <= 10 else max(1.0, top / 20)
        edges = [step * i - step / 2 for i in range(int(top / step) + 2)]
        ax.hist(scores, bins=edges, color="#3b6ea5", edgecolor="white")
        assignment, question = key.split(" / ", 1)
        ax.set_title(f"{assignment.split('_')[0]}: {question}" + (f" ({waiting} waiting)" if waiting else ""),
                     fontsize=7)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0, max(1, ax.get_ylim()[1]))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        full = sum(1 for x in scores if x >= top)
        alt_parts.append(f"{key}: {len(scores)} graded, {full} with all {top:g} points"
                         + (f", {waiting} waiting for a grader" if waiting else ""))
    for ax in list(axes.flat)[len(questions):]:
        ax.set_visible(False)
    fig.suptitle("Points per question (x: points, y: students)", fontsize=10)
    fig.tight_layout()
    alt = "Histograms of the points per question. " + "; ".join(alt_parts) + "."
    return _figure(fig, alt, "Points per question, test cells and written answers alike (answers waiting "
                             "for a grader are left out and counted in the title).")


def _mean(rows: list[dict]) -> str:
    scores = [float(r["score"]) for r in rows if has_score(r)]
    return f"{sum(scores) / len(scores):.2f}" if scores else ""


def _feedback_link(out: Path, row: dict) -> str:
    """Relative link to the row's first feedback page, '' if there is none."""
    folder = out / "feedback" / row["student_id"] / (row["assignment_id"] or "-")
    pages = sorted(folder.glob("*.html")) if row["assignment_id"] and folder.is_dir() else []
    return pages[0].relative_to(out).as_posix() if pages else ""


def pending_points(tests: list[dict]) -> dict[tuple[str, str], float]:
    """(student, assignment) -> the points of its answers that wait for a grader."""
    pending: dict[tuple[str, str], float] = defaultdict(float)
    for row in tests:
        if str(row["needs_manual_grade"]) == "True":
            pending[(row["student_id"], row["assignment_id"])] += float(row["max_points"])
    return pending


def shown_score(row: dict, pending: float) -> str:
    """The row's score as the report shows it: '5 of 5 autograded, 2 pending' while answers wait."""
    if not pending or not has_score(row):
        return str(row["score"])
    return f"{float(row['score']):g} of {float(row['max_score']) - pending:g} autograded, {pending:g} pending"


def student_table(out: Path, grades: list[dict], tests: list[dict] = ()) -> tuple[list[str], list[dict]]:
    """One row per student: id, name, score per assignment, status, flags, answers to grade, feedback."""
    pending = pending_points(tests)
    assignment_ids = sorted({r["assignment_id"] for r in grades if r["assignment_id"]})
    students: dict[str, dict] = {}
    for row in grades:
        entry = students.setdefault(row["student_id"], {
            "student_id": row["student_id"], "name": row.get("name", ""), "scores": {}, "statuses": [],
            "flags": [], "to_grade": 0, "late": [], "feedback": []})
        aid = row["assignment_id"]
        entry["name"] = entry["name"] or row.get("name", "")
        if aid:
            entry["scores"][aid] = shown_score(row, pending.get((row["student_id"], aid), 0.0))
        entry["statuses"].append(f"{aid or '-'}: {row['status']}")
        if row["status"] in ("flagged", "unconfirmed"):  # a wrong answer seen; an answer not checked
            entry["flags"].append(f"{aid} ({row['status']}): {row['reason']}")
        entry["to_grade"] += int(row.get("to_grade_by_hand") or 0)
        if str(row.get("late")) == "True":
            entry["late"].append(aid)
        link = _feedback_link(out, row)
        if link:
            entry["feedback"].append((aid, link))
    return assignment_ids, [students[s] for s in sorted(students)]


def common_mistakes(grades: list[dict]) -> list[tuple[str, str, list[str]]]:
    """(assignment, the visible check's words for the mistake, students), most common first.

    The words come from the trusted verdict's diagnoses (autograder/verdict/diagnosis.py), never
    from what a student's code printed."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in grades:
        for mistake in filter(None, (m.strip() for m in str(row.get("mistakes") or "").split(" | "))):
            found[(row["assignment_id"], mistake)].append(row["student_id"])
    return sorted(((aid, words, sorted(students)) for (aid, words), students in found.items()),
                  key=lambda m: (-len(m[2]), m[0], m[1]))


def unmatched_table(unmatched: Sequence[Unmatched]) -> list[dict]:
    """The files of the upload that are not graded: file, whose ("" for nobody's) and why."""
    return [{"file": u.file, "student_id": u.student_id, "reason": u.reason} for u in unmatched]


def write_report(path: Path, grades: list[dict], tests: list[dict], unmatched: Sequence[Unmatched] = (),
                 commands: dict[str, str] | None = None) -> Path:
    """`commands`: the `formgrade` and `grade` command lines the page tells the instructor to run next."""
    out = shlex.quote(str(path.parent))
    commands = commands or {"formgrade": f"python -m autograder formgrade {out}",
                            "grade": f"python -m autograder grade SUBMISSIONS --out {out}"}
    problems = sorted((r for r in grades if r["status"] != OK), key=lambda r: (r["status"], r["student_id"]))
    summary = [{"assignment": aid, "rows": len(rows), "graded": sum(1 for r in rows if has_score(r)),
                "mean": _mean(rows), "max_score": rows[0]["max_score"]}
               for aid, rows in sorted(_group(grades).items())]
    assignment_ids, students = student_table(path.parent, grades, tests)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.get_template("report.html.j2").render(
        grades=grades, graded=sum(1 for r in grades if has_score(r)), problems=problems, summary=summary,
        written=time.strftime("%Y-%m-%d %H:%M"), score_figure=score_figure(grades),
        pass_rate_figure=pass_rate_figure(tests), question_figure=question_figure(tests), rates=pass_rates(tests),
        assignment_ids=assignment_ids, students=students,
        mistakes=common_mistakes(grades), unmatched=unmatched_table(unmatched),
        commands=commands, to_grade=sum(int(r.get("to_grade_by_hand") or 0) for r in grades),
        any_late=any(str(r.get("late")) == "True" for r in grades))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _group(grades: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in grades:
        groups[row["assignment_id"] or "(none)"].append(row)
    return groups
