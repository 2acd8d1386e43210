"""The likely mistake behind a failed trusted check, in the words its visible check uses.

A chapter module may define DIAGNOSES: for a test cell, the mistakes its visible check names
("the step went uphill") and what each mistake returns for a case's arguments. When the trusted
check fails on a case, the observation is compared with those values here, in the grader: the
diagnosis comes from the verdict's observations, never from anything the student printed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autograder.verdict.observations import Case, Observation, close, error_of, real, tag


@dataclass(frozen=True)
class Diagnosis:
    test_id: str
    says: str                     # the visible check's words for this mistake
    wrong: Callable[..., Any]     # what the mistake returns for the case's args (a number or a list)


def _matches(out: Any, want: Any) -> bool:
    if isinstance(want, list):
        if tag(out) != "list" or out.get("len") != len(want):
            return False
        return all(close(real(item), w, 1e-9, 1e-12) for item, w in zip(out.get("items", []), want))
    got = real(out)
    return got is not None and close(got, float(want), 1e-9, 1e-12)


def diagnose(diagnoses: list[Diagnosis], test_id: str, case: Case, observation: Observation) -> str:
    """The first mistake whose value the failing observation shows, or ''."""
    if not isinstance(observation, dict) or error_of(observation) or "args" not in case:
        return ""
    for diagnosis in diagnoses:
        if diagnosis.test_id != test_id:
            continue
        try:
            if _matches(observation.get("out"), diagnosis.wrong(*case["args"])):
                return diagnosis.says
        except Exception:  # noqa: BLE001 - a malformed observation has no diagnosis
            continue
    return ""
