"""`grade --db postgresql://...`: the same nbgrader gradebook on a real PostgreSQL server.

The test starts a throwaway cluster itself (initdb + pg_ctl in a temporary folder, 127.0.0.1, a free
port, run as a non-root user). It is skipped, saying why, when the PostgreSQL binaries are absent
(Debian: `apt-get install -y postgresql`).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.grading.outdir import normalize_db_url
from support import synthetic
from support.grade_fixtures import CH1, CH2, NB1, NB2, by_student, env, grade, put, rows, solved_with_wrong

PASSWORD = "s3cret-Pa55"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install -y postgresql")
    user = None
    if os.geteuid() == 0:  # the server refuses to run as root
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if user is None:
            pytest.skip("running as root and no 'postgres' user to run the server as")
    base = Path(tempfile.mkdtemp(prefix="grade-pg-"))
    data = base / "data"
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", user.pw_name, "--"]
    else:
        prefix = []
    port = _free_port()

    def run(*cmd):
        return subprocess.run([*prefix, *map(str, cmd)], check=True, capture_output=True, text=True,
                              cwd=str(base))

    # local socket: trust (to create the database); TCP: the password, as a real server asks for it
    (base / "pwfile").write_text(PASSWORD + "\n")
    if user is not None:
        os.chown(base / "pwfile", user.pw_uid, user.pw_gid)
    run(bin_dir / "initdb", "-D", data, "-U", "grader", "--auth-local=trust", "--auth-host=scram-sha-256",
        "--pwfile", base / "pwfile", "-E", "UTF8", "--no-sync")
    run(bin_dir / "pg_ctl", "-D", data, "-l", base / "server.log", "-w", "-t", "60", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(bin_dir / "createdb", "-h", str(base), "-p", port, "-U", "grader", "gradebook")
        yield f"postgresql://grader:{PASSWORD}@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=str(base))
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_gradebook(tmp_path, postgres_url):
    from nbgrader.api import Gradebook

    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs, "alice", CH2, NB2, synthetic.solved(CH2, NB2))
    put(subs, "bob", CH2, NB2, solved_with_wrong(CH2, NB2, 0))
    put(subs, "bob", CH1, NB1, synthetic.solved(CH1, NB1))
    (subs / "carol" / CH1).mkdir(parents=True)

    first = grade(subs, "--out", out, "--db", postgres_url, "--workers", "2", check=True)
    assert not (out / "gradebook.db").exists(), "with --db the gradebook lives on the server only"
    grades = by_student(out / "grades.csv")
    assert grades[("alice", CH2)]["status"] == "ok" and float(grades[("alice", CH2)]["score"]) == 5.0
    assert float(grades[("bob", CH2)]["score"]) == 3.0
    assert float(grades[("bob", CH1)]["score"]) == 4.0
    assert grades[("carol", CH1)]["status"] == "missing_notebook"
    assert len(rows(out / "tests.csv")) == 3 + 3 + 3  # ch2: 2 tests + 1 written answer; ch1: 3 tests

    # the password stays out of OUT/nbgrader_config.py, yet the config nbgrader loads there opens the gradebook
    config_text = (out / "nbgrader_config.py").read_text()
    assert PASSWORD not in config_text and "GRADEBOOK_URL" in config_text
    secret = out / ".grading" / "gradebook-url"
    assert secret.stat().st_mode & 0o777 == 0o600
    students = [sys.executable, "-m", "nbgrader", "db", "student", "list"]  # loads OUT/nbgrader_config.py
    loaded = subprocess.run(students, cwd=out, capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in env().items() if k != "GRADEBOOK_URL"})
    assert loaded.returncode == 0 and "alice" in loaded.stdout, loaded.stdout + loaded.stderr[-2000:]
    wrong = subprocess.run(students, cwd=out, capture_output=True, text=True, timeout=120,
                           env={**env(), "GRADEBOOK_URL": postgres_url.replace(PASSWORD, "wrong")})
    assert wrong.returncode != 0, "$GRADEBOOK_URL comes first"

    with Gradebook(normalize_db_url(postgres_url), "gradient-descent") as gb:
        assert {s.id for s in gb.students} >= {"alice", "bob", "carol"}
        assert gb.find_submission(CH2, "alice").score == 5.0
        # a grader scores the written answer in formgrader
        written = gb.find_grade("what_do_you_notice", NB2, CH2, "alice")
        written.manual_score = 2.0
        written.needs_manual_grade = False
        gb.db.commit()

    again = grade(subs, "--out", out, "--db", postgres_url, check=True)
    assert "graded 0 submission(s)" in again.stdout and "skipped 3" in again.stdout, again.stdout
    grades = by_student(out / "grades.csv")
    assert float(grades[("alice", CH2)]["score"]) == 7.0 == float(grades[("alice", CH2)]["max_score"])

    assert first.returncode == again.returncode == 0


def test_unreachable_database_is_an_instructor_error(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
    port = _free_port()  # nothing listens there
    result = grade(subs, "--out", out, "--db", f"postgresql://grader@127.0.0.1:{port}/gradebook")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert len(message) == 1 and "--db" in message[0], result.stderr
