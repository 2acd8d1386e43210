"""Every command of the README's code blocks (and of docs/) is one this checkout accepts, as written.

`.venv/bin/python -m autograder ...` lines parse with the real command line parser; `make ...` lines
are targets of the Makefile (a dry run); scripts named exist. The commands that do the work are run
for real by the tests of each step (tests/grading/test_grade_week.py, test_formgrader_browser.py,
tests/course/test_student_screen.py)."""
from __future__ import annotations

import re
import shlex
import subprocess

from autograder.cli import parser
from autograder.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
DOCS = "\n".join(page.read_text() for page in sorted((REPO_ROOT / "docs").glob("*.md")))
BLOCKS = re.findall(r"```bash\n(.*?)```", README + DOCS, re.S)
COMMANDS = [line.split("#")[0].strip() for block in BLOCKS for line in block.splitlines()
            if line.split("#")[0].strip()]


def test_the_week_is_in_the_readme() -> None:
    joined = "\n".join(COMMANDS)
    for step in ("autograder build", "autograder bundle", "autograder grade", "autograder formgrade"):
        assert step in joined, step


def test_autograder_commands_parse_as_written() -> None:
    autograder = [c for c in COMMANDS if c.startswith(".venv/bin/python -m autograder")]
    assert len(autograder) >= 5
    for command in autograder:
        argv = shlex.split(command)[3:]
        args = parser().parse_args(argv)
        assert callable(args.run), command


def test_make_targets_exist() -> None:
    for command in (c for c in COMMANDS if c.startswith("make ")):
        dry = subprocess.run(["make", "-n", *shlex.split(command)[1:]], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=60)
        assert dry.returncode == 0, (command, dry.stderr)


def test_scripts_exist() -> None:
    for command in (c for c in COMMANDS if c.startswith(".venv/bin/python bench/")):
        assert (REPO_ROOT / shlex.split(command)[1]).is_file(), command


def test_every_page_the_readme_links_exists() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", README)
    assert links, "the README points to its docs/"
    for link in links:
        assert (REPO_ROOT / link).is_file(), link
