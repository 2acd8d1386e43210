"""A warm interpreter for the trusted verdict, run inside the sandbox: one forked child per test.

Copied into the server's sandbox folder next to `harness.py` and run as
`python -I -B zygote.py CONTROL_IN CONTROL_OUT`. It imports the harness, numpy and torch once;
each test then runs in a fresh fork of that clean state, so no test pays for the imports and no
test sees what an earlier one did:

* the zygote never reads a program or a report: a child reads its own program file and writes
  its report to a file of its own (the grader writes the one and reads the other);
* after each child, every other process in the sandbox is killed and the scratch places
  (/sandbox but for the report, /tmp, /dev/shm, POSIX message queues, System V IPC, the uid's kernel
  keyrings) are brought back to what they held when the server started, before the grader is told;
* the zygote is not dumpable, so a child cannot read its memory or its descriptors through /proc,
  nor trace it; the control pipes are closed in the child.

Control protocol (one line each way per test, on the two descriptors given as arguments):
  grader -> zygote: `run N CPU_SECONDS WALL_SECONDS`  (the program is in program-N.json)
  zygote -> grader: `exit N RETURNCODE TIMED_OUT`     (the report is in out-N; RETURNCODE < 0: signal)
It imports nothing from the grader's package (none of it is reachable inside the sandbox).
"""
import ctypes
import os
import resource
import select
import shutil
import signal
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import harness

sys.path.pop(0)  # and so do the tests: nothing is imported from the scratch folder
harness.load_torch()

SCRATCH = ("/sandbox", "/tmp", "/dev/shm", "/dev/mqueue")   # /dev/mqueue: POSIX message queues
PR_SET_DUMPABLE, IPC_RMID = 4, 0
# keyctl(2): the system call's number, and the keyrings a test could leave keys in
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEYRINGS = (-3, -4, -5)   # session, user, user-session


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def kill_everyone_else() -> None:
    """SIGKILL every process of the sandbox but the init and this one, until none is left."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
        alive = []
        for pid in others:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(pid)
            except OSError:
                pass
        if not alive:
            return
        time.sleep(0.001)
    raise RuntimeError("processes left behind could not be killed")


def _force_remove(path: str) -> None:
    def unlock(func, failed, _exc):
        parent = os.path.dirname(failed)
        try:
            os.chmod(parent, stat.S_IRWXU)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, stat.S_IRWXU)
        except OSError:
            pass
        func(failed)

    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, stat.S_IRWXU)
        shutil.rmtree(path, onerror=unlock)
    else:
        os.unlink(path)


def _entries(folder: str):
    """(path, is a mount point or a folder to go into) below `folder`, not crossing into mounts."""
    try:
        device = os.lstat(folder).st_dev
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        yield path, info.st_dev != device, stat.S_ISDIR(info.st_mode)


def layout(folder: str, found: set) -> set:
    """Everything the sandbox itself put below `folder` before any test ran: the server's own
    files, and mount points with the folders leading to them (a Python install under /tmp)."""
    for path, mount, is_dir in _entries(folder):
        found.add(path)
        if is_dir and not mount:
            layout(path, found)
    return found


def empty(folder: str, keep: set) -> None:
    """Remove whatever is below `folder` and not in `keep`; never cross into a mount."""
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        try:
            os.chmod(folder, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        except OSError:
            pass  # not ours: part of the sandbox's layout, which tests cannot change either
    for path, mount, is_dir in list(_entries(folder)):
        if path in keep:
            if is_dir and not mount:
                empty(path, keep)
        elif not mount:
            _force_remove(path)


def remove_sysv_ipc() -> None:
    libc = _libc()
    for kind, remove in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                         ("sem", lambda i: libc.semctl(i, 0, IPC_RMID)),
                         ("msg", lambda i: libc.msgctl(i, IPC_RMID, None))):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            remove(int(row.split()[1]))


def keyctl(*args: int) -> int:
    if SYS_KEYCTL is None:
        return -1
    return _libc().syscall(SYS_KEYCTL, *[ctypes.c_long(a) for a in args])


def clear_keyrings() -> None:
    """Empty the kernel keyrings every process of this uid shares (a child gets a session keyring
    of its own, but the user keyrings are the uid's)."""
    for keyring in KEYRINGS:
        keyctl(KEYCTL_CLEAR, keyring)


def clean_up(layout_paths: set, keep: str) -> None:
    kill_everyone_else()
    for folder in SCRATCH:
        empty(folder, layout_paths | {keep})
    os.chdir("/sandbox")
    remove_sysv_ipc()
    clear_keyrings()


def child(number: int, cpu_seconds: int, report: int, control: tuple) -> None:
    try:
        for fd in control:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(report, 1)
        os.dup2(devnull, 2)
        os.close(report)
        os.close(devnull)
        os.setsid()
        keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)   # a fresh anonymous session keyring
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        harness.run(f"program-{number}.json")
    finally:
        os._exit(70)


def wait(pid: int, wall_seconds: float) -> tuple:
    """(returncode, timed_out) of the child, killed at the wall-clock limit."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], wall_seconds)
    finally:
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), timed_out


def serve(control_in: int, control_out: int) -> int:
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.chdir("/sandbox")
    layout_paths = set()
    for folder in SCRATCH:
        layout(folder, layout_paths)
    os.write(control_out, b"ready\n")
    commands = os.fdopen(control_in, "rb", buffering=0)
    for line in iter(commands.readline, b""):
        word, number, cpu_seconds, wall_seconds = line.split()
        assert word == b"run"
        number, cpu_seconds, wall_seconds = int(number), int(cpu_seconds), float(wall_seconds)
        report_name = f"out-{number}"
        program = f"/sandbox/program-{number}.json"
        empty("/sandbox", layout_paths | {program})
        report = os.open(report_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        pid = os.fork()
        if pid == 0:
            child(number, cpu_seconds, report, (control_in, control_out))
        os.close(report)
        returncode, timed_out = wait(pid, wall_seconds)
        clean_up(layout_paths, f"/sandbox/{report_name}")
        os.write(control_out, f"exit {number} {returncode} {int(timed_out)}\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), int(sys.argv[2])))
