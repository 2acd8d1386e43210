"""Kernels forked from the warm kernel zygote: each one a fresh identity and nothing left by the one before.

Real kernels (nbclient drives them, as nbgrader's Execute does), one zygote for the module.
"""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.sandbox import kernel_zygote
from autograder.sandbox.kernel import SandboxedKernelManager

KIT = Path(__file__).resolve().parents[2] / "autograder" / "student_kit"

pytestmark = pytest.mark.skipif(not kernel_zygote.available(),
                                reason="the kernel zygote needs bubblewrap as root")

LOOK = textwrap.dedent("""
    import gc, json, os, sys
    def procs():
        found = []
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    found.append(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
                except OSError:
                    pass
        return found
    status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())
    try:
        os.kill(os.getppid() if os.getppid() != 1 else 2, 9)
        killed_parent = True
    except PermissionError:
        killed_parent = False
    seen = {'uid': os.getuid(), 'cap_eff': status['CapEff'].strip(), 'cap_bnd': status['CapBnd'].strip(),
            'tmp': sorted(os.listdir('/tmp')), 'shm': sorted(os.listdir('/dev/shm')),
            'sandbox': sorted(os.listdir('/sandbox')), 'sleepers': [p for p in procs() if 'sleep 4242' in p],
            'killed_parent': killed_parent, 'helper': open('helper.py').read(),
            'collector_on': gc.isenabled(), 'frozen': gc.get_freeze_count(),
            'grader_modules': sorted(set(sys.modules) & {'harness', 'kernel_child', 'zygote'}),
            'shm_bytes': os.statvfs('/dev/shm').f_blocks * os.statvfs('/dev/shm').f_frsize}
    print(json.dumps(seen))
""")
LEAVE = textwrap.dedent("""
    import subprocess
    open('/tmp/left-by-first', 'w').write('x')
    open('/dev/shm/left-by-first', 'w').write('x')
    open('/sandbox/left-by-first', 'w').write('x')
    subprocess.Popen(['sleep', '4242'], start_new_session=True)
""")
# Files under the per-file cap, written until the folder is full: its total cap must stop them.
FILL = textwrap.dedent("""
    import errno, json
    written, error = 0, None
    chunk = b'x' * 2**20
    for n in range(400):
        try:
            with open(f'/sandbox/fill-{n}', 'wb') as fh:
                for _ in range(32):
                    fh.write(chunk)
                    fh.flush()
                    written += len(chunk)
        except OSError as e:
            error = errno.errorcode.get(e.errno, str(e.errno))
            break
    print(json.dumps({'written': written, 'error': error}))
""")

# A log-scale figure with mathtext, saved by course_kit's own png_bundle: its tick labels come from
# the mathtext cache the zygote filled, in a forked child; the bytes must be a fresh kernel's.
DRAW = textwrap.dedent("""
    import hashlib, json
    from matplotlib.figure import Figure
    from course_kit import png_bundle
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.semilogy(range(1, 30), [0.5 ** k for k in range(1, 30)], "o-", label=r"$|\\theta_k - \\theta^*|$")
    ax.legend()
    ax.set_xlabel(r"step $k$")
    print(json.dumps({"png": hashlib.sha256(png_bundle(fig, "alt")["image/png"].encode()).hexdigest()}))
""")


# The traceback form the kernel was started with (nbgrader's Execute.extra_arguments, see nbgrader_config.py)
MODE = 'import json; print(json.dumps({"mode": get_ipython().InteractiveTB.mode}))'
PLAIN = ["--InteractiveShell.xmode=Plain"]


def run_kernel(folder: Path, *cells: str, forked: bool = True, manager=None, extra_arguments=()) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    manager = manager or (kernel_zygote.ZygoteKernelManager if forked else None)
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                   extra_arguments=list(extra_arguments),
                   **({"kernel_manager_class": manager} if manager else {})).execute()
    text = nb.cells[-1].outputs[0]["text"]
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("notebook-folder")
    (folder / "helper.py").write_text("HELPER = 1\n")
    shutil.copy(KIT / "course_kit.py", folder / "course_kit.py")
    (folder / "other.ipynb").write_text("{}")
    assert kernel_zygote.ready()
    try:
        first = run_kernel(folder, LEAVE, LOOK)
        second = run_kernel(folder, LOOK)
        third = run_kernel(folder, LOOK)
        filled = run_kernel(folder, FILL)
        after_filled = run_kernel(folder, LOOK)
        drawn = [run_kernel(folder, DRAW)["png"] for _ in range(2)]
        planted = tmp_path_factory.mktemp("planted-options")
        (planted / "kernel-arguments.json").write_text('["--InteractiveShell.xmode=Verbose"]')
        modes = {"forked": run_kernel(folder, MODE, extra_arguments=PLAIN)["mode"],
                 "forked, a planted file": run_kernel(planted, MODE)["mode"],
                 "fresh sandboxed": run_kernel(folder, MODE, manager=SandboxedKernelManager,
                                               extra_arguments=PLAIN)["mode"]}
    finally:
        kernel_zygote.stop_kernel_zygote()
    return first, second, third, filled, after_filled, drawn, run_kernel(folder, DRAW, forked=False)["png"], modes


def test_each_kernel_has_a_fresh_unprivileged_identity(kernels) -> None:
    uids = [k["uid"] for k in kernels[:3]]
    assert len(set(uids)) == 3 and min(uids) >= 1000
    for k in kernels[:3]:
        assert int(k["cap_eff"], 16) == 0 and int(k["cap_bnd"], 16) == 0, k
        assert k["killed_parent"] is False, "a kernel could signal the zygote"


def test_a_kernel_holds_no_grader_module_and_its_limits_sizes(kernels) -> None:
    from autograder.limits import KERNEL_ZYGOTE

    for k in kernels[:3]:
        assert k["grader_modules"] == [], k["grader_modules"]
        assert k["shm_bytes"] == KERNEL_ZYGOTE.shm_bytes, (k["shm_bytes"], KERNEL_ZYGOTE.shm_bytes)


def test_a_kernel_sees_its_own_folder_only(kernels) -> None:
    first, second, *_ = kernels
    assert first["helper"] == "HELPER = 1\n"
    assert "other.ipynb" not in first["sandbox"] and "helper.py" in first["sandbox"]
    assert "left-by-first" in first["tmp"] and "left-by-first" in first["sandbox"]


def test_nothing_the_previous_kernel_left_remains(kernels) -> None:
    first, second, third, _, after_filled, *_ = kernels
    assert first["sleepers"], "the first kernel's background process was started (sanity)"
    for later in (second, third, after_filled):
        assert "left-by-first" not in later["tmp"] + later["shm"] + later["sandbox"]
        assert later["sleepers"] == []


def test_the_kernels_folder_is_capped_in_total(kernels) -> None:
    """Many files, each under the per-file cap, fill the folder's own tmpfs and no more."""
    from autograder.limits import KERNEL_ZYGOTE

    filled, after_filled = kernels[3], kernels[4]
    assert filled["error"] == "ENOSPC", filled
    assert KERNEL_ZYGOTE.file_bytes < filled["written"] <= KERNEL_ZYGOTE.folder_bytes, filled
    assert not [name for name in after_filled["sandbox"] if name.startswith("fill-")]


def test_the_preload_is_frozen_and_each_kernel_collects_its_own_garbage(kernels) -> None:
    """gc.freeze before the fork: a kernel's collections skip the preload (torch, matplotlib...)."""
    for k in kernels[:3]:
        assert k["collector_on"] is True, k
        assert k["frozen"] > 100_000, k


def test_forked_kernels_draw_a_fresh_kernels_figure_to_the_byte(kernels) -> None:
    drawn, fresh = kernels[5], kernels[6]
    assert drawn == [fresh, fresh]


def test_the_graders_kernel_options_reach_forked_and_fresh_kernels_and_no_planted_file_does(kernels) -> None:
    """nbgrader's `Execute.extra_arguments` (plain tracebacks) start every sandboxed kernel; a file of
    the same name as the forked kernel's options, among the notebook's files, decides nothing."""
    assert kernels[7] == {"forked": "Plain", "forked, a planted file": "Context", "fresh sandboxed": "Plain"}
