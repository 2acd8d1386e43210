"""Instructor and student tooling: `python -m autograder {build,grade,check,bundle}`."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="regenerate course/ and solutions/ from autograder/source")
    build.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")

    args = parser.parse_args(argv)
    if args.command == "build":
        from .build import build as run_build

        return run_build(check_only=args.check)
    return 2


if __name__ == "__main__":
    sys.exit(main())
