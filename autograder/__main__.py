"""Course tooling: `python -m autograder COMMAND --help` for each command."""
from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module in this package, one-line help). Each module defines
# `add_arguments(parser)` and `run(args) -> int` (the exit status).
COMMANDS = {
    "build": ("build", "regenerate course/ and solutions/ from autograder/source"),
    "grade": ("grade", "grade a class's submissions: grades, feedback and a report"),
    "check": ("check", "check a student notebook: one line per exercise"),
    "bundle": ("bundle", "write the zip handed to students"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module_name=module_name)
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__package__}.{module_name}":
                raise
            sub.set_defaults(module_name=None)
            continue
        module.add_arguments(sub)
    args = parser.parse_args(argv)
    if args.module_name is None:
        parser.error(f"'{args.command}' is not available in this installation")
    return importlib.import_module(f"{__package__}.{args.module_name}").run(args)


if __name__ == "__main__":
    sys.exit(main())
