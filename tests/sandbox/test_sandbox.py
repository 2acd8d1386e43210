"""The sandbox: nothing outside the submission directory, no network, no secrets, bounded runs."""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder.paths import REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR
from autograder.sandbox import run as sandbox
from autograder.sandbox.results import read_result_file
from autograder.sandbox.run import BASE_ENV, Limits, describe_protections, mode, run_sandboxed, sandboxed_argv

ALWAYS = {"test_without_isolation_nothing_runs_and_that_is_said",
          "test_unprivileged_mode_uses_a_user_namespace_and_no_uid_switch"}


@pytest.fixture(autouse=True)
def _needs_sandbox(request: pytest.FixtureRequest) -> None:
    if mode() == "none" and request.node.originalname not in ALWAYS:
        pytest.skip("no sandbox on this machine (bubblewrap missing or not permitted)")

QUICK = Limits(cpu_seconds=5, wall_seconds=8.0, memory_bytes=1 * 2**30, processes=32, open_files=64,
               file_bytes=1 * 2**20, tmp_bytes=8 * 2**20, output_bytes=64 * 2**10)


def run_python(code: str, workdir: Path, limits: Limits = QUICK, **kwargs) -> sandbox.Result:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.py").write_text(textwrap.dedent(code))
    return run_sandboxed([sys.executable, "-I", "main.py"], workdir, limits, **kwargs)


def test_protections_are_described_honestly() -> None:
    text = "\n".join(describe_protections())
    assert "network" in text and "file system" in text
    if mode() == "bwrap-root":
        assert "fresh unprivileged uid" in text
    else:
        assert "NOT a separate user" in text


def test_network_is_unreachable_even_on_loopback(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def serve() -> None:
        end = time.monotonic() + 6
        while time.monotonic() < end:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    result = run_python(f"""
        import socket
        for host in ("127.0.0.1", "10.0.2.2", "1.1.1.1"):
            try:
                socket.create_connection((host, {port}), timeout=1).close()
                print(host, "CONNECTED")
            except OSError as e:
                print(host, "refused", type(e).__name__)
        """, tmp_path / "w")
    thread.join()
    server.close()
    assert "CONNECTED" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 3, result
    assert accepted == []


SYSTEM_DIRS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "tmp", "sandbox"}


def visible_folders() -> dict[str, set[str]]:
    """What listing each folder on the way to a Python root may show, wherever the checkout and its
    Python lie (/home/..., /var/tmp/..., /tmp/...): the next step towards a root, and at / the system's
    own folders too. Nothing else of the host's folders above a root."""
    roots = [Path(root) for root in sandbox._python_roots()]
    listed: dict[str, set[str]] = {"/": set(SYSTEM_DIRS)}
    for root in roots:
        for depth in range(1, len(root.parts)):
            folder = Path(*root.parts[:depth])
            if not any(folder == r or r in folder.parents for r in roots):
                listed.setdefault(str(folder), set()).add(root.parts[depth])
    return listed


def test_files_outside_the_workdir_cannot_be_read(tmp_path: Path) -> None:
    gradebook = REPO_ROOT / "test-artifacts" / "sandbox-fake-gradebook.db"
    gradebook.parent.mkdir(exist_ok=True)
    gradebook.write_text("fake gradebook\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("a file the test places outside the workdir\n")
    secrets = [gradebook, outside, SOURCE_DIR / "ch1_the_idea" / "the_idea.ipynb",
               SOLUTIONS_DIR / "ch1_the_idea" / "the_idea.ipynb",
               REPO_ROOT / "autograder" / "verdict" / "exercises" / "ch1_the_idea.py",
               REPO_ROOT / "pyproject.toml", Path.home() / ".gitconfig", Path("/etc/passwd")]
    listed = visible_folders()
    try:
        result = run_python(f"""
            import json, os
            for path in {[str(p) for p in secrets]!r}:
                try:
                    with open(path) as fh:
                        fh.read(10)
                    print("READ", path)
                except OSError as e:
                    print("denied", path, type(e).__name__)
            try:
                import autograder.verdict.exercises
                print("IMPORTED the grader's package")
            except ImportError:
                print("no grader package")
            print("LISTED", json.dumps({{folder: sorted(os.listdir(folder)) for folder in {sorted(listed)!r}}}))
            """, tmp_path / "w")
    finally:
        gradebook.unlink()
    assert "READ" not in result.stdout and "IMPORTED" not in result.stdout, result.stdout
    assert result.stdout.count("denied") == len(secrets)
    seen = json.loads(result.stdout.split("LISTED ", 1)[1])
    for folder, allowed in listed.items():
        assert set(seen[folder]) <= allowed, f"{folder} shows {sorted(set(seen[folder]) - allowed)}"
    assert {Path(root).parts[1] for root in sandbox._python_roots()} <= set(seen["/"]), seen


def test_nothing_outside_the_workdir_can_be_written(tmp_path: Path) -> None:
    targets = [tmp_path / "outside.txt", REPO_ROOT / "course" / "sandbox-pwned.txt",
               Path(sys.prefix) / "sandbox-pwned.txt", Path("/usr/sandbox-pwned.txt"), Path("/sandbox-pwned.txt")]
    workdir = tmp_path / "w"
    result = run_python(f"""
        for path in {[str(p) for p in targets]!r} + ["inside.txt", "/tmp/private.txt"]:
            try:
                with open(path, "w") as fh:
                    fh.write("x")
                print("WROTE", path)
            except OSError as e:
                print("denied", path, type(e).__name__)
        """, workdir)
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("WROTE")] == \
        ["inside.txt", "/tmp/private.txt"], result
    assert not any(p.exists() for p in targets)
    assert (workdir / "inside.txt").read_text() == "x"
    # /tmp is private to the run: the next run does not see it
    again = run_python("import os; print(os.listdir('/tmp'))", workdir)
    assert "private.txt" not in again.stdout


def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GD_SANDBOX_SECRET", "the grader's secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    result = run_python("import os, json; print(json.dumps(dict(os.environ)))", tmp_path / "w",
                        env={"GD_GRADING_SEED": "42"})
    env = json.loads(result.stdout)
    assert "GD_SANDBOX_SECRET" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert set(env) <= set(BASE_ENV) | {"PWD", "GD_GRADING_SEED"}
    assert env["GD_GRADING_SEED"] == "42"
    with pytest.raises(ValueError):
        run_sandboxed(["true"], tmp_path / "w", QUICK, env={"LD_PRELOAD": "/x.so"})


def test_runs_unprivileged_and_cannot_see_the_grader(tmp_path: Path) -> None:
    result = run_python(f"""
        import os, signal
        print("uid", os.getuid(), os.geteuid())
        print([l for l in open("/proc/self/status") if l.startswith(("CapEff", "NoNewPrivs"))])
        try:
            os.kill({os.getpid()}, 0)
            print("SEES GRADER")
        except OSError as e:
            print("grader invisible", type(e).__name__)
        print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        """, tmp_path / "w")
    assert "SEES GRADER" not in result.stdout
    uid = int(result.stdout.split()[1])
    if mode() == "bwrap-root":
        assert uid != 0 and uid >= sandbox._UID_BASE
        assert "CapEff:\\t0000000000000000" in result.stdout and "NoNewPrivs:\\t1" in result.stdout
    pids = json.loads(result.stdout.split("pids", 1)[1].strip())
    assert max(pids) < 10, "only the sandbox's own few processes are visible"


@pytest.mark.parametrize("name, code, reason", [
    ("infinite loop", "while True: pass", "CPU time"),   # 2 CPU seconds: well before the wall clock
    ("sleep", "import time; time.sleep(3600)", "wall-clock"),
    ("memory hog", "hoard = []\nwhile True: hoard.append(bytearray(50 * 2**20))", "memory"),
    ("output flood", "import sys\nwhile True: sys.stdout.write('x' * 65536)", "output"),
    ("fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", "wall-clock"),
    ("kill itself", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("stop itself", "import os, signal; os.kill(os.getpid(), signal.SIGSTOP)", "wall-clock"),
])
def test_hostile_runs_end_with_a_reason_in_bounded_time(tmp_path: Path, name: str, code: str, reason: str) -> None:
    limits = dataclasses.replace(QUICK, cpu_seconds=2, wall_seconds=30.0) if reason == "CPU time" else QUICK
    mark = secrets.token_hex(8)
    start = time.monotonic()
    result = run_python(code, tmp_path / "w", limits, env={MARK: mark})
    elapsed = time.monotonic() - start
    assert elapsed < limits.wall_seconds + 5, f"{name} took {elapsed:.1f}s"
    assert result.killed_reason and reason in result.killed_reason, result
    assert len(result.stdout) <= QUICK.output_bytes + 100
    if name == "fork bomb":
        time.sleep(0.5)
        assert not marked_processes(mark), "the fork bomb's processes outlived the run"


MARK = "GD_TEST_RUN_MARK"


def marked_processes(mark: str) -> list[int]:
    """The processes started by this test's own run: they carry its mark in their environment
    (other grading runs on the machine have sandboxes too, and are none of this test's business)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if needle in fh.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_os_exit_and_background_children_are_contained(tmp_path: Path) -> None:
    mark = secrets.token_hex(8)
    result = run_python("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(3600)   # a daemon left behind
        print("bye", flush=True)
        os._exit(7)
        """, tmp_path / "w", env={MARK: mark})
    assert result.returncode == 7 and result.killed_reason is None and "bye" in result.stdout
    time.sleep(0.5)
    assert not marked_processes(mark), "a background child outlived the run"


def test_writable_places_are_capped_in_total(tmp_path: Path) -> None:
    limits = dataclasses.replace(QUICK, file_bytes=2**20, folder_bytes=8 * 2**20, tmp_bytes=8 * 2**20,
                                 shm_bytes=4 * 2**20)
    workdir = tmp_path / "w"
    result = run_python("""
        import os
        for place in ("/sandbox/fill", "/tmp/fill", "/dev/shm/fill"):
            os.makedirs(place, exist_ok=True)
            written = 0
            for n in range(64):                       # 64 MiB if nothing stops it
                try:
                    with open(f"{place}/{n}", "wb") as fh:
                        fh.write(b"x" * 2**20)
                    written += 1
                except OSError:
                    break
            print(place, written)
        """, workdir, limits)
    written = {line.split()[0]: int(line.split()[1]) for line in result.stdout.splitlines()}
    assert written["/tmp/fill"] <= 8 and written["/dev/shm/fill"] <= 4, result
    if sandbox.storage.available():
        assert written["/sandbox/fill"] <= 8, result
        on_host = sum(p.stat().st_size for p in workdir.rglob("*") if p.is_file())
        assert on_host <= limits.folder_bytes
        assert not os.path.ismount(workdir), "the folder's tmpfs is gone after the run"
        assert "size-capped" in " ".join(describe_protections())
    else:
        assert "NOT in force: a total cap" in " ".join(describe_protections())


def test_no_user_namespace_inside_the_sandbox(tmp_path: Path) -> None:
    result = run_python("""
        import ctypes, os, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        print("unshare", libc.unshare(0x10000000), ctypes.get_errno())     # CLONE_NEWUSER
        tool = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none /tmp && echo MOUNTED"],
                              capture_output=True, text=True)
        print(tool.stdout.strip() or "refused")
        """, tmp_path / "w")
    assert result.stdout.split()[:3] == ["unshare", "-1", "1"], result
    assert "MOUNTED" not in result.stdout and "refused" in result.stdout, result


def test_stderr_and_stdin_are_plumbed(tmp_path: Path) -> None:
    result = run_python("import sys; data = sys.stdin.read(); print(data.upper()); print('warn', file=sys.stderr)",
                        tmp_path / "w", input="hello")
    assert result.stdout.strip() == "HELLO" and result.stderr.strip() == "warn" and result.returncode == 0


def test_sandboxed_argv_is_a_plain_command_line(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    workdir.mkdir()
    (workdir / "main.py").write_text("import os; print(os.getcwd())")
    argv = sandboxed_argv([sys.executable, "-I", "main.py"], workdir, QUICK)
    try:
        assert all(isinstance(a, str) for a in argv)
        assert str(REPO_ROOT / "autograder" / "source") not in argv and str(SOLUTIONS_DIR) not in argv
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={})
        assert out.stdout.strip() == sandbox.SANDBOX_WORKDIR
    finally:
        sandbox.storage.release(workdir)
    assert not os.path.ismount(workdir)


def test_unprivileged_mode_uses_a_user_namespace_and_no_uid_switch(tmp_path: Path) -> None:
    argv = sandbox._build_argv(["python3", "main.py"], tmp_path, QUICK, "bwrap-user", uid=12345)
    assert "--unshare-user" in argv and "--disable-userns" in argv and "--unshare-net" in argv
    assert not any("setpriv" in a for a in argv)
    root_argv = sandbox._build_argv(["python3", "main.py"], tmp_path, QUICK, "bwrap-root", uid=12345)
    assert "--reuid=12345" in root_argv and "--no-new-privs" in root_argv


def test_without_isolation_nothing_runs_and_that_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "mode", lambda: "none")
    assert "NO isolation" in describe_protections()[0]
    with pytest.raises(sandbox.SandboxUnavailable):
        run_sandboxed(["true"], tmp_path, QUICK)
    with pytest.raises(sandbox.SandboxUnavailable):
        sandboxed_argv(["true"], tmp_path, QUICK)


def test_a_workdir_that_would_expose_the_repository_is_refused() -> None:
    for workdir in (REPO_ROOT, REPO_ROOT.parent, SOURCE_DIR / "ch1_the_idea", SOLUTIONS_DIR):
        with pytest.raises(sandbox.SandboxUnavailable):
            sandboxed_argv(["true"], workdir, QUICK)


def test_results_are_read_back_without_following_links(tmp_path: Path) -> None:
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("gradebook contents")
    workdir = tmp_path / "w"
    result = run_python(f"""
        import os
        os.symlink({str(secret)!r}, "out.ipynb")
        os.makedirs("sub", exist_ok=True)
        os.symlink("/", "sub/root")
        os.mkfifo("fifo")
        with open("ok.json", "w") as fh:
            fh.write("{{}}")
        """, workdir)
    assert result.returncode == 0, result
    assert read_result_file(workdir, "ok.json") == b"{}"
    for bad in ("out.ipynb", "sub/root/etc/passwd", "fifo", "../grader-secret.txt", str(secret)):
        with pytest.raises((OSError, ValueError)):
            read_result_file(workdir, bad)
    with pytest.raises(ValueError):
        read_result_file(workdir, "ok.json", max_bytes=1)
