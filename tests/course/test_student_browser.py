"""The student's view, in a real browser: JupyterLab runs every solution notebook without errors.

Starts `jupyter lab` on 127.0.0.1 (free port, token, no browser) over a temporary copy of
solutions/ and course/, and drives headless Chromium with Playwright. For each chapter it opens
the solution notebook (reference answers filled in), clears the outputs, runs all cells, waits for
the kernel to be idle, and checks there is no error output and that the figures rendered; in
chapter 2 it also moves the learning-rate slider and sees the figure redraw. It opens the release
notebooks from course/ and sees the exercise stubs. Screenshots go to test-artifacts/screenshots/.

Needs the Debian package `chromium` (/usr/bin/chromium); installs nothing itself.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.paths import COURSE_DIR, REPO_ROOT, SOLUTIONS_DIR, assignments, notebooks

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                 "--disable-default-apps", "--mute-audio"]
RUN_TIMEOUT_MS = 180_000  # generous: a busy CI machine is slow
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"  # the notebook on show

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install the Debian package "
                       "`chromium` (apt-get install chromium) to run the browser test"),
    pytest.mark.timeout(600),
]

# JupyterLab user settings for the test: every cell in the DOM, no news or update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def figure_count(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """A running JupyterLab over copies of solutions/ and course/; yields (base URL, token)."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copytree(SOLUTIONS_DIR, root / "solutions", ignore=ignore)
    shutil.copytree(COURSE_DIR, root / "course", ignore=ignore)
    settings = tmp / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
           "MPLBACKEND": "Agg"}
    log = (tmp / "jupyter-lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("jupyter lab did not start:\n" + (tmp / "jupyter-lab.log").read_text()[-3000:])
            time.sleep(0.3)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
    shutdown_kernels(*lab)


def shutdown_kernels(base: str, token: str) -> None:
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/kernels", headers=headers)) as reply:
        kernels = json.load(reply)
    for kernel in kernels:
        request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}", method="DELETE", headers=headers)
        urllib.request.urlopen(request).close()


def open_notebook(page, lab, relative: str) -> None:
    """Open one notebook alone, in a fresh workspace (nothing restored from an earlier test)."""
    base, token = lab
    workspace = secrets.token_hex(4)
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{relative}?reset&token={token}")
    page.locator(f"{NOTEBOOK} .jp-Cell").first.wait_for()
    wait_idle(page)


def wait_idle(page, timeout: int = RUN_TIMEOUT_MS) -> None:
    """Until the notebook's kernel is idle and no cell is queued or running."""
    page.wait_for_function(
        """(notebook) => {
            const indicator = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            const status = indicator && indicator.getAttribute('data-status');
            const busy = [...document.querySelectorAll(notebook + ' .jp-InputArea-prompt')]
                .some(p => p.textContent.includes('*'));
            return status === 'idle' && !busy;
        }""", arg=NOTEBOOK, timeout=timeout)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=item).first.click()


def run_all(page) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function("(nb) => document.querySelectorAll(nb + ' .jp-OutputArea-output').length === 0",
                           arg=NOTEBOOK)
    for attempt in range(3):  # a click that lands while a fresh JupyterLab is still settling is retried
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(
                """(nb) => [...document.querySelectorAll(nb + ' .jp-CodeCell .jp-InputArea-prompt')]
                    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))""", arg=NOTEBOOK, timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    # the last code cell gets an execution count once everything above it has run
    page.wait_for_function(
        """(nb) => {
            const prompts = [...document.querySelectorAll(nb + ' .jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", arg=NOTEBOOK, timeout=RUN_TIMEOUT_MS)
    wait_idle(page)


def output_texts(page) -> list[str]:
    return page.locator(f"{NOTEBOOK} .jp-OutputArea-output").all_inner_texts()


@pytest.mark.parametrize("aid", assignments())
def test_solution_runs_in_jupyterlab(lab, page, screenshots: Path, aid: str) -> None:
    (name,) = notebooks(aid)
    open_notebook(page, lab, f"solutions/{aid}/{name}.ipynb")
    run_all(page)
    expected = figure_count(SOLUTIONS_DIR / aid / f"{name}.ipynb")
    images = page.locator(f"{NOTEBOOK} .jp-OutputArea-output img")
    images.nth(expected - 1).wait_for()
    page.wait_for_function(
        "(nb) => [...document.querySelectorAll(nb + ' .jp-OutputArea-output img')]"
        ".every(img => img.complete && img.naturalWidth > 100)", arg=NOTEBOOK)
    assert images.count() >= expected
    # JupyterLab draws a PNG without an alt attribute: each figure's text description is the
    # collapsed "Description of the figure" right under it
    descriptions = page.locator(f"{NOTEBOOK} .jp-OutputArea-output details", has_text="Description of the figure")
    assert descriptions.count() == images.count()
    for i in range(descriptions.count()):
        assert len(descriptions.nth(i).text_content() or "") > 80, f"figure {i} has no description"

    tracebacks = page.locator(f'{NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                              has_text="Traceback")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    for text in output_texts(page):
        assert "Traceback" not in text and "Error" not in text, text
    assert any("passed" in text for text in output_texts(page)), "the visible checks did not print"

    images.first.evaluate("img => img.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(screenshots / f"{aid}-solution.png"))


def test_learning_rate_slider_redraws(lab, page, screenshots: Path) -> None:
    open_notebook(page, lab, "solutions/ch2_implement/gradient_descent.ipynb")
    run_all(page)
    widget = f"{NOTEBOOK} .jp-OutputArea-output .widget-output"
    page.locator(f"{NOTEBOOK} .jp-OutputArea-output .widget-slider").first.wait_for()
    page.locator(f"{widget} img").first.wait_for()
    before_src = page.locator(f"{widget} img").first.get_attribute("src")
    before_text = page.locator(f"{widget} details").first.text_content()
    assert "learning rate 0.2:" in before_text
    handle = page.locator(f"{NOTEBOOK} .widget-slider .noUi-handle").first  # the learning-rate slider
    handle.focus()
    for _ in range(4):
        handle.press("ArrowRight")
    page.wait_for_function(
        """([widget, before]) => {
            const img = document.querySelector(widget + ' img');
            return img && img.complete && img.getAttribute('src') !== before;
        }""", arg=[widget, before_src], timeout=30_000)
    after_text = page.locator(f"{widget} details").first.text_content()
    assert "learning rate 0.2:" not in after_text, after_text
    page.locator(f"{widget} img").first.evaluate("img => img.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(screenshots / "ch2_implement-slider.png"))


@pytest.mark.parametrize("aid", assignments())
def test_release_shows_the_stubs(lab, page, screenshots: Path, aid: str) -> None:
    (name,) = notebooks(aid)
    open_notebook(page, lab, f"course/{aid}/{name}.ipynb")
    page.locator(f"{NOTEBOOK} .jp-CodeCell .cm-content", has_text="raise NotImplementedError()").first.wait_for()
    code = "\n".join(page.locator(f"{NOTEBOOK} .jp-CodeCell .cm-content").all_inner_texts())
    assert "raise NotImplementedError()" in code
    assert "YOUR CODE HERE" in code
    assert "BEGIN SOLUTION" not in code and "HIDDEN TESTS" not in code
    stub = page.locator(f"{NOTEBOOK} .jp-CodeCell", has_text="raise NotImplementedError()").first
    stub.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"{aid}-release.png"))


def test_validate_button_reports_the_stubs(lab, page, screenshots: Path) -> None:
    """nbgrader's Validate button (same code as `nbgrader validate`) on a release notebook."""
    open_notebook(page, lab, "course/ch1_the_idea/the_idea.ipynb")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar").get_by_text(
        "Validate", exact=True).first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "() => /failed|passes/i.test((document.querySelector('.jp-Dialog') || {}).textContent || '')",
        timeout=RUN_TIMEOUT_MS)
    text = dialog.text_content()
    assert "Validation Results" in text and "The following cell failed" in text, text[:2000]
    assert "not attempted yet" in text, text[:2000]
    page.screenshot(path=str(screenshots / "ch1_the_idea-validate.png"))
