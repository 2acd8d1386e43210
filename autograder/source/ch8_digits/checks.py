"""Visible checks for chapter 8. They compare with values worked out by hand (or by autograd) and explain
what went wrong."""
from __future__ import annotations

import math
import numbers
from typing import Callable, Mapping

import torch
import torch.nn.functional as F

from course_kit import CheckFailed, run_check


def _shown(values: torch.Tensor) -> str:
    """A few values of a tensor, rounded, for a message."""
    flat = [float(f"{v:.4g}") for v in values.detach().double().ravel().tolist()]
    return str(flat[:6])[:-1] + ", ...]" if len(flat) > 6 else str(flat)


def _require_tensor(got: object, want: torch.Tensor, what: str, mistakes: Mapping[str, torch.Tensor] | None = None,
                    rel_tol: float = 1e-6, abs_tol: float = 1e-9, overflow: str = "") -> None:
    """Fail unless `got` is a tensor shaped like `want` holding its values; name the likely mistake."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what} is a {type(got).__name__}; it should be a tensor of shape {tuple(want.shape)}.")
    if got.shape != want.shape:
        hint = " (keepdim=True kept a dimension of length 1)" if got.squeeze().shape == want.shape else ""
        raise CheckFailed(f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}{hint}.")
    values = got.detach().double()
    if overflow and not torch.isfinite(values).all():
        raise CheckFailed(f"{what} holds nan or inf: {overflow}")
    close = lambda a, b: torch.allclose(a, b.double(), rtol=rel_tol, atol=abs_tol)  # noqa: E731
    if close(values, want):
        return
    for reason, wrong in (mistakes or {}).items():
        if close(values, wrong):
            raise CheckFailed(f"{what} is {_shown(values)}, expected {_shown(want)}: {reason}.")
    raise CheckFailed(f"{what} is {_shown(values)}, expected {_shown(want)}.")


def _pair(got: object, call: str) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} returned {type(got).__name__}; it returns a pair (dW, db).")
    return tuple(got)


OVERFLOW = ("exp of a logit above about 88.7 overflows in float32 (709.8 in float64): "
            "subtract each row's largest logit before exp, which changes no probability.")


def check_softmax_regression_gradient(softmax_regression_gradient: Callable) -> None:
    """Three cases.

    By hand: W = 0 and b = 0, so every probability is 1/3; X = [[1, 2], [3, 0]], labels 0 and 2. Then
    P - Y = [[-2/3, 1/3, 1/3], [1/3, 1/3, -2/3]], and with N = 2: dW = X^T (P - Y) / 2 =
    [[1/6, 2/3, -5/6], [-2/3, 1/3, 1/3]], db = [-1/6, 1/3, -1/6]. Normalised over the two examples
    instead, every probability is 1/2; without the labels subtracted, P - Y is P alone.
    By autograd: a small random case in float64. Large logits: in the hundreds, in float32.
    """
    def check() -> None:
        X = torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64)
        y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
        W, b = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
        call = "softmax_regression_gradient(W=0, b=0, X=[[1, 2], [3, 0]], y one-hot of labels 0 and 2)"
        dW, db = _pair(softmax_regression_gradient(W, b, X, y), call)
        hand = lambda rows: torch.tensor(rows, dtype=torch.float64) / 6  # noqa: E731  sixths, by hand
        want_dW, want_db = hand([[1, 4, -5], [-4, 2, 2]]), hand([-1, 2, -1])
        _require_tensor(dW, want_dW, f"dW of {call}", {
            "that is the sum over the examples: divide by the number of examples, the loss is a mean": 2 * want_dW,
            "the probabilities were normalised over the examples (dim=0): each row, one example, must sum to 1":
                hand([[3, 6, -3], [-3, 3, 3]]),
            "the one-hot labels were not subtracted: the gradient of the logits is P - Y": hand([[4, 4, 4], [2, 2, 2]]),
            "the sign is flipped: the gradient of the logits is P - Y, not Y - P": -want_dW,
        })
        _require_tensor(db, want_db, f"db of {call}", {
            "that is the sum over the examples: divide by the number of examples, the loss is a mean": 2 * want_db,
            "the probabilities were normalised over the examples (dim=0): each row, one example, must sum to 1":
                hand([0, 3, 0]),
            "the one-hot labels were not subtracted: the gradient of the logits is P - Y": hand([2, 2, 2]),
            "the sign is flipped: the gradient of the logits is P - Y, not Y - P": -want_db,
        })

        cases = [("a random case in float64", torch.float64, 1.0), ("logits in the hundreds, in float32", torch.float32, 150.0)]
        for name, dtype, scale in cases:
            generator = torch.Generator().manual_seed(8)
            W = (scale * torch.randn(4, 3, generator=generator, dtype=torch.float64)).to(dtype)
            b = (scale * torch.randn(3, generator=generator, dtype=torch.float64)).to(dtype)
            X = torch.rand(5, 4, generator=generator, dtype=torch.float64).to(dtype)
            labels = torch.tensor([0, 2, 1, 2, 0])
            W64, b64 = W.double().requires_grad_(), b.double().requires_grad_()
            want_dW, want_db = torch.autograd.grad(F.cross_entropy(X.double() @ W64 + b64, labels), (W64, b64))
            call = f"softmax_regression_gradient on {name} (5 examples, 4 features, 3 classes)"
            dW, db = _pair(softmax_regression_gradient(W, b, X, F.one_hot(labels, 3).to(dtype)), call)
            tolerance = {"rel_tol": 1e-6, "abs_tol": 1e-9} if dtype == torch.float64 else {"rel_tol": 1e-4, "abs_tol": 1e-4}
            for what, got, want in ((f"dW of {call}", dW, want_dW), (f"db of {call}", db, want_db)):
                _require_tensor(got, want, what, {
                    "that is the sum over the examples: divide by the number of examples, the loss is a mean": 5 * want,
                    "the sign is flipped: the gradient of the logits is P - Y, not Y - P": -want,
                }, overflow=OVERFLOW, **tolerance)
    run_check("softmax_regression_gradient", check)


def check_finite_difference_check(finite_difference_check: Callable) -> None:
    """By hand, on L(w) = the sum of w_i³: the central difference of w³ is ((w + ε)³ - (w - ε)³) / (2ε) =
    3w² + ε². With w = [[1, -2], [0.5, 3]] and ε = 0.1 that is [[3.01, 12.01], [0.76, 27.01]]. The forward
    difference ((w + ε)³ - w³) / ε is 3w² + 3wε + ε²; moving every coordinate at once gives the sum of
    all four, 42.79, in every entry."""
    def check() -> None:
        w = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
        before = w.clone()
        call = "finite_difference_check(loss, w=[[1, -2], [0.5, 3]], epsilon=0.1) with loss(w) the sum of w³"
        got = finite_difference_check(lambda v: (v ** 3).sum(), w, 0.1)
        if not torch.allclose(w, before, rtol=1e-12, atol=1e-12):
            raise CheckFailed(f"w was changed by {call}: it is now {_shown(w)}; put each coordinate back after "
                              "moving it, or move a copy, so that w is left as it was.")
        if isinstance(got, torch.Tensor) and got.dtype != w.dtype:
            raise CheckFailed(f"{call} returned a {got.dtype} tensor for a {w.dtype} w: make it like w, of w's dtype.")
        want = torch.tensor([[3.01, 12.01], [0.76, 27.01]], dtype=torch.float64)
        _require_tensor(got, want, f"the result of {call}", {
            "that is the forward difference (L(w + ε) - L(w)) / ε: use the central difference, which moves w "
            "both ways and is much closer": torch.tensor([[3.31, 11.41], [0.91, 27.91]], dtype=torch.float64),
            "divided by epsilon: the two points w - ε and w + ε are 2 * epsilon apart": 2 * want,
            "every coordinate was moved at once: move one coordinate at a time, the others stay put":
                torch.full((2, 2), 42.79, dtype=torch.float64),
            "the differences were not divided by the distance between the two points": 0.2 * want,
        }, rel_tol=1e-9, abs_tol=1e-9)

        generator = torch.Generator().manual_seed(3)
        a, c = (torch.randn(5, generator=generator, dtype=torch.float64) for _ in range(2))
        w = torch.randn(5, generator=generator, dtype=torch.float64)
        quadratic = lambda v: (a * v).sum() ** 2 + (c * v * v).sum()  # noqa: E731  central differences are exact
        call = "finite_difference_check on a quadratic of 5 coordinates, epsilon=1e-4"
        got = finite_difference_check(quadratic, w, 1e-4)
        _require_tensor(got, 2 * (a * w).sum() * a + 2 * c * w, f"the result of {call}", rel_tol=1e-6, abs_tol=1e-8)
    run_check("finite_difference_check", check)


# (validation losses, patience, the right epoch, and what each mistake returns); worked out by hand.
EARLY_STOPPING = [
    ([1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.8, 0.9, 0.3], 2, 1, {
        8: "that is the lowest loss of the whole run: stop the scan once patience epochs pass without improvement",
        4: "one epoch too many: the scan stops as soon as patience epochs have passed without improvement",
        2: "epochs count from 0: the first loss is that of epoch 0",
    }),
    ([0.9, 0.5, 0.7, 0.5, 0.6], 3, 1, {
        3: "an equal loss is not an improvement: only a loss lower than the best so far resets the count",
        2: "epochs count from 0: the first loss is that of epoch 0",
    }),
    ([3.0, 2.0, 1.0], 1, 2, {3: "epochs count from 0: the first loss is that of epoch 0"}),
    ([0.5, 0.4, 0.6, 0.3], 10, 3, {4: "epochs count from 0: the first loss is that of epoch 0"}),
    ([0.5], 4, 0, {1: "epochs count from 0: the first loss is that of epoch 0"}),
]


def check_best_epoch(best_epoch: Callable) -> None:
    def check() -> None:
        for losses, patience, want, mistakes in EARLY_STOPPING:
            call = f"best_epoch({losses}, patience={patience})"
            got = best_epoch(list(losses), patience)
            if isinstance(got, torch.Tensor):
                raise CheckFailed(f"{call} returned a tensor; it returns the epoch as an int: use .item().")
            if isinstance(got, numbers.Real) and not isinstance(got, numbers.Integral) and \
                    any(math.isclose(got, loss) for loss in losses):
                raise CheckFailed(f"{call} returned {got!r}, a loss: it returns the epoch (an int), not its loss.")
            if isinstance(got, bool) or not isinstance(got, numbers.Integral):
                raise CheckFailed(f"{call} returned a {type(got).__name__}; it returns the epoch as an int.")
            if got != want:
                reason = mistakes.get(int(got))
                raise CheckFailed(f"{call} returned {got}, expected {want}" + (f": {reason}." if reason else "."))
    run_check("best_epoch", check)
