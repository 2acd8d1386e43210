"""environment.yml (conda-forge, Binder) stays in step with the pip dependencies CI installs."""
from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from autograder.paths import REPO_ROOT

# pip name -> conda-forge name, where they differ
CONDA_NAME = {"torch": "pytorch", "psycopg2-binary": "psycopg2"}


def pip_requirements() -> dict[str, SpecifierSet]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    return {CONDA_NAME.get(r.name, r.name): r.specifier for r in reqs}


def conda_requirements() -> dict[str, SpecifierSet]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"], "conda-forge only"
    out = {}
    for dep in env["dependencies"]:
        assert isinstance(dep, str), "no pip section: every package comes from conda-forge"
        name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
        # conda's `=X` means `X` or `X.*`; the rest of the operators read as pip's
        spec = re.sub(r"(^|,)=(?!=)([^,]+)", r"\1==\2.*" if spec.count(".") < 2 else r"\1==\2", spec.replace(" ", ""))
        out[name] = SpecifierSet(spec)
    return out


def test_same_packages() -> None:
    conda = conda_requirements()
    assert conda.pop("python") .contains("3.11.7")
    assert set(conda) == set(pip_requirements())


def test_same_versions() -> None:
    conda = conda_requirements()
    for name, pip_spec in pip_requirements().items():
        assert str(conda[name]) == str(pip_spec) or (
            len(pip_spec) == 1 and next(iter(pip_spec)).operator == "==" and
            conda[name].contains(next(iter(pip_spec)).version)
        ), f"{name}: pip {pip_spec} vs conda {conda[name]}"


def test_torch_is_pinned_to_the_cpu_wheel() -> None:
    assert str(pip_requirements()["pytorch"]) == "==2.13.0"
