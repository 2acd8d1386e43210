"""The zygote's preload and warm-up leave every figure as a fresh kernel draws it, to the byte.

The warm-up includes a mathtext cache shared by every figure and filled in the zygote (tick labels
such as $10^{-3}$); the preloaded Python must have drawn from it, and still match.

Two Pythons draw the same figures through the course's own `png_bundle` (log-scale tick labels and a
title in mathtext, a legend, the tight crop): one after `import kernel_child` (the zygote's preload),
one without. No sandbox needed: the preload is plain imports and a warm-up.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.verdict.server import HERE

KIT = Path(__file__).resolve().parents[2] / "autograder" / "student_kit"
DRAW = """
import json, sys
if sys.argv[1] == "preloaded":
    import kernel_child
import matplotlib.pyplot as plt
from course_kit import png_bundle
pictures = []
for scale in ("log", "linear"):
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3))
    left.plot(range(1, 21), [0.6 ** k for k in range(1, 21)], "o-", label=r"$\\eta = 0.2$")
    left.set_yscale(scale)
    left.set_title(r"$|\\theta_k - \\theta^*|$ after $k$ steps")
    left.legend()
    right.contour([[0, 1, 4], [1, 2, 5], [4, 5, 8]], levels=4)
    right.set_xlabel(r"$w$")
    pictures.append(png_bundle(fig, "alt")["image/png"])
hits = kernel_child.SharedMathText._parse_cached.cache_info().hits if sys.argv[1] == "preloaded" else 0
print(json.dumps({"modules": sorted(sys.modules), "pictures": pictures, "warm_hits": hits}))
"""


def draw(how: str) -> dict:
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYTHONPATH": os.pathsep.join([str(HERE / "inside"), str(KIT)])}
    done = subprocess.run([sys.executable, "-c", DRAW, how], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_preloaded_kernel_draws_the_same_bytes():
    preloaded, fresh = draw("preloaded"), draw("fresh")
    assert "ipykernel.debugger" in preloaded["modules"] and "ipykernel.debugger" not in fresh["modules"]
    assert len(fresh["pictures"]) == 2 and fresh["pictures"][0] != fresh["pictures"][1]
    assert preloaded["warm_hits"] > 0  # the log-scale tick labels came from the zygote's mathtext cache
    assert preloaded["pictures"] == fresh["pictures"]
