"""``python -m tools.bench.exercises [--runs 5] [--pg URL]``: what correct solutions reach in the timed exercise checks.

Runs chapter 01's check on the course dataset (scale 1) with the solutions in ``notebooks/solutions/`` and
every correct alternative in ``tests/alternatives/ch01.py``, ``--runs`` times each, and prints each one's
speedups (min / median / max), how many runs cleared the floor, and the machine's load, so the check's
floor can be set below what correct answers reach, with margin.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
from pathlib import Path


def bench_slow_report(engine: object, runs: int, label: str) -> None:
    """Print the speedups ``01-slow-report`` measures for each correct solution, ``runs`` times each."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from alternatives import ch01 as alternatives

    from perflab.exercises import check
    from perflab.exercises.ch01 import SPEEDUP_FLOOR, TIMED_STATUSES
    from tools.nbtools import load_solution

    solutions = load_solution(Path(__file__).resolve().parents[2] / "notebooks" / "01-measure-first.ipynb")
    print(f"01-slow-report on {label}, statuses {', '.join(TIMED_STATUSES)}, {runs} runs each, "
          f"floor {SPEEDUP_FLOOR:g}x, load average {os.getloadavg()[0]:.1f} at the start")
    for fn in [solutions.revenue_by_category, solutions.revenue_by_category_sql, *alternatives.ALTERNATIVES]:
        speedups = []
        for _ in range(runs):
            with contextlib.redirect_stdout(io.StringIO()):
                speedups.append(check("01-slow-report", fn, engine=engine, floor=0).details["speedup"])
        cleared = sum(s >= SPEEDUP_FLOOR for s in speedups)
        print(f"  {fn.__name__:<32} min {min(speedups):5.1f}x  median {statistics.median(speedups):5.1f}x  "
              f"max {max(speedups):5.1f}x  {cleared}/{runs} at the floor  (load {os.getloadavg()[0]:.1f})",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.exercises", description=__doc__.split("\n")[0],
                                     epilog="Example: python -m tools.bench.exercises --runs 5")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("PERFLAB_TEST_POSTGRES_URL"),
                        help="and on PostgreSQL here, schema perflab_bench (default: PERFLAB_TEST_POSTGRES_URL)")
    args = parser.parse_args(argv)
    import perflab

    bench_slow_report(perflab.connect(progress=False), args.runs, "SQLite, scale 1")
    if args.pg:
        bench_slow_report(perflab.connect(args.pg, schema="perflab_bench", progress=False), args.runs,
                          "PostgreSQL, scale 1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
