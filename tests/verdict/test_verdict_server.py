"""The warm verdict server: the same verdicts as one sandbox per test, and nothing carried between tests.

Each test runs against both warm sandboxes that serve the trusted verdict: the verdict server, and the
kernel zygote (sandbox/kernel_zygote.py), which a grading worker uses for its tests where it has one.
"""
from __future__ import annotations

import secrets
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder.limits import CELL_TIMEOUT, KERNEL_ZYGOTE, VERDICT_TEST
from autograder.paths import assignments, notebooks
from autograder.sandbox import kernel_zygote
from autograder.sandbox.run import Limits, mode
from autograder.verdict.program import parse_report, run_once, trusted_verdict
from autograder.verdict.server import ServerFailed, VerdictServer
from support import synthetic

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

SEED = 424242
QUICK = Limits(cpu_seconds=5, wall_seconds=5.0, memory_bytes=3 * 2**30, processes=64, open_files=128,
               file_bytes=2 * 2**20, tmp_bytes=16 * 2**20, output_bytes=2**20)


NO_ZYGOTE = pytest.mark.skipif(not kernel_zygote.available(),
                               reason="the kernel zygote needs bubblewrap as root")
KINDS = [pytest.param("verdict server", id="verdict-server"),
         pytest.param("kernel zygote", id="kernel-zygote", marks=NO_ZYGOTE)]


def new_server(kind: str) -> VerdictServer:
    return VerdictServer(VERDICT_TEST) if kind == "verdict server" else kernel_zygote.KernelZygote(KERNEL_ZYGOTE)


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest):
    """Started as a grading worker starts its own: from a thread that ends once the server is up."""
    with new_server(request.param) as running:
        warming = threading.Thread(target=running.start)
        warming.start()
        warming.join()
        yield running


def test_a_server_outlives_the_thread_that_started_it(server: VerdictServer) -> None:
    """bubblewrap ends a sandbox when the thread that started it ends: the server must not go with it."""
    assert server.proc is not None
    started = server.proc.pid
    time.sleep(0.5)   # the end of the starting thread reaches the sandbox at once, if it does
    assert server.proc.poll() is None, "the server died with the thread that started it"
    value, result = probe(server, "def probe():\n    return 7")
    assert value == 7, result
    assert server.proc is not None and server.proc.pid == started, "the first test had to start the server again"


def probe(server: VerdictServer, cell: str, limits: Limits = QUICK) -> tuple[float | None, object]:
    """Run `cell` (which defines probe() -> int) as a test program; (what probe() returned, the Result)."""
    nonce = secrets.token_hex(16)
    program = {"nonce": nonce, "setup": "", "cells": [{"id": "c", "source": textwrap.dedent(cell)}],
               "target": "c", "defer_target": False, "overrides": "", "kind": "call",
               "params": {"function": "probe"}, "torch": False, "cases": [{"args": []}],
               "cell_timeout": CELL_TIMEOUT}
    result = server.run(program, limits)
    report = parse_report(result.stdout, nonce)
    if report is None:
        return None, result
    out = report["results"][0].get("out", {})
    return (float(out["v"]) if out.get("t") == "int" else None), result


def test_verdicts_equal_those_of_one_sandbox_per_test(server: VerdictServer, tmp_path: Path) -> None:
    submissions = [(aid, nb, "reference", synthetic.solved(aid, nb)) for aid in assignments() for nb in notebooks(aid)]
    for wrong in synthetic.WRONG_ANSWERS[::3]:
        nb = notebooks(wrong.assignment_id)[0]
        submissions.append((wrong.assignment_id, nb, wrong.label,
                            synthetic.solved(wrong.assignment_id, nb, **{wrong.cell_id: wrong.source})))
    failed: list[str] = []

    def warm_only(program: dict, limits: Limits):
        try:
            return server.run(program, limits)
        except ServerFailed as failure:   # trusted_verdict would run it afresh: not what is compared here
            failed.append(str(failure))
            raise

    for number, (aid, nb, label, notebook) in enumerate(submissions):
        path = synthetic.write(notebook, tmp_path / str(number) / f"{nb}.ipynb")
        warm = trusted_verdict(path, aid, nb, seed=SEED, jobs=1, runner=warm_only)
        once = trusted_verdict(path, aid, nb, seed=SEED, jobs=2)
        assert warm == once, f"{aid} {label}"
    assert not failed, failed
    assert server.proc is not None and server.proc.poll() is None, "one server served them all"


COUNT_LEFTOVERS = """
    import ctypes, os
    def probe():
        me, zygote = os.getpid(), os.getppid()
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, zygote)]
        files = [n for n in os.listdir("/sandbox") if not n.startswith(("out-", "program-"))]
        tmp = os.stat("/tmp").st_dev   # a Python install under /tmp is part of the sandbox's layout
        for root, dirs, names in os.walk("/tmp"):
            dirs[:] = [d for d in dirs if os.stat(os.path.join(root, d)).st_dev == tmp]
            files += dirs + names
        try:
            files += os.listdir("/dev/shm")
        except OSError:
            pass
        segments = open("/proc/sysvipc/shm").read().splitlines()[1:]
        libc = ctypes.CDLL(None, use_errno=True)
        queues = sum(libc.mq_open(name, os.O_RDONLY) >= 0 for name in (b"/left", b"/left2"))
        keyctl = {"x86_64": 250, "aarch64": 219}[os.uname().machine]
        keys = sum(libc.syscall(keyctl, ctypes.c_long(10), ctypes.c_long(ring), b"user", b"left", 0) >= 0
                   for ring in (-4, -5))                 # KEYCTL_SEARCH in the user (session) keyring
        return len(others) * 1000 + len(files) * 10 + len(segments) + queues * 10**5 + keys * 10**6
"""


def test_nothing_a_test_leaves_behind_reaches_the_next(server: VerdictServer) -> None:
    baseline, result = probe(server, COUNT_LEFTOVERS)
    assert baseline is not None and baseline < 1000, result
    planted, _ = probe(server, """
        import os, subprocess, ctypes
        open("/sandbox/left.txt", "w").write("x")
        open("/tmp/left.txt", "w").write("x")
        for root, dirs, names in os.walk("/tmp"):   # and inside the folders the sandbox made there
            for d in dirs:
                try:
                    open(os.path.join(root, d, "left.txt"), "w").write("x")
                except OSError:
                    pass
            break
        os.makedirs("/tmp/locked/inner")
        os.chmod("/tmp/locked", 0)
        try:
            open("/dev/shm/left", "w").write("x")
        except OSError:
            pass
        libc = ctypes.CDLL(None)
        libc.shmget(0, 4096, 0o1600)            # IPC_PRIVATE, IPC_CREAT | 0600
        queues = sum(libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None) >= 0  # POSIX message queues
                     for name in (b"/left", b"/left2"))
        add_key = {"x86_64": 248, "aarch64": 217}[os.uname().machine]
        keys = sum(libc.syscall(add_key, b"user", b"left", b"x", 1, ctypes.c_long(ring)) >= 0
                   for ring in (-4, -5))         # the uid's user and user-session keyrings
        subprocess.Popen(["sleep", "1000"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            import time
            time.sleep(1000)
        def probe():
            return queues * 10 + keys
    """)
    assert planted == 22.0, "the test planted two message queues and two keys"
    found, result = probe(server, COUNT_LEFTOVERS)
    assert found == baseline, result


def test_the_server_is_out_of_a_tests_reach(server: VerdictServer) -> None:
    found, result = probe(server, """
        import os
        def probe():
            zygote, reachable = os.getppid(), 0
            for path in (f"/proc/{zygote}/mem", f"/proc/{zygote}/environ", f"/proc/{zygote}/fd/0"):
                try:
                    open(path, "rb").read(1)
                    reachable += 1
                except OSError:
                    pass
            for fd in os.listdir("/proc/self/fd"):   # the control pipes are closed in the child
                try:
                    if os.readlink(f"/proc/self/fd/{fd}").startswith(("pipe:", "socket:")):
                        reachable += 100
                except OSError:
                    pass
            return reachable
    """)
    assert found == 0.0, result


def test_a_tests_descriptors_are_numbered_as_in_a_sandbox_of_its_own(server: VerdictServer) -> None:
    """A test's code that guesses at the harness's report descriptor (see the forge_malformed_report case)
    must find what it would find in a one-shot sandbox: the same descriptors open, the same numbers. Above
    the first 19, a kernel zygote's test also holds the font files matplotlib's preload keeps: read-only."""
    cell = """
        import fcntl, os, stat
        def probe():
            found = 0
            for fd in map(int, os.listdir("/proc/self/fd")):
                if fd < 19:
                    found |= 1 << fd
                elif not (stat.S_ISREG(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & 3 == os.O_RDONLY):
                    found |= 1 << 40
            return found
    """
    warm, result = probe(server, cell)

    class OneShot:
        run = staticmethod(run_once)

    once, _ = probe(OneShot(), cell)   # type: ignore[arg-type]
    assert warm is not None and warm == once, (bin(int(warm or 0)), bin(int(once or 0)), result)


def test_a_test_cannot_tell_it_runs_beside_a_kernel(server: VerdictServer) -> None:
    """Code that behaves only where nbgrader's tests run ("ipykernel" loaded) is caught by the verdict, which
    must not look like a kernel: a kernel zygote's test sees the kernel's preload unloaded, as a one-shot does."""
    cell = """
        import sys
        def probe():
            kernel = ("ipykernel", "IPython", "zmq", "jupyter_client", "tornado", "kernel_child")
            return sum(1 << i for i, name in enumerate(kernel) if name in sys.modules) + 100 * len(sys.argv)
    """
    warm, result = probe(server, cell)

    class OneShot:
        run = staticmethod(run_once)

    once, _ = probe(OneShot(), cell)   # type: ignore[arg-type]
    assert warm is not None and warm == once == 100, (warm, once, result)


def test_limits_hold_per_test_and_the_server_goes_on(server: VerdictServer) -> None:
    looping, result = probe(server, """
        def probe():
            while True:
                pass
    """, Limits(**{**QUICK.__dict__, "cpu_seconds": 2, "wall_seconds": 4.0}))
    assert looping is None and result.killed_reason, result
    fine, _ = probe(server, "def probe():\n    return 7\n")
    assert fine == 7.0


def test_a_test_runs_with_the_collector_on_and_the_preload_frozen(server: VerdictServer) -> None:
    """gc.freeze before each fork: a test's collections skip the preload; its own garbage is collected."""
    frozen, result = probe(server, """
        import gc
        def probe():
            return gc.get_freeze_count() if gc.isenabled() else -1
    """)
    assert frozen is not None and frozen > 10_000, result


def test_a_tests_first_optimizer_finds_its_imports_preloaded(server: VerdictServer) -> None:
    """torch.optim's first optimizer imports torch._dynamo (a second of CPU): the preload holds it."""
    loaded, result = probe(server, """
        import sys
        def probe():
            return int("torch._dynamo" in sys.modules)
    """)
    assert loaded == 1.0, result


def test_a_test_that_kills_the_server_costs_only_a_restart(tmp_path: Path) -> None:
    """A verdict server's test runs as the server's user and can kill it (a kernel zygote's cannot: below)."""
    with VerdictServer(VERDICT_TEST) as server:
        server.start()
        with pytest.raises(ServerFailed):
            probe(server, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef probe():\n    return 1\n")
        fine, _ = probe(server, "def probe():\n    return 3\n")
        assert fine == 3.0
        # through the verdict, such a test is run again in a sandbox of its own and judged as usual
        hostile = synthetic.solved("ch2_implement", "gradient_descent", single_step_gradient_descent=(
            "import os, signal\n"
            "if os.getppid() != 1:\n"
            "    os.kill(os.getppid(), signal.SIGKILL)\n"
            "def single_step_gradient_descent(theta, learning_rate):\n"
            "    return theta - learning_rate * 2 * theta\n"))
        path = synthetic.write(hostile, tmp_path / "gradient_descent.ipynb")
        verdicts = trusted_verdict(path, "ch2_implement", "gradient_descent", seed=SEED, jobs=1, runner=server.run)
        assert {t: v.points for t, v in verdicts.items()} == {t: v.max_points for t, v in verdicts.items()}


@NO_ZYGOTE
def test_a_kernel_zygotes_test_cannot_touch_it_and_its_end_costs_only_a_restart() -> None:
    """Its tests run under a fresh user id each, with the test's caps and a folder holding nothing but
    what the test was given: the zygote (root of its sandbox) is out of their reach.
    If it ends all the same (killed from outside here) during a test, that test is run another way
    (ServerFailed, as a verdict server's), and the next test starts it again."""
    with kernel_zygote.KernelZygote(KERNEL_ZYGOTE) as server:
        server.start()
        refused, result = probe(server, """
            import os, signal
            def probe():
                try:
                    os.kill(os.getppid(), signal.SIGKILL)
                    return 0
                except PermissionError:
                    return 1
        """)
        assert refused == 1.0, result
        caps = f"""
            import os, resource
            def probe():
                limits = [resource.getrlimit(r)[0] for r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC,
                                                             resource.RLIMIT_NOFILE, resource.RLIMIT_FSIZE)]
                mine = limits == {[QUICK.memory_bytes, QUICK.processes, QUICK.open_files, QUICK.file_bytes]}
                return os.getuid() * 10 + (mine and os.listdir("/sandbox") == [])
        """
        identities = [probe(server, caps) for _ in range(2)]
        assert all(value is not None and value % 10 == 1 for value, _ in identities), identities
        uids = {value // 10 for value, _ in identities}
        assert len(uids) == 2 and min(uids) >= 1000, identities
        assert server.proc is not None
        first = server.proc.pid
        from autograder.sandbox.processes import kill_tree

        threading.Timer(1.0, kill_tree, args=(server.proc,)).start()
        with pytest.raises(ServerFailed):
            probe(server, "import time\ntime.sleep(30)\ndef probe():\n    return 1\n",
                  Limits(**{**QUICK.__dict__, "wall_seconds": 20.0}))
        fine, result = probe(server, "def probe():\n    return 3\n")
        assert fine == 3.0, result
        assert server.proc is not None and server.proc.pid != first


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_starts_whatever_descriptors_its_pipes_get(kind: str) -> None:
    """The sandbox opens its seccomp filter on a fixed descriptor: a control pipe that happened to get
    that number would be replaced by the filter file, and the server would not answer. In a fresh
    process every descriptor below that one is taken first, so the server's first pipe gets it."""
    script = textwrap.dedent("""
        import os, secrets
        from autograder.limits import CELL_TIMEOUT, VERDICT_TEST
        from autograder.sandbox import seccomp
        from autograder.verdict.program import parse_report
        from autograder.limits import KERNEL_ZYGOTE
        from autograder.sandbox.kernel_zygote import KernelZygote
        from autograder.verdict.server import VerdictServer

        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            if fd >= seccomp.FD - 1:
                break
        nonce = secrets.token_hex(8)
        program = {"nonce": nonce, "setup": "", "cells": [{"id": "c", "source": "def probe():\\n    return 42\\n"}],
                   "target": "c", "defer_target": False, "overrides": "", "kind": "call",
                   "params": {"function": "probe"}, "torch": False, "cases": [{"args": []}],
                   "cell_timeout": CELL_TIMEOUT}
        with (VerdictServer(VERDICT_TEST) if KIND == "verdict server" else KernelZygote(KERNEL_ZYGOTE)) as server:
            server.start()
            report = parse_report(server.run(program, VERDICT_TEST).stdout, nonce)
        print(report["results"][0]["out"]["v"] if report else "no report")
    """)
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"KIND = {kind!r}\n" + script], capture_output=True, text=True,
                          timeout=120)
    assert float(done.stdout.strip() or "nan") == 42, done.stdout + done.stderr[-2000:]
