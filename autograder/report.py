"""OUT/report.html: one self-contained page (figures embedded as PNG) about a graded batch."""
from __future__ import annotations

import base64
import html
import io
import time
from collections import defaultdict
from pathlib import Path

from .grading_worker import OK

GRADED = ("ok", "timed_out")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(fig, alt: str, caption: str) -> str:
    return (f'<figure><img src="data:image/png;base64,{_png(fig)}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def score_figure(grades: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    by_assignment: dict[str, list[float]] = defaultdict(list)
    max_scores: dict[str, float] = {}
    for row in grades:
        if row["status"] in GRADED and row["score"] != "":
            by_assignment[row["assignment_id"]].append(float(row["score"]))
            max_scores[row["assignment_id"]] = float(row["max_score"])
    if not by_assignment:
        return "<p>No submission could be graded, so there is no score distribution.</p>"
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


def pass_rate_figure(tests: list[dict]) -> str:
    import matplotlib.pyplot as plt

    rates = pass_rates(tests)
    if not rates:
        return "<p>No test cell was run, so there are no pass rates.</p>"
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


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(path: Path, grades: list[dict], tests: list[dict]) -> Path:
    problems = [r for r in grades if r["status"] != OK]
    graded = [r for r in grades if r["status"] in GRADED and r["score"] != ""]
    rates = pass_rates(tests)
    summary = _table(["assignment", "rows", "graded", "not graded", "mean score", "max score"], [
        [aid, len(rows), sum(1 for r in rows if r in graded), sum(1 for r in rows if r not in graded),
         (f"{sum(float(r['score']) for r in rows if r in graded) / max(1, sum(1 for r in rows if r in graded)):.2f}"
          if any(r in graded for r in rows) else ""),
         rows[0]["max_score"]]
        for aid, rows in sorted(_group(grades).items())])
    problem_table = _table(["student", "assignment", "status", "score", "reason"],
                           [[r["student_id"], r["assignment_id"] or "-", r["status"], r["score"], r["reason"]]
                            for r in sorted(problems, key=lambda r: (r["status"], r["student_id"]))]) \
        if problems else "<p>Every submission was graded.</p>"
    rate_table = _table(["test cell", "pass rate", "students"],
                        [[k, f"{100 * v:.0f}%", n] for k, v, n in rates]) if rates else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Grading report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} th, td {{ border: 1px solid #bbb; padding: .3rem .6rem; text-align: left; }}
th {{ background: #eee; }} img {{ max-width: 100%; }} figcaption {{ font-size: .9rem; color: #555; }}
</style></head><body>
<main>
<h1>Grading report</h1>
<p>{len(grades)} row(s): {len(graded)} graded, {len(problems)} not ok. Written {time.strftime('%Y-%m-%d %H:%M')}.
Scores come from the gradebook; written answers count once a grader has scored them in formgrader.</p>
<h2>Summary per assignment</h2>
{summary}
<h2>Score distribution</h2>
{score_figure(grades)}
<h2>Pass rate per test cell</h2>
{pass_rate_figure(tests)}
{rate_table}
<h2>Could not be graded, or not fully</h2>
{problem_table}
</main></body></html>
"""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _group(grades: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in grades:
        groups[row["assignment_id"] or "(none)"].append(row)
    return groups
