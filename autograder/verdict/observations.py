"""The judges' shared vocabulary: reading the harness's plain observations as numbers.

An observation is JSON from the sandbox: type tags and numbers as strings. Nothing here trusts it:
a value is read only from the exact types the exercise promises; anything else is described.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable
from typing import Any

Case = dict[str, Any]
Observation = dict[str, Any]

# Type tags (from the harness) accepted where the docstring promises a number.
REAL_TAGS = frozenset(
    {
        "int",
        "float",
        "numpy.float64",
        "numpy.float32",
        "numpy.float16",
        "numpy.int64",
        "numpy.int32",
        "numpy.int16",
        "numpy.int8",
        "numpy.uint64",
        "numpy.uint32",
        "numpy.uint16",
        "numpy.uint8",
    }
)
# Where the docstring promises a float: a float, or a numpy float scalar (np.float64 is a float subclass,
# and `isinstance(x, numbers.Real)`, what the hidden tests ask, holds for every numpy float).
FLOAT_TAGS = frozenset({"float", "numpy.float64", "numpy.float32", "numpy.float16"})


# ---- arguments of the harness's generic `torch_call` (autograder/verdict/inside/harness.py), built there


def tensor(data: Any, requires_grad: bool = False) -> dict:
    """A float32 tensor holding `data` (a number or nested lists)."""
    return {"kind": "tensor", "data": data, "requires_grad": requires_grad}


def zeros(*shape: int) -> dict:
    return {"kind": "zeros", "shape": list(shape)}


def polynomial(*coefficients: float) -> dict:
    """A function t -> c0 t^n + ... + cn, highest power first (a differentiable torch function)."""
    return {"kind": "poly", "coefficients": list(coefficients)}


def loader(x: list, y: list, batch_size: int) -> dict:
    """DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False) over float32 tensors."""
    return {"kind": "loader", "x": x, "y": y, "batch_size": batch_size}


def sgd(params: list[int], lr: float, momentum: float = 0.0) -> dict:
    """torch.optim.SGD over the arguments at the positions `params` (built before it)."""
    return {"kind": "sgd", "params": params, "lr": lr, "momentum": momentum}


def calls(res: Any) -> list[dict] | None:
    """The observed calls of a `torch_call` case: each {"out": ..., "args": [...]} or {"error": ...}."""
    found = res.get("calls") if isinstance(res, dict) else None
    return found if isinstance(found, list) and all(isinstance(c, dict) for c in found) else None


# ---- reading observations


def f32(v: float) -> float:
    """v rounded to the nearest float32, as torch.tensor(v) stores it."""
    return struct.unpack("f", struct.pack("f", v))[0]


def tag(o: Any) -> str:
    return o.get("t", "?") if isinstance(o, dict) else "?"


def real(o: Any) -> float | None:
    """The number an observation holds, if its exact type is an accepted real number type."""
    if isinstance(o, dict) and o.get("t") in REAL_TAGS and isinstance(o.get("v"), str):
        try:
            return float(o["v"])
        except ValueError:
            return None
    return None


def describe(o: Any) -> str:
    t = tag(o)
    if t == "other":
        return f"an object of type {o.get('name', '?')}"
    if t in REAL_TAGS:
        return f"{t} {o.get('v')}"
    return "a " + t


def close(got: float | None, want: float, rel: float, abs_: float) -> bool:
    return got is not None and math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def num(s: Any) -> float | None:
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        return float(s)
    if isinstance(s, str):
        try:
            return float(s)
        except ValueError:
            return None
    return None


def flat(v: Any) -> list[float | None]:
    """A tolist() observation (nested lists of number strings) flattened to floats."""
    if isinstance(v, list):
        return [x for e in v for x in flat(e)]
    return [num(v)]


def tensor_scalar(o: Any) -> float | None:
    """The value of an exact torch.Tensor holding one number."""
    if tag(o) != "torch.Tensor" or o.get("numel") != 1 or "v" not in o:
        return None
    values = flat(o["v"])
    return values[0] if len(values) == 1 else None


def error_of(res: Any) -> str | None:
    if not isinstance(res, dict):
        return "no observation"
    if "error" in res:
        return f"raised {res['error']}"
    return None


def column(rng: random.Random, n: int, scale: float) -> list[list[float]]:
    return [[f32(rng.gauss(0.0, 1.0) * scale)] for _ in range(n)]


def judge_scalar(name: str, ref: Callable[..., float], rel: float, abs_: float):
    def judge(case: Case, res: Observation) -> str | None:
        call = f"{name}({', '.join(repr(a) for a in case['args'])})"
        err = error_of(res)
        if err:
            return f"{call} {err}"
        out = res.get("out")
        got = real(out)
        if got is None:
            return f"{call} returned {describe(out)}, not a number"
        if not close(got, ref(*case["args"]), rel, abs_):
            return f"{call} returned {got!r}: wrong value"
        return None

    return judge
