"""Benchmark: does ``perflab.measure`` agree with ``timeit`` on this machine, in the same run?

>>> from tools.bench.timing import bench_timing
>>> bench_timing()  # doctest: +SKIP

For each micro-benchmark, over several alternating rounds, it prints measure's median and min per call,
timeit's best-of-7 per call (``Timer.autorange`` then ``repeat(7, n)``, the way ``python -m timeit`` does
it) and their ratios; "same shape" is measure's median over timeit's median of exactly measure's runs ×
loops (any gap there is measure's own overhead, not luck); and how long ``measure`` took. The summary
line per case is the median of the rounds' ratios. The target is measure's median within 10% of timeit's
best. On a busy machine (other programs, parallel test runs) it can miss: the median is the honest
typical time, timeit's best is the luckiest of seven longer runs.
"""

from __future__ import annotations

import random
import statistics
import time
import timeit
import warnings
from collections.abc import Callable
from typing import Any

from perflab.display import format_time
from perflab.timing import NoisyMeasurement, measure

TARGET = 0.10  # measure's median within 10% of timeit's best per call
ROUNDS = 5  # alternate measure and timeit this many times per case


def _cases() -> list[tuple[str, Callable[[], Any], str, dict[str, Any]]]:
    data = random.Random(17).sample(range(10_000), 10_000)
    return [
        ("sum(range(1000))", lambda: sum(range(1000)), "sum(range(1000))", {}),
        ("sorted(10k shuffled ints)", lambda: sorted(data), "sorted(data)", {"data": data}),
    ]


def _timeit(stmt: str, namespace: dict[str, Any], runs: int, loops: int) -> tuple[float, float]:
    """Per call: timeit's best of 7 auto-ranged runs, and its median over ``runs`` × ``loops``."""
    timer = timeit.Timer(stmt, globals=namespace)
    same_shape = statistics.median(timer.repeat(runs, loops)) / loops
    n, _ = timer.autorange()
    return min(timer.repeat(7, n)) / n, same_shape


def bench_timing() -> None:
    """Print measure's median and min next to timeit's best per call, for two fixed micro-benchmarks."""
    print(f"measure() vs timeit, {ROUNDS} alternating rounds per case; target: median within {TARGET:.0%}")
    header = f"{'case':<26} {'measure median':>15} {'measure min':>12} {'timeit best':>12} " \
             f"{'median/best':>11} {'min/best':>9} {'same shape':>10} {'measure took':>13}  noisy"
    print(header)
    worst = 0.0
    for label, fn, stmt, namespace in _cases():
        ratios: list[tuple[float, float, float]] = []
        for _ in range(ROUNDS):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NoisyMeasurement)
                started = time.perf_counter()
                m = measure(fn)
                took = time.perf_counter() - started
            best, same_shape = _timeit(stmt, namespace, m.runs, m.loops)
            ratios.append((m.median / best, m.min / best, m.median / same_shape))
            print(f"{label:<26} {format_time(m.median):>15} {format_time(m.min):>12} {format_time(best):>12} "
                  f"{m.median / best:>11.3f} {m.min / best:>9.3f} {m.median / same_shape:>10.3f} "
                  f"{format_time(took):>13}  "
                  f"{'yes' if caught else 'no'}")
        typical = [statistics.median(r[i] for r in ratios) for i in range(3)]
        worst = max(worst, abs(typical[0] - 1))
        med_best, min_best, same = typical
        print(f"{label + ': median of rounds':<67} {med_best:>11.3f} {min_best:>9.3f} {same:>10.3f}")
    verdict = "OK" if worst <= TARGET else "MISSED (a busy machine? close other programs and run again)"
    print(f"largest gap (median of rounds, median/best): {worst:.1%} -> {verdict}")


if __name__ == "__main__":
    bench_timing()
