"""Run one submission's code in isolation.

A command runs in a throwaway directory that holds only that submission, with:

* a file system of its own (bubblewrap mount namespace): the Python install and its site-packages
  read-only, the submission directory read-write (mounted at /sandbox; as root a size-capped tmpfs
  of its own while in use, see storage.py), a private size-capped /tmp and /dev/shm, a private
  /proc and a minimal /dev. Nothing else of the host is there: not the repository, not
  autograder/source, not solutions/, not a gradebook, not other submissions;
* no network (a network namespace of its own: not even the host's 127.0.0.1 is reachable);
* a private process tree (PID namespace): it can neither see nor signal the grader;
* as root: a fresh unprivileged user id for each run, no capabilities, no_new_privs;
  not root: the caller's own user id inside a user namespace (see `describe_protections`);
* caps on CPU time, address space, processes, open files, file size (stdout/stderr included)
  and wall-clock time;
* a clean, fixed environment: nothing is inherited from the grader's environment;
* no new user namespaces (a seccomp filter, see seccomp.py): no mounts of its own inside.

`describe_protections()` says which of these are in force on this machine; where file-system
isolation is unavailable `run_sandboxed` refuses to run unless the caller accepts the weaker
protections explicitly.
"""
from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.limits import Limits
from autograder.sandbox import seccomp, storage
from autograder.sandbox.processes import kill_tree
from autograder.sandbox.results import killed_reason

SANDBOX_WORKDIR = "/sandbox"   # where the submission directory appears inside the sandbox
PROBE_SECONDS = 30             # a sandbox that cannot run /bin/true in this long is taken as missing
_UID_BASE = 1_700_000_000      # fresh user ids are drawn from [_UID_BASE, _UID_BASE + _UID_SPAN)
_UID_SPAN = 100_000_000

# The whole environment a sandboxed process gets (plus the caller's `env`, checked below).
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "USER": "sandbox",
    "LOGNAME": "sandbox",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class SandboxUnavailable(RuntimeError):
    """The isolation asked for cannot be had on this machine."""


@dataclass(frozen=True)
class Result:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None          # None: the command ended on its own, without hitting a limit
    wall_seconds: float = 0.0
    protections: tuple[str, ...] = field(default=(), repr=False)


# --------------------------------------------------------------------------- what this machine offers

def _bwrap() -> str | None:
    return shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin") or shutil.which("bwrap")


def _tool(name: str) -> str | None:
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin")


def _is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def mode() -> str:
    """'bwrap-root' (full isolation, fresh uid), 'bwrap-user' (user namespace, own uid) or 'none'."""
    if sys.platform != "linux" or not _bwrap() or not _tool("prlimit"):
        return "none"
    candidates = (["bwrap-root"] if _is_root() and _tool("setpriv") else []) + ["bwrap-user"]
    for candidate in candidates:
        with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as probe:
            argv = _build_argv(["/bin/true"], Path(probe), Limits(), candidate, uid=_fresh_uid())
            try:
                ok = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=dict(BASE_ENV),
                                    timeout=PROBE_SECONDS).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        if ok:
            return candidate
    return "none"


def describe_protections() -> list[str]:
    """Which protections `run_sandboxed` puts in force on this machine, said plainly."""
    m = mode()
    limits = ("resource caps (prlimit): CPU time, address space, processes, open files, file size; "
              "wall-clock limit with the whole process tree killed")
    filtered = seccomp.program() is not None
    userns = ("user namespaces: creating one inside the sandbox is refused (seccomp filter)" if filtered else
              "user namespaces: NOT blocked by a seccomp filter on this architecture")
    missing = "NOT in force: other system-call filtering (the kernel is shared)"
    if m == "bwrap-root":
        storage_line = (f"storage: the submission directory is a tmpfs of its own while in use, /tmp and /dev/shm "
                        f"are private tmpfs; all three size-capped ({_caps()})" if storage.available() else
                        "storage: /tmp and /dev/shm size-capped; NOT in force: a total cap on the submission "
                        "directory (each file is capped)")
        return [
            "file system: bubblewrap mount namespace; only the Python install (read-only), the submission "
            "directory (read-write) and a private size-capped /tmp are visible; repository, source, "
            "solutions, gradebook and other submissions are not",
            "network: own network namespace (no interface but loopback; host 127.0.0.1 unreachable)",
            "processes: own PID, IPC and UTS namespaces; the grader cannot be seen or signalled",
            "user: a fresh unprivileged uid per run, no capabilities, no_new_privs",
            "environment: cleared; a fixed minimal set of variables",
            limits,
            storage_line,
            userns,
            missing,
        ]
    if m == "bwrap-user":
        return [
            "file system: bubblewrap mount namespace (unprivileged, user namespace); only the Python "
            "install (read-only), the submission directory (read-write) and a private /tmp are visible",
            "network: own network namespace (no interface but loopback; host 127.0.0.1 unreachable)",
            "processes: own PID, IPC and UTS namespaces; the grader cannot be seen or signalled",
            "user: NOT a separate user: the code runs under the grader's own uid (mapped in a user "
            "namespace); the process cap counts all of that user's processes",
            "environment: cleared; a fixed minimal set of variables",
            limits,
            f"storage: /tmp and /dev/shm private and size-capped ({_caps()}); NOT in force: a total cap on "
            "the submission directory (each file is capped)",
            "user namespaces: creating one inside the sandbox is refused (bubblewrap --disable-userns"
            + (", seccomp filter)" if filtered else ")"),
            missing,
        ]
    return [
        "NO isolation available (bubblewrap missing or not permitted): no file-system, network or "
        "process isolation; run_sandboxed refuses unless called with require_isolation=False",
        "with require_isolation=False: environment cleared, resource caps via prlimit if present, "
        "wall-clock limit, and nothing else",
    ]


def _caps() -> str:
    d = Limits()
    return (f"by default folder {d.folder_bytes // 2**20} MiB, /tmp {d.tmp_bytes // 2**20} MiB, "
            f"/dev/shm {d.shm_bytes // 2**20} MiB")


# --------------------------------------------------------------------------- building the command

def _fresh_uid() -> int:
    return _UID_BASE + secrets.randbelow(_UID_SPAN)


def _python_roots() -> list[str]:
    """Directories holding the Python install and its packages (exposed read-only)."""
    roots: list[str] = []
    candidates = [sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix,
                  sysconfig.get_paths().get("purelib", ""), sysconfig.get_paths().get("platlib", ""),
                  os.path.dirname(os.path.realpath(sys.executable))]
    for c in candidates:
        if not c:
            continue
        real = os.path.realpath(c)
        if real.startswith("/usr/") or real == "/usr":
            continue  # /usr is exposed anyway
        if os.path.isdir(real) and not any(real == r or real.startswith(r + "/") for r in roots):
            roots = [r for r in roots if not r.startswith(real + "/")] + [real]
        if c != real and os.path.isdir(c) and not any(c == r or c.startswith(r + "/") for r in roots):
            roots.append(c)
    return roots


def _system_dirs() -> list[str]:
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"):
        args += ["--ro-bind-try", f, f]
    for d in ("/etc/ld.so.conf.d", "/etc/fonts"):
        args += ["--ro-bind-try", d, d]
    return args


def _prlimit_args(limits: Limits, m: str) -> list[str]:
    nproc = limits.processes
    if m != "bwrap-root":
        # RLIMIT_NPROC counts every process of the real user: leave room for the ones already running.
        nproc += _count_own_processes()
    return [_tool("prlimit") or "prlimit",
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            f"--as={limits.memory_bytes}",
            f"--nproc={nproc}",
            f"--nofile={limits.open_files}",
            f"--fsize={limits.file_bytes}",
            "--core=0",
            "--"]


def _count_own_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


def _build_argv(argv: list[str], workdir: Path, limits: Limits, m: str, uid: int,
                env: dict[str, str] | None = None) -> list[str]:
    full_env = {**BASE_ENV, **(env or {})}
    if m == "none":
        cmd = _prlimit_args(limits, m) if _tool("prlimit") else []
        return cmd + [_tool("env") or "/usr/bin/env", "-i"] + [f"{k}={v}" for k, v in full_env.items()] + list(argv)
    bw = [_bwrap() or "bwrap"]
    bw += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if m == "bwrap-user":
        bw += ["--unshare-user", "--disable-userns"]
    bw += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    for k, v in full_env.items():
        bw += ["--setenv", k, v]
    bw += ["--perms", "0755", "--dir", "/etc"]
    bw += _system_dirs()
    # The private /tmp first: a Python install under /tmp (a checkout there) is bound on top of it.
    bw += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    roots = _python_roots()
    made: set[str] = set()
    for root in roots + ["/etc/x"]:
        # Parent directories the sandbox needs to pass through: searchable, empty but for what is bound.
        parts = Path(root).parts[1:-1]
        for i in range(len(parts)):
            d = "/" + "/".join(parts[: i + 1])
            if d not in made:
                made.add(d)
                bw += ["--perms", "0755", "--dir", d]
    for root in roots:
        bw += ["--ro-bind", root, root]
    bw += ["--proc", "/proc", "--dev", "/dev",
           "--perms", "1777", "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",
           "--mqueue", "/dev/mqueue",
           "--bind", str(Path(workdir).resolve()), SANDBOX_WORKDIR, "--chdir", SANDBOX_WORKDIR]
    # The sandbox's root (a fresh tmpfs) read-only: nothing can be created beside /sandbox and /tmp.
    bw += ["--remount-ro", "/"]
    opener, filter_args = seccomp.bwrap_args()
    bw[1:1] = filter_args
    inner = list(argv)
    if m == "bwrap-root":
        inner = [_tool("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"] + inner
    return _prlimit_args(limits, m) + opener + bw + ["--"] + inner


def _chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def sandboxed_argv(argv: list[str], workdir: Path | str, limits: Limits | None = None,
                   env: dict[str, str] | None = None) -> list[str]:
    """The full command line that runs `argv` sandboxed, with `workdir` as its only writable place.

    Inside, `workdir` is mounted at /sandbox (the current directory), so `argv` should name files
    relative to it. As root this gives `workdir` (recursively) to the fresh user id chosen for the run,
    so it must hold copies, never hard links to the grader's files. Read what the run leaves there
    with `read_result_file` (the code may have replaced it by a link to a grader's file).
    `env` adds variables to the fixed environment (names must be plain identifiers).
    As root `workdir` becomes a size-capped tmpfs (storage.py): call `storage.release(workdir)` when
    the command has ended. Raises SandboxUnavailable where no file-system isolation can be had.
    """
    m = mode()
    if m == "none":
        raise SandboxUnavailable("; ".join(describe_protections()))
    return _argv_for(argv, Path(workdir), limits or Limits(), m, env)


def _check_exposure(workdir: Path) -> None:
    """Refuse a layout that would put the repository's secrets (source, solutions) in reach."""
    from autograder.paths import REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR

    def inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip("/") + "/")

    repo = os.path.realpath(REPO_ROOT)
    for root in _python_roots() + [os.path.realpath(workdir), "/usr", "/etc/fonts"]:
        if inside(repo, root):
            raise SandboxUnavailable(f"{root} would be visible in the sandbox and it holds the repository {repo}")
    work = os.path.realpath(workdir)
    for secret in (SOURCE_DIR, SOLUTIONS_DIR):
        if inside(work, os.path.realpath(secret)):
            raise SandboxUnavailable(f"the submission directory {work} lies inside {secret}")


def _argv_for(argv, workdir: Path, limits: Limits, m: str, env) -> list[str]:
    _check_exposure(workdir)
    for k in (env or {}):
        if not k.isidentifier() or k.startswith(("LD_", "PYTHON")) and k != "PYTHONHASHSEED":
            raise ValueError(f"refusing environment variable {k!r}")
    uid = _fresh_uid()
    if m == "bwrap-root":
        storage.cap(workdir, limits.folder_bytes)
        _chown_tree(workdir, uid)
    return _build_argv(argv, workdir, limits, m, uid, env)


# --------------------------------------------------------------------------- running

def _read_capped(path: Path, cap: int) -> tuple[str, int]:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        data = fh.read(cap)
    text = data.decode("utf-8", errors="replace")
    if size > cap:
        text += f"\n[... {size - cap} more bytes not kept]"
    return text, size


def run_sandboxed(argv: list[str], workdir: Path | str, limits: Limits | None = None,
                  input: str | bytes | None = None, env: dict[str, str] | None = None,
                  require_isolation: bool = True) -> Result:
    """Run `argv` sandboxed in `workdir` (see the module doc). Never raises for what the command does.

    stdout and stderr go to files outside the sandbox (capped by the file-size limit); at most
    `limits.output_bytes` of each is kept. `killed_reason` says which limit ended the command, if any.
    """
    limits = limits or Limits()
    m = mode()
    if m == "none" and require_isolation:
        raise SandboxUnavailable("; ".join(describe_protections()))
    workdir = Path(workdir)
    full = _argv_for(argv, workdir, limits, m, env)
    try:
        return _run(full, limits, input)
    finally:
        storage.release(workdir, keep=True)  # the caller reads what the run left there


def _run(full: list[str], limits: Limits, input: str | bytes | None) -> Result:
    with tempfile.TemporaryDirectory(prefix="sandbox-io-") as io_dir:
        io = Path(io_dir)
        out_path, err_path, in_path = io / "stdout", io / "stderr", io / "stdin"
        in_path.write_bytes(input.encode() if isinstance(input, str) else (input or b""))
        start = time.monotonic()
        timed_out = False
        with open(in_path, "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
            proc = subprocess.Popen(full, stdin=fin, stdout=fout, stderr=ferr, env=dict(BASE_ENV),
                                    start_new_session=True, close_fds=True)
            try:
                rc = proc.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_tree(proc)
                rc = proc.wait()
        wall = time.monotonic() - start
        stdout, out_size = _read_capped(out_path, limits.output_bytes)
        stderr, err_size = _read_capped(err_path, limits.output_bytes)
    reason = killed_reason(rc, timed_out, limits, max(out_size, err_size), wall, stderr)
    return Result(rc, stdout, stderr, timed_out, reason, wall, tuple(describe_protections()))
