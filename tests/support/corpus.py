"""The adversarial corpus (tests/adversarial/) and what its hostile cases are checked against."""
from __future__ import annotations

import hashlib
import importlib.util
import re
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SECRET_ENV = "GD_ADVERSARIAL_SECRET"

GENERATE = Path(__file__).resolve().parents[1] / "adversarial" / "generate.py"
_spec = importlib.util.spec_from_file_location("adversarial_generate", GENERATE)
corpus = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = corpus
_spec.loader.exec_module(corpus)
CASES = {c.name: c for c in corpus.load_cases()}


def tree_digest(*folders: Path) -> dict[str, str]:
    digest = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def student_id(case_name: str) -> str:
    """The id a case's submission is handed in under."""
    return re.sub(r"[^a-z0-9]+", "-", case_name.lower())


@dataclass
class Staged:
    """A class of hostile submissions laid out as an instructor's folder, and what they aim at."""
    subs: Path                # the submissions folder, one student per case plus an honest one
    listener: Listener        # a server on the host's 127.0.0.1 no submission may reach
    marker: Path              # a file outside the sandbox no submission may create
    fake_gradebook: Path      # a gradebook-looking file outside, no submission may read or change


def stage(work: Path, names: Iterable[str], fake_gradebook_text: str) -> Staged:
    """Build the named cases with their placeholders filled in, and lay them out under work/submissions."""
    from autograder.paths import REPO_ROOT
    from support import synthetic

    subs = work / "submissions"
    listener = Listener()
    marker = work / "outside" / "marker.txt"
    marker.parent.mkdir(parents=True)
    fake_gradebook = work / "outside" / "gradebook.db"
    fake_gradebook.write_text(fake_gradebook_text)
    other = synthetic.write(synthetic.solved("ch1_the_idea", "the_idea"),
                            subs / "honest-reference" / "ch1_the_idea" / "the_idea.ipynb")
    placeholders = {"REPO": str(REPO_ROOT), "PORT": str(listener.port), "MARKER": str(marker),
                    "OTHER": str(other), "GRADEBOOK": str(fake_gradebook)}
    for name in names:
        case = CASES[name]
        built = corpus.build(case, work / "built", placeholders)
        corpus.place(case, built, subs / student_id(name), placeholders)
    return Staged(subs, listener, marker, fake_gradebook)
