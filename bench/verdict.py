"""Benchmark: the trusted verdict from the warm server against one sandbox per test.

    python bench/verdict.py [--repeat 3]

For each chapter's reference solution, times `trusted_verdict` the one-shot way (a fresh sandboxed
interpreter per test cell, importing numpy and torch each time) and through a `VerdictServer`
(one sandboxed interpreter, imported once, a fork per test), side by side, best of --repeat.
The server's own start is timed apart: a grading worker pays it once per batch.
The last line is `speedup of the warm server: X.XX` (total one-shot / total warm).
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the package, and the synthetic submissions of the tests

from autograder.limits import VERDICT_TEST as DEFAULT_LIMITS
from autograder.paths import assignments, notebooks
from autograder.sandbox.run import mode
from autograder.verdict.program import trusted_verdict
from autograder.verdict.server import VerdictServer
from support import synthetic


def best(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default: %(default)s)")
    args = parser.parse_args(argv)
    if mode() == "none":
        print("no sandbox on this machine (bubblewrap missing): nothing to compare")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-verdict-"))
    totals = [0.0, 0.0]
    with VerdictServer(DEFAULT_LIMITS) as server:
        started = time.perf_counter()
        server.start()
        print(f"server start (numpy and torch imported once per worker): {time.perf_counter() - started:.2f} s")
        for aid in assignments():
            for nb in notebooks(aid):
                path = synthetic.write(synthetic.solved(aid, nb), work / aid / f"{nb}.ipynb")
                once = best(args.repeat, functools.partial(trusted_verdict, path, aid, nb, seed=1, jobs=1))
                warm = best(args.repeat, functools.partial(trusted_verdict, path, aid, nb, seed=1, jobs=1,
                                                           runner=server.run))
                totals[0] += once
                totals[1] += warm
                print(f"{aid}/{nb}: one sandbox per test {once:.2f} s, warm server {warm:.3f} s, "
                      f"ratio {once / warm:.1f}")
    print(f"total: one sandbox per test {totals[0]:.2f} s, warm server {totals[1]:.3f} s")
    print(f"speedup of the warm server: {totals[0] / totals[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
