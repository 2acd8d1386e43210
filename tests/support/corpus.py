"""The adversarial corpus (tests/adversarial/) and what its hostile cases are checked against."""
from __future__ import annotations

import hashlib
import importlib.util
import socket
import sys
import threading
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
