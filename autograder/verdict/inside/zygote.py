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
  nor trace it; the control pipes are closed in the child;
* the preloaded objects are frozen out of the garbage collector's reach before each fork (Python's
  `gc.freeze` recipe for fork servers): a child's full collections never walk them, nor copy the
  pages they live on.

Control protocol (one line each way per test, on the two descriptors given as arguments):
  grader -> zygote: `run N CPU_SECONDS WALL_SECONDS`  (the program is in program-N.json)
  zygote -> grader: `exit N RETURNCODE TIMED_OUT`     (the report is in out-N; RETURNCODE < 0: signal)
With the `kernel` profile (`zygote.py IN OUT kernel`, the sandbox started as root so that each child
can take a fresh user id, see kernel_child.py) a child is a notebook's kernel instead:
  grader -> zygote: `kernel N CPU_SECONDS WALL_SECONDS UID PROCESSES TMP_BYTES FOLDER_BYTES`  (folder k-N
  holds its files; the zygote makes it a tmpfs of FOLDER_BYTES of its own, the kernel's whole folder)
  grader -> zygote: `signal N SIGNAL`  (while kernel N runs: to its whole session)
  zygote -> grader: `exit N RETURNCODE TIMED_OUT`  once it ended and everything it left was cleaned
  grader -> zygote: `run N CPU_SECONDS WALL_SECONDS UID PROCESSES TMP_BYTES FOLDER_BYTES MEMORY_BYTES OPEN_FILES
  FILE_BYTES`  (a test of the trusted verdict, its program in k-N/program.json; the child takes the same
  identity and places as a kernel, under the test's caps, and its report is out-N beside k-N)
It imports nothing from the grader's package (none of it is reachable inside the sandbox).
"""
import ctypes
import gc
import os
import resource
import select
import shutil
import signal
import stat
import sys
import time

gc.disable()  # no collection while the preload is imported: no holes left among its objects
# The profile: `verdict` (tests of the trusted verdict) or `kernel` (a notebook's kernel per child).
PROFILE = sys.argv[3] if __name__ == "__main__" and len(sys.argv) > 3 else "verdict"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
# Low descriptors held while the preload is imported and given back in each child: what the preload keeps
# open (matplotlib's font files) lands above them, and a child's next descriptors are numbered as a fresh
# process's (the harness's report descriptor included, which a test's code may guess at).
RESERVED = [os.open(os.devnull, os.O_RDONLY) for _ in range(16)] if PROFILE == "kernel" else []
import harness  # the kernel profile runs the trusted verdict's tests too: one warm sandbox per worker

harness.load_torch()
import torch._dynamo  # noqa: F401 - what torch.optim imports on its first optimizer: a second, paid once
# What a test of the verdict sees loaded: the verdict's own preload, never the kernel's (ipykernel, IPython,
# zmq...), so that code asking "am I in a kernel?" gets the answer it would get in a verdict server.
VERDICT_MODULES = frozenset(sys.modules)
if PROFILE == "kernel":
    import kernel_child  # ipykernel, torch, numpy, matplotlib: imported once, here
sys.path.pop(0)  # and so do the tests: nothing is imported from the scratch folder
gc.collect()  # the import's own garbage, once, before the preload is frozen

SCRATCH = ("/sandbox", "/tmp", "/dev/shm", "/dev/mqueue")   # /dev/mqueue: POSIX message queues
PR_SET_DUMPABLE, IPC_RMID = 4, 0
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
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


def own_folder(path: str, size: int, uid: int) -> None:
    """Make the kernel's folder a tmpfs of `size` bytes (what it held kept, given to `uid`): a cap on
    everything the kernel writes there, not only on each file."""
    stash = path + ".stash"
    os.rename(path, stash)
    os.mkdir(path, 0o755)
    options = f"size={size},mode=0755,uid={uid},gid={uid}".encode()
    if _libc().mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        raise OSError(ctypes.get_errno(), f"mounting a tmpfs on {path}")
    shutil.copytree(stash, path, symlinks=True, dirs_exist_ok=True)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)
    _force_remove(stash)


def release_folder(path: str) -> None:
    if os.path.ismount(path):
        _libc().umount2(path.encode(), MNT_DETACH)


def can_own_folders() -> bool:
    """The kernel profile caps each kernel's folder in total; without that it does not serve."""
    probe = "/sandbox/.probe"
    os.mkdir(probe)
    try:
        own_folder(probe, 1 << 20, os.getuid())
        release_folder(probe)
        return True
    except OSError:
        return False
    finally:
        _force_remove(probe)


def clean_up(layout_paths: set, keep: str) -> None:
    kill_everyone_else()
    for folder in SCRATCH:
        empty(folder, layout_paths | {keep})
    os.chdir("/sandbox")
    remove_sysv_ipc()
    clear_keyrings()


def fork() -> int:
    """A child of the frozen preload, the collector on again in it (only for its own objects)."""
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        gc.enable()
    return pid


def report_to(report: int, closed: tuple) -> None:
    """A test child's start: the zygote's descriptors `closed`, its output into `report` (the rest to
    /dev/null), a session and a fresh anonymous session keyring of its own."""
    for fd in closed:
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(report, 1)
    os.dup2(devnull, 2)
    os.close(report)
    os.close(devnull)
    os.setsid()
    keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)


def child(number: int, cpu_seconds: int, report: int, control: tuple) -> None:
    try:
        report_to(report, control)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        run_test(f"program-{number}.json")
    finally:
        os._exit(70)


def kernel(number: int, cpu_seconds: int, uid: int, processes: int, tmp_bytes: int, control: tuple) -> None:
    try:
        for fd in (*control, *RESERVED):
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        kernel_child.run(number, uid, cpu_seconds, processes, tmp_bytes)
        os._exit(0)
    finally:
        os._exit(70)


def run_test(program_file: str) -> None:
    """The harness, in a process that answers what a test's code asks of it as a sandbox of its own
    would: only the verdict's modules loaded (not the kernel profile's), the harness's command line."""
    for name in set(sys.modules) - VERDICT_MODULES:
        del sys.modules[name]
    sys.argv[:] = ["harness.py"]
    harness.run(program_file)


def test_as(number: int, caps: tuple, report: int, control: tuple) -> None:
    """A test of the trusted verdict in a kernel's sandbox identity (kernel_child.py) under the test's caps."""
    cpu_seconds, uid, processes, tmp_bytes, memory_bytes, open_files, file_bytes = caps
    try:
        report_to(report, (*control, *RESERVED))
        libc = _libc()
        kernel_child.own_places(libc, f"/sandbox/k-{number}", tmp_bytes)
        for limit, value in ((resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1)),
                             (resource.RLIMIT_NPROC, (processes, processes)),
                             (resource.RLIMIT_AS, (memory_bytes, memory_bytes)),
                             (resource.RLIMIT_NOFILE, (open_files, open_files)),
                             (resource.RLIMIT_FSIZE, (file_bytes, file_bytes))):
            resource.setrlimit(limit, value)
        kernel_child.become(libc, uid)
        run_test("program.json")
    finally:
        os._exit(70)


class Commands:
    """Lines from the grader, readable while a child runs (`signal` may come then)."""

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, b""

    def feed(self) -> None:
        chunk = os.read(self.fd, 4096)
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def pending(self) -> bool:
        return b"\n" in self.buffer

    def next(self) -> list:
        while not self.pending():
            self.feed()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.split()


def wait(pid: int, number: int, wall_seconds: float, commands: Commands) -> tuple:
    """(returncode, timed_out) of child `number`, killed at the wall-clock limit; `signal` commands for it
    go to its whole session (a kernel's process group) meanwhile, a late one for an earlier child nowhere."""
    pidfd = os.pidfd_open(pid)
    deadline, timed_out = time.monotonic() + wall_seconds, False
    try:
        while True:
            while commands.pending() and commands.buffer.startswith(b"signal "):
                _, target, signum = commands.next()
                if int(target) != number:
                    continue
                try:
                    os.killpg(pid, int(signum))
                except (ProcessLookupError, PermissionError):
                    os.kill(pid, int(signum))
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([pidfd, commands.fd], [], [], left)
            if pidfd in ready:
                break
            if commands.fd in ready:
                try:
                    commands.feed()
                except EOFError:  # the grader is gone: so is this test
                    timed_out = True
                    break
    finally:
        os.close(pidfd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), timed_out


def serve(control_in: int, control_out: int) -> int:
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.chdir("/sandbox")
    layout_paths = set()
    if PROFILE == "kernel" and not can_own_folders():
        print("no tmpfs can be mounted for the kernels' folders", file=sys.stderr)
        os.write(control_out, b"unable\n")
        return 1
    for folder in SCRATCH:
        layout(folder, layout_paths)
    os.write(control_out, b"ready\n")
    commands = Commands(control_in)
    while True:
        try:
            word, number, cpu_seconds, wall_seconds, *more = commands.next()
        except EOFError:
            return 0
        except ValueError:
            continue  # a `signal` for a child that has already ended
        number, cpu_seconds, wall_seconds = int(number), int(cpu_seconds), float(wall_seconds)
        control = (control_in, control_out)
        if word == b"kernel" and PROFILE == "kernel":
            uid, processes, tmp_bytes, folder_bytes = (int(value) for value in more)
            keep = f"/sandbox/k-{number}"
            empty("/sandbox", layout_paths | {keep} | layout(keep, set()))
            own_folder(keep, folder_bytes, uid)
            pid = fork()
            if pid == 0:
                kernel(number, cpu_seconds, uid, processes, tmp_bytes, control)
            keep = ""
        elif word == b"run" and PROFILE == "kernel":
            uid, processes, tmp_bytes, folder_bytes, memory_bytes, open_files, file_bytes = (int(v) for v in more)
            folder, keep = f"/sandbox/k-{number}", f"/sandbox/out-{number}"
            empty("/sandbox", layout_paths | {folder} | layout(folder, set()))
            own_folder(folder, folder_bytes, uid)
            report = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            pid = fork()
            if pid == 0:
                test_as(number, (cpu_seconds, uid, processes, tmp_bytes, memory_bytes, open_files, file_bytes),
                        report, control)
            os.close(report)
        elif word == b"run":
            keep = f"/sandbox/out-{number}"
            program = f"/sandbox/program-{number}.json"
            empty("/sandbox", layout_paths | {program})
            report = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            pid = fork()
            if pid == 0:
                child(number, cpu_seconds, report, control)
            os.close(report)
        else:
            raise ValueError(f"unknown command {word!r}")
        returncode, timed_out = wait(pid, number, wall_seconds, commands)
        if PROFILE == "kernel":
            kill_everyone_else()
            release_folder(f"/sandbox/k-{number}")
        clean_up(layout_paths, keep)
        os.write(control_out, f"exit {number} {returncode} {int(timed_out)}\n".encode())


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), int(sys.argv[2])))
