"""Time one function (``measure``, ``ameasure``) or several with their runs interleaved (``measure_many``).

>>> m = measure(sorted, list(range(1000)), budget=0.05)
>>> m.loops >= 1 and m.median > 0
True

The headline is the median of several runs with half the interquartile range (IQR/2) as its spread;
``min`` is the best case. The garbage collector is off while timing (``gc=True`` leaves it on), and a
noisy set of runs warns with ``NoisyMeasurement``. A default measurement takes about 0.2 s so notebooks
stay quick.
"""

from __future__ import annotations

import functools
import gc
import inspect
import itertools
import statistics
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name, format_time, plural
from perflab.errors import PerflabError

if TYPE_CHECKING:
    import asyncio

Clock = Callable[[], float]

NOISY_IQR = 0.25  # IQR / median above this is a noisy measurement
NOISY_SPREAD = 3.0  # slowest run / fastest run above this is a noisy measurement
MIN_SLOW_RUNS = 3  # a slow function still gets at least this many runs
MAX_LOOPS = 10**6  # calibration stops growing here (a clock that does not move)


class NoisyMeasurement(UserWarning):
    """Warned when the runs of a measurement disagree too much for the median to be trusted."""


@dataclass(frozen=True, repr=False)
class Measurement:
    """Seconds per call from several timed runs: median, IQR, min, max, mean.

    >>> Measurement(samples=(0.003, 0.0032, 0.0034), loops=10)
    3.20 ms ± 0.10 ms (median ± IQR/2, 3 runs × 10 loops)
    >>> Measurement(samples=(0.003,), gc=True)
    3.00 ms ± 0.00 ms (median ± IQR/2, 1 run × 1 loop, GC on)

    Parameters:
        samples: seconds per call, one figure per run.
        loops: calls per run.
        name: what was measured.
        gc: whether the garbage collector was on while timing (off by default, so its pauses do not land
            in a random run).
    """

    samples: tuple[float, ...]
    loops: int = 1
    name: str = ""
    gc: bool = False
    runs: int = field(init=False, compare=False)  # the figures below are seconds per call
    median: float = field(init=False, compare=False)  # the headline
    iqr: float = field(init=False, compare=False)  # interquartile range of the runs (0 with one run)
    min: float = field(init=False, compare=False)  # the best case
    max: float = field(init=False, compare=False)
    mean: float = field(init=False, compare=False)  # pulled up by slow outliers: prefer the median

    def __post_init__(self) -> None:
        if not self.samples:
            raise PerflabError("a Measurement needs at least one sample, got none; pass samples=(0.1, ...)")
        if not (isinstance(self.loops, int) and self.loops >= 1):
            raise PerflabError(f"loops must be a whole number >= 1, got {self.loops!r}")
        xs = tuple(float(s) for s in self.samples)
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else (0, 0, 0)
        figures = {"samples": xs, "runs": len(xs), "median": statistics.median(xs), "iqr": q3 - q1,
                   "min": min(xs), "max": max(xs), "mean": statistics.fmean(xs)}
        for key, value in figures.items():
            object.__setattr__(self, key, value)

    ms = property(lambda self: self.median * 1e3, doc="Median in milliseconds.")
    us = property(lambda self: self.median * 1e6, doc="Median in microseconds.")

    def noise(self) -> str | None:
        """Why these runs are too noisy to trust, or None when they agree."""
        reasons = []
        if self.median > 0 and self.iqr / self.median > NOISY_IQR:
            reasons.append(f"the IQR is {self.iqr / self.median:.0%} of the median")
        if self.max > NOISY_SPREAD * self.min:
            reasons.append(f"the slowest run took {self.max / self.min:.1f}x the fastest"
                           if self.min > 0 else "some runs took no measurable time")
        return " and ".join(reasons) or None

    def __repr__(self) -> str:
        spread = format_time(self.median, spread=self.iqr / 2)
        shape = f"{plural(self.runs, 'run')} × {plural(self.loops, 'loop')}{', GC on' if self.gc else ''}"
        return f"{spread} (median ± IQR/2, {shape})"


@dataclass(frozen=True)
class Plan:
    """What calibration decided: ``runs`` timed runs of ``loops`` calls each.

    first: seconds per call of the last calibration run when it already had ``loops`` calls (it can
    count as the first timed run), else None.
    """

    loops: int
    runs: int
    first: float | None


def _loop_counts() -> Iterator[int]:
    for power in itertools.count():
        yield from (1 * 10**power, 2 * 10**power, 5 * 10**power)


def calibrate(budget: float, runs: int) -> Generator[int, float, Plan]:
    """Yield how many loops to time next, receive the seconds they took; return the ``Plan``.

    >>> steps = calibrate(budget=0.2, runs=7)
    >>> next(steps), steps.send(0.0001), steps.send(0.0002), steps.send(0.0005), steps.send(0.004)
    (1, 2, 5, 10, 10)
    >>> steps.send(0.002)  # 10 loops took 4 ms, then 2 ms (the first run was held up): one more count
    20
    >>> steps.send(0.004)  # 20 loops in 4 ms, 0.2 ms per call, twice: 100 loops fit 0.2 s / 7, 200 do not
    20
    >>> try:
    ...     steps.send(0.0041)
    ... except StopIteration as done:
    ...     done.value
    Plan(loops=100, runs=7, first=None)

    Loop counts grow 1, 2, 5, 10, 20, ... until a run lasts at least ``budget / runs / 10`` twice in a
    row at the same count (a run slowed down by another program must not cut the loop count), or once
    when it lasts ``budget / runs`` or more (a slow function). The faster of the two runs sets the plan.

    Parameters:
        budget: seconds the timed runs should take in all.
        runs: timed runs wanted (a slow function gets fewer, never fewer than 3).
    """
    target = budget / runs
    loops, elapsed = 1, 0.0
    for loops in _loop_counts():  # just long enough to estimate one call
        elapsed = yield loops
        if target / 10 <= elapsed < target:  # long enough: unless another program held the CPU, again
            elapsed = min(elapsed, (yield loops))
        if elapsed >= target / 10 or loops >= MAX_LOOPS:
            break
    per_call = elapsed / loops
    if per_call >= target:  # slow: one call per run, and only as many runs as fit the budget (>= 3)
        chosen, runs = 1, min(runs, max(MIN_SLOW_RUNS, int(budget / per_call)))
    elif per_call == 0:
        chosen = loops
    else:  # the largest 1-2-5 count whose run fits budget/runs
        chosen = list(itertools.takewhile(lambda n: n * per_call <= target, _loop_counts()))[-1]
    return Plan(chosen, runs, per_call if chosen == loops else None)


def check_options(fn: object, budget: float, runs: int) -> None:
    """Raise a one-line ``PerflabError`` for something that cannot be timed or a budget/runs out of range."""
    if not callable(fn):
        raise PerflabError(f"measure() needs a function to call, got {fn!r}; e.g. measure(sorted, data)")
    if not budget > 0:
        raise PerflabError(f"budget must be > 0 seconds, got {budget!r}; the default is 0.2")
    if not (isinstance(runs, int) and runs >= 1):
        raise PerflabError(f"runs must be a whole number >= 1, got {runs!r}; the default is 7")


def variant_name(fn: Any) -> str:
    """The name of what is timed: the function's own name, also through ``functools.partial``.

    >>> variant_name(functools.partial(sorted, reverse=True))
    'sorted'
    """
    return fn_name(fn.func if isinstance(fn, functools.partial) else fn)


@contextmanager
def gc_state(enabled: bool) -> Iterator[None]:
    """Run the block with the garbage collector on (``enabled``) or off, then restore how it was."""
    was_on = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if was_on else gc.disable)()


class Runner:
    """One function with its arguments bound, timed in whole runs: ``runner(loops)`` -> seconds taken.

    >>> with Runner(sorted, ([3, 1, 2],), {}) as runner:
    ...     runner(100) > 0
    True

    An ``async def`` function (or a function returning an awaitable) is awaited: ``await runner.atime(n)``
    inside a running event loop, or ``runner(n)`` on a private loop that ``close()`` (or the ``with``
    block) shuts down.

    Parameters:
        fn, args, kwargs: what to call.
        clock: a function returning seconds (tests pass a fake one).
        warmup: make one untimed call before timing; ``warmup()`` makes it if it is still due.
    """

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 clock: Clock = time.perf_counter, warmup: bool = True) -> None:
        self.name = variant_name(fn)
        self.call: Callable[[], Any] = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
        self.clock = clock
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
        self.warmup_due = warmup
        self._loop: asyncio.AbstractEventLoop | None = None
        if warmup and not self.is_async:
            first = self.call()  # the warm-up, which also unmasks a lambda returning a coroutine
            if inspect.isawaitable(first):
                getattr(first, "close", lambda: None)()
                self.is_async = True  # and the warm-up is still due: an awaited one
            else:
                self.warmup_due = False

    def __call__(self, loops: int) -> float:
        if not self.is_async:
            call, start = self.call, self.clock()
            for _ in itertools.repeat(None, loops):
                call()
            return self.clock() - start
        if self._loop is None:
            import asyncio  # only here: importing it costs tens of ms

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self._loop = asyncio.new_event_loop()
            else:
                raise PerflabError(f"cannot time async function {self.name} with measure() or compare() while "
                                   f"an event loop is running (as in Jupyter); use `await perflab.ameasure("
                                   f"{self.name})` instead (compare() takes the measurements)") from None
        return self._loop.run_until_complete(self.atime(loops))

    async def atime(self, loops: int) -> float:
        """Seconds that ``loops`` awaited calls took (a plain function is simply called)."""
        if not self.is_async:
            return self(loops)
        call, start = self.call, self.clock()
        for _ in itertools.repeat(None, loops):
            await call()
        return self.clock() - start

    def warmup(self) -> None:
        """Make the untimed first call if it is still due (``async`` functions: on the private loop)."""
        if self.warmup_due:
            self(1)
            self.warmup_due = False

    def close(self) -> None:
        """Shut down the private event loop, if one was started."""
        if self._loop is not None:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _calibrated(runner: Runner, budget: float, runs: int) -> Plan:
    steps = calibrate(budget, runs)
    loops = next(steps)
    while True:
        try:
            loops = steps.send(runner(loops))
        except StopIteration as done:
            return done.value


def run_interleaved(runners: Sequence[Runner], budget: float, runs: int, *, gc: bool = False,
                    reuse_calibration: bool = True) -> list[tuple[int, list[float]]]:
    """Warm up and calibrate each runner in turn, then time their runs in rotating rounds (A B C, B C A, …).

    Returns (loops, seconds per call of each run) per runner, in order. With ``reuse_calibration`` the
    last calibration run counts as a timed run when it had the chosen loop count (a slow function).

    Parameters:
        runners: what to time. budget: seconds per runner, roughly. runs: timed runs per runner.
        gc: leave the garbage collector on while timing (default: off).
        reuse_calibration: see above; ``compare`` turns it off so every timed run is taken in its round.
    """
    with gc_state(gc):
        for runner in runners:
            runner.warmup()
        plans = [_calibrated(runner, budget, runs) for runner in runners]
        samples: list[list[float]] = [[p.first] if reuse_calibration and p.first is not None else []
                                      for p in plans]
        n = len(runners)
        for round_ in range(max(p.runs for p in plans)):
            for i in range(n):  # rotated each round (A B C, B C A, C A B): nobody always follows the same one
                runner, plan, taken = runners[(i + round_) % n], plans[(i + round_) % n], samples[(i + round_) % n]
                if len(taken) < plan.runs:
                    taken.append(runner(plan.loops) / plan.loops)
    return [(plan.loops, taken) for plan, taken in zip(plans, samples, strict=True)]


def warn_if_noisy(m: Measurement, budget: float) -> None:
    """Warn ``NoisyMeasurement`` (saying why and what to do) when ``m``'s runs disagree too much."""
    reason = m.noise()
    if reason:
        # warn_explicit: the line names perflab, not the caller's file (in Jupyter a temporary path), and
        # without a registry the warning shows every time instead of once per call site
        warnings.warn_explicit(f"noisy measurement of {m.name or 'the function'}: {reason}; close other programs "
                               f"(browser tabs, builds) and run again, or raise budget= (it was {budget:g} s)",
                               NoisyMeasurement, filename="perflab.measure", lineno=0)


def measure(fn: Callable[..., Any], /, *args: Any, budget: float = 0.2, runs: int = 7, warmup: bool = True,
            gc: bool = False, clock: Clock = time.perf_counter, **kwargs: Any) -> Measurement:
    """Time ``fn(*args, **kwargs)``: auto-ranged loops, several runs with the GC off, median ± IQR/2.

    >>> measure(sum, range(1000)).median < 0.01
    True

    How many calls: one warm-up; calibration runs of 1, 2, 5, 10, 20, 50, ... loops until a run lasts at
    least ``budget / runs / 10`` twice in a row at the same count; then ``runs`` runs of the largest 1-2-5
    loop count whose run fits ``budget / runs``. A 1 ms function at the defaults: 1 + (1 + 2 + 5 + 5) +
    7 × 20 = 154 calls, 0.15 s.
    A function slower than ``budget / runs`` is called once per run, with only as many runs as fit the
    budget, never fewer than 3, and its one calibration call is its first run: a 2 s function is called
    1 + 3 times (8 s). ``async def`` functions are awaited on a private event loop; inside Jupyter (a loop
    is already running) use ``await ameasure(...)``. Warns ``NoisyMeasurement`` when the runs disagree.

    Parameters:
        fn, args, kwargs: what to call (wrap it in a lambda if it needs a keyword named like an option below).
        budget: seconds to spend, roughly.
        runs: timed runs.
        warmup: make one untimed call first.
        gc: leave the garbage collector on while timing, to include its work (the repr then says "GC on").
        clock: a function returning seconds (tests pass a fake one).
    """
    check_options(fn, budget, runs)
    with Runner(fn, args, kwargs, clock, warmup) as runner:
        [(loops, samples)] = run_interleaved([runner], budget, runs, gc=gc)
    m = Measurement(tuple(samples), loops, runner.name, gc=gc)
    warn_if_noisy(m, budget)
    return m


def measure_many(fns: Mapping[str, Callable[[], Any]], *, budget: float = 0.2, runs: int = 7, gc: bool = False,
                 clock: Clock = time.perf_counter) -> dict[str, Measurement]:
    """Measure several functions fairly: each is warmed up and calibrated, then their runs alternate.

    >>> ms = measure_many({"a": lambda: sum(range(100)), "b": lambda: sum(range(100))}, budget=0.02)
    >>> list(ms), all(m.runs >= 3 for m in ms.values())
    (['a', 'b'], True)

    The timed runs go in rounds, A B C, B C A, C A B, …, so a machine that slows down or speeds up half-way
    (another program, CPU frequency) slows every function alike instead of biasing their ratio, and no
    function always runs right after the same other one. Each function is called
    1 (warm-up) + calibration + runs × loops times, as in ``measure``, except that a slow function's
    calibration call is not reused as a run (every timed run is taken in its round).

    Parameters:
        fns: name -> function to call without arguments; the name labels its ``Measurement``.
        budget, runs, gc, clock: as in ``measure``, per function.
    """
    for fn in fns.values():
        check_options(fn, budget, runs)
    runners = [Runner(fn, (), {}, clock) for fn in fns.values()]
    try:
        results = run_interleaved(runners, budget, runs, gc=gc, reuse_calibration=False)
    finally:
        for runner in runners:
            runner.close()
    measured = {name: Measurement(tuple(samples), loops, name, gc=gc)
                for name, (loops, samples) in zip(fns, results, strict=True)}
    for m in measured.values():
        warn_if_noisy(m, budget)
    return measured


async def ameasure(fn: Callable[..., Any], /, *args: Any, budget: float = 0.2, runs: int = 7,
                   warmup: bool = True, gc: bool = False, clock: Clock = time.perf_counter,
                   **kwargs: Any) -> Measurement:
    """Like ``measure``, awaited inside a running event loop (a Jupyter cell): ``await ameasure(fetch)``.

    >>> import asyncio
    >>> async def nap():
    ...     await asyncio.sleep(0)
    >>> asyncio.run(ameasure(nap, budget=0.02)).runs
    7

    Parameters are those of ``measure`` (and so is the count of calls); a plain (not async) ``fn`` is simply
    called.
    """
    check_options(fn, budget, runs)
    runner = Runner(fn, args, kwargs, clock, warmup)
    if not runner.is_async:
        [(loops, samples)] = run_interleaved([runner], budget, runs, gc=gc)
    else:
        with gc_state(gc):
            if runner.warmup_due:
                await runner.atime(1)
            steps = calibrate(budget, runs)
            loops = next(steps)
            while True:
                try:
                    loops = steps.send(await runner.atime(loops))
                except StopIteration as done:
                    plan: Plan = done.value
                    break
            samples = [plan.first] if plan.first is not None else []
            while len(samples) < plan.runs:
                samples.append(await runner.atime(plan.loops) / plan.loops)
            loops = plan.loops
    m = Measurement(tuple(samples), loops, runner.name, gc=gc)
    warn_if_noisy(m, budget)
    return m
