"""Every limit the grader puts on student code, in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use (autograder/sandbox/run.py puts them in force)."""
    cpu_seconds: int = 60              # RLIMIT_CPU (SIGXCPU, then SIGKILL one second later)
    wall_seconds: float = 120.0        # whole process tree killed after this
    memory_bytes: int = 3 * 2**30      # RLIMIT_AS of every process
    processes: int = 128               # RLIMIT_NPROC (tasks, threads included) of the sandbox's user
    open_files: int = 256              # RLIMIT_NOFILE
    file_bytes: int = 8 * 2**20        # RLIMIT_FSIZE: largest file written, stdout and stderr included
    tmp_bytes: int = 64 * 2**20        # size of the private /tmp
    folder_bytes: int = 128 * 2**20    # size of the sandbox's folder (as root: a tmpfs of its own)
    shm_bytes: int = 16 * 2**20        # size of /dev/shm
    output_bytes: int = 256 * 2**10    # how much of stdout and of stderr is kept in the Result


# One test of the trusted verdict: the reference solutions need milliseconds; an endless loop costs at most this.
VERDICT_TEST = Limits(cpu_seconds=10, wall_seconds=20.0, memory_bytes=3 * 2**30, processes=64,
                      open_files=128, file_bytes=8 * 2**20, tmp_bytes=64 * 2**20, output_bytes=4 * 2**20,
                      folder_bytes=64 * 2**20, shm_bytes=16 * 2**20)
# The warm verdict interpreter itself (every forked child sets VERDICT_TEST's CPU limit on itself).
VERDICT_SERVER_CPU_SECONDS = 7 * 24 * 3600

# What the trusted verdict reads of a submitted notebook: only code counts (outputs, attachments are not read).
MAX_NOTEBOOK_FILE_BYTES = 64 * 2**20   # the file itself (as the intake's SUBMITTED_NOTEBOOK_MAX_BYTES)
MAX_CODE_CHARS = 2 * 2**20             # all code cells together
MAX_CELL_CHARS = 200_000
# The course's per-cell timeout, defined here only: nbgrader's Execute.timeout (nbgrader_config.py reads
# it), the default of `grade --cell-timeout` and of `check --timeout`, the trusted verdict's and the
# kernel's limits. Each test of the trusted verdict first runs the notebook's student cells, each stopped
# after it as nbgrader stops it, all of them within the submission's time limit (added to VERDICT_TEST).
CELL_TIMEOUT = 30

# nbgrader's run of one submission.
SUBMISSION_WALL_SECONDS = 600.0       # `grade --time-limit`: the whole submission, wall clock
MAX_CELL_OUTPUT_CHARS = 4 * 2**20     # kept of one cell's output while it runs (LimitOutput trims further)
CHECK_CELL_TIMEOUT = CELL_TIMEOUT     # `check --timeout`: a student's own check stops a cell as grading does


def kernel(cell_timeout: int) -> Limits:
    """A notebook's kernel: room for torch and a whole notebook; cell timeouts stop it well before."""
    return Limits(cpu_seconds=max(300, 6 * cell_timeout), wall_seconds=float(max(120, 6 * cell_timeout + 60)),
                  memory_bytes=6 * 2**30, processes=256, open_files=512, file_bytes=64 * 2**20,
                  tmp_bytes=128 * 2**20, folder_bytes=256 * 2**20, shm_bytes=64 * 2**20)

# The intake: an LMS export is unpacked under these caps (autograder/grading/archive.py), and a
# submitted notebook is parsed in a child process under these (autograder/grading/notebook_check.py).
ARCHIVE_MAX_MEMBERS = 20_000
ARCHIVE_MAX_MEMBER_BYTES = 64 * 2**20       # one file, as unpacked (the header's size is not trusted)
ARCHIVE_MAX_TOTAL_BYTES = 1 * 2**30         # everything unpacked from one export
SUBMITTED_NOTEBOOK_MAX_BYTES = 64 * 2**20   # larger notebooks are refused unread
NOTEBOOK_CHECK_MEMORY_BYTES = 2 * 2**30     # address space of the process that parses notebooks
NOTEBOOK_CHECK_SECONDS = 60.0               # one notebook's parse, wall clock

# Pictures pasted into a written answer (markdown attachments) kept in the copy that is graded.
MAX_ANSWER_ATTACHMENT_BYTES = 8 * 2**20

# The warm kernel sandbox (autograder/sandbox/kernel_zygote.py): memory, files and /tmp of a kernel;
# each forked kernel sets its own CPU and process caps (kernel(cell_timeout)) and its wall clock is kept.
KERNEL_ZYGOTE = kernel(CELL_TIMEOUT)
