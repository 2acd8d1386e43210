"""Kernels forked from the warm kernel zygote: each one a fresh identity and nothing left by the one before.

Real kernels (nbclient drives them, as nbgrader's Execute does), one zygote for the module.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.sandbox import kernel_zygote

pytestmark = pytest.mark.skipif(not kernel_zygote.available(),
                                reason="the kernel zygote needs bubblewrap as root and a Python install outside /tmp")

LOOK = textwrap.dedent("""
    import json, os
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
            'killed_parent': killed_parent, 'helper': open('helper.py').read()}
    print(json.dumps(seen))
""")
LEAVE = textwrap.dedent("""
    import subprocess
    open('/tmp/left-by-first', 'w').write('x')
    open('/dev/shm/left-by-first', 'w').write('x')
    open('/sandbox/left-by-first', 'w').write('x')
    subprocess.Popen(['sleep', '4242'], start_new_session=True)
""")


def run_kernel(folder: Path, *cells: str) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=60, kernel_name="python3", kernel_manager_class=kernel_zygote.ZygoteKernelManager,
                   resources={"metadata": {"path": str(folder)}}).execute()
    text = nb.cells[-1].outputs[0]["text"]
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("notebook-folder")
    (folder / "helper.py").write_text("HELPER = 1\n")
    (folder / "other.ipynb").write_text("{}")
    assert kernel_zygote.ready()
    try:
        first = run_kernel(folder, LEAVE, LOOK)
        second = run_kernel(folder, LOOK)
        third = run_kernel(folder, LOOK)
    finally:
        kernel_zygote.stop_kernel_zygote()
    return first, second, third


def test_each_kernel_has_a_fresh_unprivileged_identity(kernels) -> None:
    uids = [k["uid"] for k in kernels]
    assert len(set(uids)) == 3 and min(uids) >= 1000
    for k in kernels:
        assert int(k["cap_eff"], 16) == 0 and int(k["cap_bnd"], 16) == 0, k
        assert k["killed_parent"] is False, "a kernel could signal the zygote"


def test_a_kernel_sees_its_own_folder_only(kernels) -> None:
    first, second, _ = kernels
    assert first["helper"] == "HELPER = 1\n"
    assert "other.ipynb" not in first["sandbox"] and "helper.py" in first["sandbox"]
    assert "left-by-first" in first["tmp"] and "left-by-first" in first["sandbox"]


def test_nothing_the_previous_kernel_left_remains(kernels) -> None:
    first, second, third = kernels
    assert first["sleepers"], "the first kernel's background process was started (sanity)"
    for later in (second, third):
        assert "left-by-first" not in later["tmp"] + later["shm"] + later["sandbox"]
        assert later["sleepers"] == []
