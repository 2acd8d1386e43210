"""A course version's template is built once per machine: a batch into another OUT copies it.

The template (nbgrader's release of every chapter, the gradebook of their graded cells and the
course's formulas drawn for the feedback pages) is kept in the cache folder the first time
(autograder/grading/template_cache.py); a cache folder that others may write to is not trusted.
"""
from __future__ import annotations

import filecmp
import os
import shutil

import nbformat
import pytest

from autograder.grading import feedback_steps
from autograder.grading.outdir import Course
from autograder.paths import SOLUTIONS_DIR, assignments


class Built(Exception):
    """Raised instead of building a template: the test only needs to know that one would be built."""


def _refuse_to_build(self, building) -> None:
    raise Built


@pytest.fixture(scope="module")
def cached(tmp_path_factory) -> tuple:
    """One template built into a fresh cache, and a second OUT prepared from that cache."""
    root = tmp_path_factory.mktemp("template-cache")
    cache = root / "cache"
    saved = os.environ.get("GD_GRADING_CACHE")
    os.environ["GD_GRADING_CACHE"] = str(cache)
    try:
        first = Course(root / "first", None)
        first.out.mkdir()
        first.prepare()
        second = Course(root / "second", None)
        second.out.mkdir()
        build = Course._build_template
        Course._build_template = _refuse_to_build
        try:
            second.prepare()
        finally:
            Course._build_template = build
    finally:
        os.environ["GD_GRADING_CACHE"] = saved or ""
    return cache, first, second


def test_the_second_out_copies_the_template_the_first_built(cached) -> None:
    cache, first, second = cached
    entries = [entry for entry in cache.iterdir() if not entry.name.startswith("building-")]
    assert len(entries) == 1 and not list(cache.glob("building-*"))
    assert all(not path.stat().st_mode & 0o022 for path in [entries[0], *entries[0].rglob("*")]), \
        "only its owner may change the cached gradebook"
    assert filecmp.cmp(first.template / "gradebook.db", second.template / "gradebook.db", shallow=False)
    assert (second.out / "gradebook.db").exists(), "the class gradebook is made from the copied template"
    drawn = sorted(path.name for path in (first.template / "rendered-math").iterdir())
    assert len(drawn) > 100 and drawn == sorted(path.name for path in (second.template / "rendered-math").iterdir())
    for aid in assignments():
        comparison = filecmp.dircmp(first.out / "release" / aid, second.out / "release" / aid)
        assert comparison.left_list == comparison.right_list and not comparison.diff_files, aid
        assert list((second.out / "release" / aid).glob("*.ipynb")), aid


def test_every_formula_of_the_reference_answers_is_drawn_with_the_template(cached, monkeypatch) -> None:
    """A batch's workers only read the course's formulas: feedback on a solved chapter draws none."""
    from matplotlib import mathtext

    _, _, second = cached
    monkeypatch.setattr(feedback_steps, "_SHARED", [])
    monkeypatch.setattr(mathtext, "math_to_image", lambda *a, **k: (_ for _ in ()).throw(AssertionError("drawn")))
    feedback_steps.share_rendered_math(second.template / "rendered-math")
    feedback_steps.svg_of.cache_clear()
    images = 0
    try:
        for path in sorted(SOLUTIONS_DIR.glob("*/*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "markdown" and "$" in cell.source:
                    images += feedback_steps.render_math(cell.source).count('<img class="math"')
    finally:
        feedback_steps.svg_of.cache_clear()
    assert images > 100


@pytest.mark.parametrize("setting", ["off", "open-to-all"])
def test_no_cache_or_one_others_may_write_to_builds_its_own(cached, tmp_path, monkeypatch, setting) -> None:
    cache, _, _ = cached
    if setting == "open-to-all":
        shared = tmp_path / "shared-cache"
        shared.mkdir()
        for entry in cache.iterdir():
            shutil.copytree(entry, shared / entry.name)   # the same, good entry, in a folder anyone may write to
        shared.chmod(0o777)
        monkeypatch.setenv("GD_GRADING_CACHE", str(shared))
    else:
        monkeypatch.setenv("GD_GRADING_CACHE", "off")
    monkeypatch.setattr(Course, "_build_template", _refuse_to_build)
    course = Course(tmp_path / "out", None)
    course.out.mkdir()
    with pytest.raises(Built):
        course.prepare()


def test_the_cache_keeps_the_latest_course_versions(tmp_path, monkeypatch) -> None:
    """An edited course makes a new version each time: the oldest entries go, a foreign folder stays."""
    from autograder.grading import template_cache

    template, release = tmp_path / "template", tmp_path / "release"
    (template / "rendered-math").mkdir(parents=True)
    (template / "gradebook.db").write_text("a gradebook")
    for aid in assignments():
        (release / aid).mkdir(parents=True)
    cache = tmp_path / "cache"
    monkeypatch.setenv("GD_GRADING_CACHE", str(cache))
    for version in range(template_cache.KEEP + 3):
        template_cache.store(f"version-{version}", template, release)
        entry = cache / template_cache.cache_key(f"version-{version}")
        os.utime(entry, (1_000_000 + version, 1_000_000 + version))   # stored one after the other
        if version == 0:
            foreign = cache / "not-ours"
            foreign.mkdir(mode=0o777)
            foreign.chmod(0o777)
    kept = {entry.name for entry in cache.iterdir()}
    wanted = {template_cache.cache_key(f"version-{v}") for v in range(3, template_cache.KEEP + 3)}
    assert kept == wanted | {"not-ours"}
