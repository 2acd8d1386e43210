"""`python -m autograder build`: regenerate course/ (student release) and solutions/ from the source."""
from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course.coursedir import IGNORED, copy_student_kit, nbgrader_api, stage_source
from autograder.course.solutions import execute, reference_notebook, semantic_view
from autograder.paths import COURSE_DIR, SOLUTIONS_DIR, assignments, notebooks


class BuildError(RuntimeError):
    pass


def generate_release(course_root: Path, db_url: str | None = None) -> Path:
    """Real `nbgrader generate_assignment` for every assignment, its gradebook at `db_url` (default: the
    config's); returns the release folder. A failure names the error nbgrader's log ends with."""
    api = nbgrader_api(course_root, db_url)
    for assignment_id in assignments():
        result = api.generate_assignment(assignment_id, force=True, create=True)
        if not result["success"]:
            log = result.get("log") or ""
            causes = [line.strip() for line in log.splitlines()
                      if re.match(r"\s*[\w.]+(Error|Exception|Exit)\b.*", line)]
            raise BuildError(f"nbgrader generate_assignment {assignment_id} failed: "
                             f"{causes[-1] if causes else 'see the log below'}\n{log}")
    return course_root / "release"


def generate_solutions(course_root: Path) -> Path:
    """Executed reference notebooks, with their helper modules, under course_root/solutions."""
    out = course_root / "solutions"
    for assignment_id in assignments():
        folder = out / assignment_id
        shutil.copytree(course_root / "source" / assignment_id, folder, ignore=shutil.ignore_patterns(
            "*.ipynb", "__pycache__", ".ipynb_checkpoints"))
        copy_student_kit(folder)
        for name in notebooks(assignment_id):
            nb = reference_notebook(course_root / "source" / assignment_id / f"{name}.ipynb")
            nbformat.write(execute(nb, folder), folder / f"{name}.ipynb")
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    return out


def same_file(built: Path, committed: Path) -> bool:
    if not committed.exists():
        return False
    if built.suffix == ".ipynb" and committed.parent.parent.name == SOLUTIONS_DIR.name:
        return semantic_view(nbformat.read(built, 4)) == semantic_view(nbformat.read(committed, 4))
    return filecmp.cmp(built, committed, shallow=False)


def differences(built_root: Path, committed_root: Path) -> list[str]:
    """Relative paths that differ between a fresh build and the committed tree."""
    built = {p.relative_to(built_root) for p in built_root.rglob("*") if p.is_file()}
    committed = {p.relative_to(committed_root) for p in committed_root.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    changed = sorted(str(p) for p in built & committed if not same_file(built_root / p, committed_root / p))
    return changed + [f"{p} (new)" for p in sorted(map(str, built - committed))] + \
        [f"{p} (stale)" for p in sorted(map(str, committed - built))]


def sync(built_root: Path, target_root: Path) -> list[str]:
    """Make target_root match built_root, touching only files whose content changed."""
    changes = differences(built_root, target_root) if target_root.exists() else ["(all new)"]
    target_root.mkdir(exist_ok=True)
    for path in changes:
        rel = path.split(" (")[0]
        if path.endswith("(stale)"):
            (target_root / rel).unlink()
        elif path != "(all new)":
            (target_root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built_root / rel, target_root / rel)
    if changes == ["(all new)"]:
        shutil.copytree(built_root, target_root, dirs_exist_ok=True, ignore=IGNORED)
    return changes


# Read by each kernel the build starts (its IPython profile's kernel config), before it opens its
# sockets: ipykernel's notice that a local kernel talks over TCP without encryption, said once per
# notebook, is dropped; every other message of the kernel is kept.
QUIET_KERNEL_CONFIG = '''import logging


class NoTcpNotice(logging.Filter):
    def filter(self, record):
        return not record.getMessage().startswith("Kernel is running over TCP without encryption")


logging.getLogger("IPKernelApp").addFilter(NoTcpNotice())
'''


@contextlib.contextmanager
def quiet_kernels():
    """Kernels started inside run with a profile of their own (IPYTHONDIR) that drops that notice."""
    before = os.environ.get("IPYTHONDIR")
    with tempfile.TemporaryDirectory(prefix="gd-ipython-") as ipython_dir:
        profile = Path(ipython_dir) / "profile_default"
        profile.mkdir()
        (profile / "ipython_kernel_config.py").write_text(QUIET_KERNEL_CONFIG)
        os.environ["IPYTHONDIR"] = ipython_dir
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("IPYTHONDIR", None)
            else:
                os.environ["IPYTHONDIR"] = before


def build_into(work: Path) -> tuple[Path, Path]:
    """Build release and solutions in `work`; return (release, solutions) folders."""
    stage_source(work)
    with quiet_kernels():
        return generate_release(work), generate_solutions(work)


def build(check_only: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="gd-build-") as tmp:
        release, solutions = build_into(Path(tmp))
        drift = {"course": differences(release, COURSE_DIR) if COURSE_DIR.exists() else ["(missing)"],
                 "solutions": differences(solutions, SOLUTIONS_DIR) if SOLUTIONS_DIR.exists() else ["(missing)"]}
        if check_only:
            for name, paths in drift.items():
                for path in paths:
                    print(f"{name}/{path} differs from the source")
            return 1 if any(drift.values()) else 0
        sync(release, COURSE_DIR)
        sync(solutions, SOLUTIONS_DIR)
    for name, paths in drift.items():
        print(f"{name}/: " + ("up to date" if not paths else f"{len(paths)} file(s) updated: " + ", ".join(paths)))
    return 0
