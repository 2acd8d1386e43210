"""The likely mistake behind a failed trusted check, in the words its visible check uses.

A chapter module may define DIAGNOSES: for a test cell, the mistakes its visible check names
("the step went uphill") and either what each mistake returns for a case's arguments (`wrong`) or
whether an observation shows it (`seen`, for tensors, repeated calls and cells). When the trusted
check fails on a case, the observation is compared here, in the grader: the diagnosis comes from
the verdict's observations, never from anything the student printed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder.verdict.observations import Case, Observation, calls, close, error_of, real, tag


@dataclass(frozen=True)
class Diagnosis:
    test_id: str
    says: str                                 # the visible check's words for this mistake
    wrong: Callable[..., Any] | None = None   # what the mistake returns for the case's args (a number or a list)
    seen: Callable[[Case, Observation], bool] | None = None  # or: whether the case's observation shows it


def first_call(observation: Observation) -> dict:
    """The first observed call of a repeated (`torch_call`) case, or {}."""
    observed = calls(observation)
    return observed[0] if observed else {}


def returned(observation: Observation) -> Any:
    """What the function returned: a plain call's `out`, or the first observed call's."""
    if isinstance(observation, dict) and "out" in observation:
        return observation["out"]
    return first_call(observation).get("out")


def _matches(out: Any, want: Any) -> bool:
    if isinstance(want, list):
        if tag(out) != "list" or out.get("len") != len(want):
            return False
        return all(close(real(item), w, 1e-9, 1e-12) for item, w in zip(out.get("items", []), want))
    got = real(out)
    return got is not None and close(got, float(want), 1e-9, 1e-12)


def diagnose(diagnoses: list[Diagnosis], test_id: str, case: Case, observation: Observation) -> str:
    """The first mistake the failing observation shows, or ''."""
    if not isinstance(observation, dict):
        return ""
    for diagnosis in diagnoses:
        if diagnosis.test_id != test_id:
            continue
        try:
            if diagnosis.seen is not None:
                shown = diagnosis.seen(case, observation)
            else:
                shown = (not error_of(observation) and "args" in case
                         and _matches(returned(observation), diagnosis.wrong(*case["args"])))
        except Exception:  # noqa: BLE001 - a malformed observation has no diagnosis
            continue
        if shown:
            return diagnosis.says
    return ""
