"""How running time grows with the input: fit the exponent k of ``time ≈ c·n^k``, time calls on fresh inputs.

>>> round(fit_exponent([1_000, 2_000, 4_000], [0.01, 0.04, 0.16]), 2)
2.0
>>> growth_name(1.05)
'about linear'

An algorithm's complexity shows as a slope on a log-log plot: doubling n doubles linear work (slope 1)
and quadruples quadratic work (slope 2), on any machine. ``time_growth`` times one call per fresh input,
round after round at each size, so neither a memo nor a hard-coded answer can fake the slope. A constant
cost added to every call flattens the slope, so ``time_growth`` can also time a baseline (a known good
solution) on the same inputs: :attr:`Growth.slowdown` says how many times slower than it the function is.
Each call's wall-clock time is kept too: work handed to another process (a pool, a server) uses none of
this process's CPU time, but the caller still waits for it (:attr:`Growth.wall_slowdown`), and a worker process
that is this one's child shows in :func:`children_cpu_seconds`.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perflab.errors import PerflabError


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """The least-squares slope of log(seconds) against log(size): about 1 for linear work, 2 for quadratic.

    >>> round(fit_exponent([100, 200, 400, 800], [1e-5, 2e-5, 4e-5, 8e-5]), 2)
    1.0

    Parameters: ``sizes`` at least two different positive sizes; ``seconds`` one positive time per size.
    """
    if len(sizes) != len(seconds) or len(set(sizes)) < 2:
        raise PerflabError(f"need one time per size and at least two sizes, got sizes={list(sizes)!r} "
                           f"and {len(seconds)} times — e.g. fit_exponent([1000, 4000], [0.002, 0.008])")
    if min(sizes) <= 0 or min(seconds) <= 0:
        raise PerflabError(f"sizes and times must be > 0, got sizes={list(sizes)!r}, seconds={list(seconds)!r}")
    xs, ys = [math.log(n) for n in sizes], [math.log(t) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def growth_name(exponent: float) -> str:
    """Words for an exponent k of ``n^k``: 'about constant', 'about linear', ..., 'worse than quadratic'.

    >>> growth_name(1.9)
    'about quadratic'
    """
    if exponent < 0.5:
        return "about constant"
    if exponent < 1.4:
        return "about linear"
    if exponent < 1.8:
        return "between linear and quadratic"
    if exponent < 2.5:
        return "about quadratic"
    return "worse than quadratic"


def cpu_clock() -> Callable[[], float]:
    """The clock for work done: the CPU time of the whole process (every thread) where it is fine, else wall time.

    >>> cpu_clock() in (time.process_time, time.perf_counter)
    True

    CPU time does not count the moments other programs held the processor, so a busy machine does not
    bend the slope; it is the process's, not the calling thread's, so work handed to a worker thread is
    counted too. Windows updates CPU times only every 15.6 ms, so there it falls back to ``time.perf_counter``.
    """
    if sys.platform == "win32":  # pragma: no cover - GetProcessTimes ticks at 15.6 ms
        return time.perf_counter
    try:
        fine = time.get_clock_info("process_time").resolution <= 1e-6
    except (AttributeError, ValueError, OSError):  # pragma: no cover - platform without a process clock
        fine = False
    return time.process_time if fine else time.perf_counter


def children_cpu_seconds() -> float:
    """The CPU time used so far by this process's child processes, running (a pool's workers) or ended.

    >>> children_cpu_seconds() >= 0
    True

    Work handed to a worker process is none of this process's CPU time (:func:`cpu_clock`); read this before
    and after the calls to see it. It reads every process's entry (about 30 ms), so read it around many
    calls, not each one. A server that is not a child (a database) is not counted.
    """
    import psutil  # only here: the rest of the module needs nothing outside the standard library

    ended = os.times()
    total = ended.children_user + ended.children_system
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # ended in the meantime
            continue
        total += times.user + times.system
    return total


@dataclass(frozen=True)
class Growth:
    """Times of one call per fresh input, per size (from :func:`time_growth`); its repr says how they grow.

    >>> Growth((500, 2_000), ((1.0, 1.2, 1.1), (4.2, 4.4, 4.0)))
    4x more input took 3.8x longer (about n^1.0, about linear)
    """

    sizes: tuple[int, ...]
    seconds: tuple[tuple[float, ...], ...]
    #: The baseline's time on the same inputs, call for call (empty when no baseline was timed).
    baseline_seconds: tuple[tuple[float, ...], ...] = ()
    #: The same calls' wall-clock times, the function's and the baseline's (empty when not recorded).
    wall_seconds: tuple[tuple[float, ...], ...] = ()
    baseline_wall_seconds: tuple[tuple[float, ...], ...] = ()

    @property
    def medians(self) -> tuple[float, ...]:
        """The median time of a call at each size."""
        return tuple(statistics.median(ts) for ts in self.seconds)

    @property
    def ratio(self) -> float:
        """Median time at the largest size over the median time at the smallest (inf if that is 0)."""
        first, last = self.medians[0], self.medians[-1]
        return last / first if first > 0 else math.inf

    @property
    def exponent(self) -> float:
        """The fitted k of ``time ≈ c·n^k`` (inf when a size took no measurable time)."""
        medians = self.medians
        return fit_exponent(self.sizes, medians) if min(medians) > 0 else math.inf

    @property
    def slowdown(self) -> float:
        """At the largest size, the median over calls of (time / the baseline's time on the same input).

        >>> Growth((10, 40), ((1.0,), (8.0, 9.0, 30.0)), ((1.0,), (2.0, 3.0, 1.0))).slowdown
        4.0

        Paired call by call, so a slow moment of the machine slows both. NaN without a baseline; inf
        when the baseline took no measurable time.
        """
        return _paired_slowdown(self.seconds, self.baseline_seconds)

    @property
    def wall_slowdown(self) -> float:
        """:attr:`slowdown` in wall-clock time: large where :attr:`slowdown` is small when the work ran elsewhere.

        >>> Growth((10, 40), ((1.0,), (1.0,)), ((1.0,), (1.0,)), ((1.0,), (90.0,)), ((1.0,), (1.5,))).wall_slowdown
        60.0
        """
        return _paired_slowdown(self.wall_seconds, self.baseline_wall_seconds)

    def __repr__(self) -> str:
        size_ratio = self.sizes[-1] / self.sizes[0]
        return (f"{size_ratio:g}x more input took {self.ratio:.1f}x longer "
                f"(about n^{self.exponent:.1f}, {growth_name(self.exponent)})")


def _paired_slowdown(seconds: tuple[tuple[float, ...], ...], baseline: tuple[tuple[float, ...], ...]) -> float:
    """The median of time / baseline time, call by call, at the largest size (NaN without a baseline)."""
    if not baseline:
        return math.nan
    pairs = zip(seconds[-1], baseline[-1])
    return statistics.median(t / base if base > 0 else math.inf for t, base in pairs)


def time_growth(fn: Callable[[Any], Any], make_input: Callable[[int], Any], sizes: Sequence[int], *,
                budget: float = 1.0, min_rounds: int = 3, max_rounds: int = 15,
                clock: Callable[[], float] | None = None, wall_clock: Callable[[], float] | None = None,
                on_result: Callable[[int, Any, Any], None] | None = None,
                baseline: Callable[[Any], Any] | None = None) -> Growth:
    """Call ``fn`` once on a fresh ``make_input(n)`` for each size, round after round, timing each call.

    >>> g = time_growth(sorted, lambda n: list(range(n, 0, -1)), (1_000, 4_000), budget=0.05)
    >>> g.sizes, len(g.seconds[0]) >= 3
    ((1000, 4000), True)

    One untimed warm-up call comes first; the GC is off during each timed call. Rounds go on until
    ``min_rounds`` are done and ``budget`` seconds (wall time) have passed, or ``max_rounds`` are done.
    Parameters: ``fn`` takes one input; ``make_input(n)`` builds a new input of size ``n`` each time;
    ``sizes`` growing sizes; ``clock`` (default :func:`cpu_clock`; tests pass a fake one) and ``wall_clock``
    (default ``time.perf_counter``), both read around every call; ``on_result``
    is called as ``on_result(n, input, result)`` after each timed call (to verify it, untimed);
    ``baseline`` a known good function, timed right after ``fn`` on a copy of the same input taken before
    ``fn`` ran (a list is kept as a tuple until then, so ``fn`` cannot slow the baseline down by changing
    it; see :attr:`Growth.slowdown`).
    """
    sizes = tuple(sizes)
    if len(sizes) < 2 or any(not isinstance(n, int) or n <= 0 for n in sizes) or list(sizes) != sorted(set(sizes)):
        raise PerflabError(f"sizes must be two or more growing ints > 0, got {sizes!r}; e.g. (500, 2000)")
    if not 1 <= min_rounds <= max_rounds:
        raise PerflabError(f"need 1 <= min_rounds <= max_rounds, got {min_rounds} and {max_rounds}")
    tick, wall = clock or cpu_clock(), wall_clock or time.perf_counter

    def timed(call: Callable[[Any], Any], items: Any, bucket: list[float], wall_bucket: list[float]) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            start, wall_start = tick(), wall()
            result = call(items)
            bucket.append(tick() - start)
            wall_bucket.append(wall() - wall_start)
        finally:
            if was_enabled:
                gc.enable()
        return result

    fn(make_input(sizes[0]))
    if baseline is not None:
        baseline(make_input(sizes[0]))
    times: list[list[float]] = [[] for _ in sizes]
    walls: list[list[float]] = [[] for _ in sizes]
    base_times: list[list[float]] = [[] for _ in sizes]
    base_walls: list[list[float]] = [[] for _ in sizes]
    deadline = time.perf_counter() + budget
    for done in range(max_rounds):
        if done >= min_rounds and time.perf_counter() > deadline:
            break
        for i, n in enumerate(sizes):
            items = make_input(n)
            saved: Any = None
            if baseline is not None:  # a list kept as a tuple: fn cannot change it in place, even from the stack
                saved = tuple(items) if type(items) is list else copy.copy(items)
            result = timed(fn, items, times[i], walls[i])
            if on_result is not None:
                on_result(n, items, result)
            if baseline is not None:
                timed(baseline, list(saved) if type(items) is list else saved, base_times[i], base_walls[i])
    if baseline is None:
        return Growth(sizes, _frozen(times), wall_seconds=_frozen(walls))
    return Growth(sizes, _frozen(times), _frozen(base_times), _frozen(walls), _frozen(base_walls))


def _frozen(lists: list[list[float]]) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(ts) for ts in lists)
