"""What an instructor opens after a graded batch, in a real browser: nbgrader's formgrader and the feedback.

`formgrader(out)` runs `jupyter server` with nbgrader's formgrader over OUT on 127.0.0.1 (free port,
token); `visit(browser, url)` opens a page in a fresh Chromium context and reports every request
it made, every dialog, and whether any student script left its mark (`window.__student_script_ran`).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]
# The pages' own templates (formgrader's and nbconvert's) load MathJax / require.js from here, not the student.
TEMPLATE_HOSTS = {"cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com"}


@dataclass
class Visit:
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    script_mark: object = None
    text: str = ""
    tables: int = 0

    def foreign_requests(self, own_origin: str) -> list[str]:
        """Requests to anywhere but the page's own server (or its file) and the templates' CDNs."""
        own = urlsplit(own_origin).netloc
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("file", "data", "blob", "about")
                and urlsplit(url).netloc != own and urlsplit(url).hostname not in TEMPLATE_HOSTS]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(argv: list[str], ready_url: str, cwd: Path, env: dict, log_path: Path) -> Iterator[None]:
    """A server started by the test: up once `ready_url` answers 200, stopped when the block ends."""
    log = log_path.open("w")
    server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(f"{argv[2:4]} did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.3)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextlib.contextmanager
def formgrader(out: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    """nbgrader's formgrader over the graded OUT; yields (base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "JUPYTER_CONFIG_DIR": str(scratch / "config"), "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
           "JUPYTER_DATA_DIR": str(scratch / "data")}
    argv = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={out}",
            "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True, "
            "'autograder.grading.formgrader_guard': True}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
    base = f"http://127.0.0.1:{port}"
    with serving(argv, f"{base}/formgrader/?token={token}", out, env, scratch / "formgrader.log"):
        yield base, token


def visit(browser, url: str, screenshot: Path | None = None) -> Visit:
    """Open url as a person would (load, wait for the network to settle, hover and click around)."""
    seen = Visit()
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=10_000)
        for selector in ("img", "a", "details", "input", ".text_cell_render"):
            for element in page.query_selector_all(selector)[:20]:
                with contextlib.suppress(Exception):
                    element.hover(timeout=1000)
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(500)
        seen.script_mark = page.evaluate("() => window.__student_script_ran")
        seen.text = page.inner_text("body")
        seen.tables = page.locator("table:has-text('blows up')").count()
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return seen
