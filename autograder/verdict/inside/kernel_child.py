"""A notebook's kernel, forked from the warm zygote (zygote.py, `kernel` profile), inside the sandbox.

Importing this module is the zygote's preload: ipykernel, IPython, numpy, torch and matplotlib, the
start-up every kernel would otherwise pay. `run` is what a forked child does, in this order, before
it reads anything a student wrote:

* a session of its own and a mount namespace of its own: its folder (the grader made
  /sandbox/k-N for it) bound over /sandbox, a fresh size-capped /tmp and /dev/shm, so it sees no
  file of another kernel and leaves nothing behind in the zygote's view (a Python install the
  sandbox bound below /tmp is bound again, read-only, into the fresh /tmp);
* its caps: CPU seconds and processes (the rest it inherits from the sandbox);
* a fresh unprivileged user id (chosen by the grader), no supplementary groups, an empty capability
  bounding set, no_new_privs; it checks that no capability is left before it starts the kernel.

Standard library and the kernel's own packages only: nothing of the grader's package is reachable here.
"""
import ctypes
import functools
import json
import os
import re
import resource
import sys

import IPython  # noqa: F401 - preloaded once in the zygote
import ipykernel.ipkernel  # noqa: F401 - preloaded once in the zygote
import ipykernel.kernelapp
import matplotlib
import matplotlib.pyplot  # noqa: F401 - preloaded once in the zygote (backend from MPLBACKEND)
import contourpy  # noqa: F401 - what matplotlib's first contour plot imports (chapters 4, 6 and 7)
import numpy  # noqa: F401 - preloaded once in the zygote
import torch  # noqa: F401 - preloaded once in the zygote
import torch._dynamo  # noqa: F401 - what torch.optim imports on its first optimizer (seconds)
import torch.optim  # noqa: F401 - preloaded once in the zygote
from matplotlib.backends import backend_agg  # every figure's renderer
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser
import pygments.formatters  # noqa: F401 - a failing cell's traceback, formatted
import stack_data  # noqa: F401 - a failing cell's traceback, formatted
from PIL import Image

# What a kernel imports while it starts (IPKernelApp.initialize: its debugger, the history's sqlite3,
# pdb, pydoc, psutil, faulthandler) and on its first cells: a quarter of a second, paid here once.
import faulthandler  # noqa: F401
import IPython.core.history  # noqa: F401
import IPython.core.logger  # noqa: F401
import ipykernel.debugger  # noqa: F401
import matplotlib_inline.backend_inline  # noqa: F401
import pdb  # noqa: F401
import psutil  # noqa: F401
import pydoc  # noqa: F401
import sqlite3  # noqa: F401

Image.init()   # the image plugins matplotlib's PNG output loads on first use


class SharedMathText(MathTextParser):
    """One mathtext parser for every figure this kernel draws, its cache filled here once.

    matplotlib gives each renderer a parser of its own with an empty 50-entry cache: every tick
    label such as $10^{-3}$ is parsed again by every figure (by each of its renderers, when it is
    laid out at one resolution and saved at another), a fifth of the course's figure time. A parse
    is a pure function of its key (text, dpi, font, antialiasing, hinting), so sharing one cache
    changes no pixel.
    """

    _parse_cached = functools.lru_cache(1024)(MathTextParser._parse_cached.__wrapped__)


SHARED_MATHTEXT = SharedMathText("path")  # what RendererAgg draws text with ("agg" output is for images)
backend_agg.MathTextParser = lambda output: SHARED_MATHTEXT if output == "path" else MathTextParser(output)
# builds mathtext's grammar (once per process) and parses the log-scale tick labels every figure of
# the course draws: at the figure's dpi (layout, legends) and at the saved PNG's (course_kit: 96)
for _dpi in (float(matplotlib.rcParams["figure.dpi"]), 96):
    for _power in range(-16, 31):
        SHARED_MATHTEXT.parse(rf"$\mathdefault{{10^{{{_power}}}}}$", _dpi, FontProperties())

try:
    import ipywidgets  # noqa: F401 - the learning-rate slider of chapter 2
except ImportError:
    pass

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
CONNECTION_FILE = "/sandbox/kernel.json"
ARGUMENTS_FILE = "/sandbox/kernel-arguments.json"   # the grader's options for the kernel (`--Class.trait=value`)


GRADER_MODULES = ("harness", "kernel_child", "zygote")   # the zygote's own modules (it runs as __main__)

def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what} failed")


def _mounts_below(folder: bytes) -> list:
    """The outermost mount points below `folder`: what the sandbox bound there (a Python install under /tmp)."""
    with open("/proc/self/mountinfo", "rb") as info:   # field 5, its " \t\n\\" written as \ooo
        points = {re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), line.split()[4]) for line in info}
    below = [p for p in points if p.startswith(folder + b"/")]
    return sorted(p for p in below if not any(p.startswith(q + b"/") for q in below))


def _rebind(libc, held: int, path: bytes) -> None:
    """Bind what descriptor `held` opened at `path` (its folders made root's, 0755), read-only."""
    made = b""
    for part in path.split(b"/")[1:]:
        made += b"/" + part
        if not os.path.isdir(made):
            os.mkdir(made, 0o755)
            os.chmod(made, 0o755)   # whatever the umask
    _check(libc.mount(f"/proc/self/fd/{held}".encode(), path, None, MS_BIND | MS_REC, None), f"binding {path!r}")
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    _check(libc.mount(None, path, None, flags, None), f"making {path!r} read-only")


def _size(place: bytes) -> int:
    """The size of the tmpfs at `place`: a fresh /dev/shm is as large as the sandbox's (limits.py's shm_bytes)."""
    found = os.statvfs(place)
    return found.f_blocks * found.f_frsize


def own_places(libc, folder: str, tmp_bytes: int) -> None:
    """/sandbox = this kernel's folder; a fresh /tmp and /dev/shm; nothing shared with the zygote.
    The fresh /tmp holds nothing but the way to a Python install the sandbox bound below /tmp."""
    _check(libc.unshare(CLONE_NEWNS), "unshare(mount namespace)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    _check(libc.mount(folder.encode(), b"/sandbox", None, MS_BIND | MS_REC, None), "binding the kernel folder")
    python = {root: os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for root in _mounts_below(b"/tmp")}
    for place, size in ((b"/tmp", tmp_bytes), (b"/dev/shm", _size(b"/dev/shm"))):
        if os.path.isdir(place):
            options = f"size={size},mode=1777".encode()
            _check(libc.mount(b"tmpfs", place, b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mounting {place!r}")
    for root, held in python.items():   # covered by the fresh /tmp, still reached through the descriptor
        _rebind(libc, held, root)
        os.close(held)
    os.chdir("/sandbox")


def become(libc, uid: int) -> None:
    """The fresh unprivileged identity: no groups, no capabilities now or ever after."""
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: nothing to drop
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)   # drops the permitted and effective capabilities
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status.read().splitlines() if ":" in line)
    if os.getuid() != uid or any(int(fields[f].strip(), 16) for f in ("CapPrm", "CapEff", "CapBnd", "CapAmb")):
        raise OSError("the kernel kept a capability or its old identity")


def run(number: int, uid: int, cpu_seconds: int, processes: int, tmp_bytes: int) -> None:
    """The child's whole life: its sandbox identity, then the kernel until it is shut down."""
    libc = ctypes.CDLL(None, use_errno=True)
    os.setsid()
    own_places(libc, f"/sandbox/k-{number}", tmp_bytes)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    become(libc, uid)
    sys.path.insert(0, "/sandbox")  # as `python -m ipykernel_launcher` started in the notebook's folder
    with open(ARGUMENTS_FILE) as arguments:
        options = [option for option in json.load(arguments) if isinstance(option, str) and option.startswith("--")]
    sys.argv = ["ipykernel_launcher", "-f", CONNECTION_FILE, *options]
    for name in GRADER_MODULES:   # the student's kernel imports none of the grader's code by name
        sys.modules.pop(name, None)
    ipykernel.kernelapp.IPKernelApp.launch_instance(argv=sys.argv[1:])
