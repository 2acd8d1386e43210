"""The command line: `gd-course COMMAND` or `python -m autograder COMMAND` (`--help` for each).

Each command's options are parsed here into typed values and passed, by keyword, to the function
that does the work; nothing below this module sees argparse.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import limits
from autograder.paths import REPO_ROOT


def _build(args: argparse.Namespace) -> int:
    from autograder.course.build import build

    return build(check_only=args.check)


def _grade(args: argparse.Namespace) -> int:
    from autograder.grading.batch import GradeOptions, grade

    return grade(GradeOptions(submissions=args.submissions, out=args.out, workers=args.workers, db=args.db,
                              force=args.force, students=tuple(args.student), cell_timeout=args.cell_timeout,
                              seed=args.seed, time_limit=args.time_limit, zygote=args.zygote,
                              scheduler=args.scheduler, allow_unsandboxed_workers=args.allow_unsandboxed_workers))


def _check(args: argparse.Namespace) -> int:
    from autograder.course.check import main

    return main(notebook=args.notebook, timeout=args.timeout)


def _formgrade(args: argparse.Namespace) -> int:
    from autograder.grading.formgrade import main

    return main(out=args.out, extra=[a for a in args.extra if a != "--"])


def _bundle(args: argparse.Namespace) -> int:
    from autograder.course.bundle import main

    return main(out=args.out)


def parser() -> argparse.ArgumentParser:
    from autograder.course.bundle import DEFAULT_OUT

    top = argparse.ArgumentParser(prog="gd-course", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, run) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    build = command("build", "regenerate course/ and solutions/ from autograder/source", _build)
    build.add_argument("--check", action="store_true",
                       help="only report files that differ from the source; exit 1 if any")

    grade = command("grade", "grade a class's submissions: grades, feedback and a report", _grade)
    grade.add_argument("submissions", metavar="SUBMISSIONS", type=Path,
                       help="folder laid out as <student_id>/<assignment_id>/<notebook>.ipynb, "
                            "or the .zip downloaded from Canvas or Moodle")
    grade.add_argument("--out", required=True, type=Path, metavar="OUT",
                       help="output folder: grades.csv, tests.csv, report.html, feedback/, gradebook")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                       help="submissions graded at the same time (default: number of cores, %(default)s)")
    grade.add_argument("--db", metavar="URL", default=os.environ.get("GRADEBOOK_URL") or None,
                       help="gradebook URL, e.g. postgresql://user@host/db (default: $GRADEBOOK_URL if set, "
                            "else sqlite OUT/gradebook.db); keep a password out of the command line: "
                            "set GRADEBOOK_URL instead")
    grade.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    grade.add_argument("--student", action="append", default=[], metavar="ID",
                       help="regrade this student's submissions, as --force does for the class, keeping "
                            "everything else as it is (repeat it for several students)")
    grade.add_argument("--cell-timeout", type=int, default=limits.CELL_TIMEOUT, metavar="SECONDS",
                       help="stop a cell after this long (default: %(default)s)")
    grade.add_argument("--seed", type=int, default=None,
                       help="seed of the trusted verdict's random inputs (default: a fresh one per run, "
                            "recorded in grades.csv so a grade can be reproduced)")
    grade.add_argument("--time-limit", type=float, default=limits.SUBMISSION_WALL_SECONDS, metavar="SECONDS",
                       help="stop grading one submission after this long, wall clock (default: %(default)s)")
    grade.add_argument("--no-zygote", dest="zygote", action="store_false",
                       help="start a fresh sandboxed Python for each kernel instead of forking it from the "
                            "worker's warm sandboxed zygote (the default where the zygote can be had)")
    grade.add_argument("--zygote", dest="zygote", action="store_true", help=argparse.SUPPRESS)
    grade.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="grade on the workers of this Dask cluster, e.g. tcp://host:8786 (default: "
                            "local worker processes)")
    grade.add_argument("--allow-unsandboxed-workers", action="store_true",
                       help="with --scheduler: let cluster workers without bubblewrap grade, unisolated")

    formgrade = command("formgrade", "open nbgrader's formgrader on a graded batch, to grade by hand",
                        _formgrade)
    formgrade.add_argument("out", metavar="OUT", type=Path, help="the --out folder of `grade`")
    formgrade.add_argument("extra", nargs=argparse.REMAINDER,
                           help="passed on to `jupyter lab` (e.g. --no-browser --port 8888)")

    check = command("check", "check a student notebook: one line per exercise", _check)
    check.add_argument("notebook", type=Path, help="the chapter notebook to check (.ipynb)")
    check.add_argument("--timeout", type=int, default=limits.CHECK_CELL_TIMEOUT, metavar="SECONDS",
                       help="stop a cell that runs longer than this (default: %(default)s)")

    bundle = command("bundle", "write the zip handed to students", _bundle)
    bundle.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write the zip (default: {_shown(DEFAULT_OUT)})")
    return top


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
