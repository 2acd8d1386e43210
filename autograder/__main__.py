"""`python -m autograder COMMAND`: the same as the `gd-course` command (autograder/cli.py)."""
import sys

from autograder.cli import main

sys.exit(main())
