"""Timing you can trust: ``measure`` one function, ``compare`` several, ``Spans`` to see where the time goes.

>>> from perflab.timing import measure
>>> m = measure(sorted, list(range(1000)), budget=0.05)
>>> m.loops >= 1 and m.median > 0
True

The headline is the median of several runs with half the interquartile range (IQR/2) as its spread;
``min`` is the best case. The garbage collector is off while timing, and a noisy set of runs warns with
``NoisyMeasurement``. A default measurement takes about 0.2 s so notebooks stay quick.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import inspect
import itertools
import math
import statistics
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from perflab.errors import PerflabError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

Clock = Callable[[], float]
F = TypeVar("F", bound=Callable[..., Any])

NOISY_IQR = 0.25  # IQR / median above this is a noisy measurement
NOISY_SPREAD = 3.0  # slowest run / fastest run above this is a noisy measurement
MIN_SLOW_RUNS = 3  # a slow function still gets at least this many runs
MAX_LOOPS = 10**6  # calibration stops growing here (a clock that does not move)
_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


class NoisyMeasurement(UserWarning):
    """Warned when the runs of a measurement disagree too much for the median to be trusted."""


def _unit(seconds: float) -> tuple[str, float]:
    rounded = abs(float(f"{seconds:.3g}"))
    return next(((name, f) for name, f in _UNITS if rounded >= f), _UNITS[-1])


def format_time(seconds: float, spread: float | None = None) -> str:
    """Format seconds with 3 significant digits in ns, µs, ms or s (and an optional ± spread).

    >>> format_time(0.0032149, spread=0.00008)
    '3.21 ms ± 0.08 ms'

    seconds: the value shown; it picks the unit. spread: shown in the same unit and decimals.
    """
    name, factor = _unit(seconds)
    scaled = float(f"{seconds / factor:.3g}")
    decimals = max(0, 2 - math.floor(math.log10(abs(scaled)))) if scaled else 0
    text = f"{seconds / factor:.{decimals}f} {name}"
    return text if spread is None else f"{text} ± {spread / factor:.{decimals}f} {name}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, repr=False)
class Measurement:
    """Seconds per call from several timed runs: median, IQR, min, max, mean.

    >>> Measurement(samples=(0.003, 0.0032, 0.0034), loops=10)
    3.20 ms ± 0.10 ms (median ± IQR/2, 3 runs × 10 loops)

    samples: seconds per call, one figure per run. loops: calls per run. name: what was measured.
    """

    samples: tuple[float, ...]
    loops: int = 1
    name: str = ""
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
        return f"{spread} (median ± IQR/2, {_plural(self.runs, 'run')} × {_plural(self.loops, 'loop')})"


def _loop_counts() -> Iterator[int]:
    for power in itertools.count():
        yield from (1 * 10**power, 2 * 10**power, 5 * 10**power)


def _plan(budget: float, runs: int) -> Generator[int, float, tuple[int, list[float]]]:
    """Yield how many loops to time next, receive the seconds they took; return (loops, per-call samples)."""
    target = budget / runs
    loops, elapsed = 1, 0.0
    for loops in _loop_counts():  # calibrate: just long enough to estimate one call
        elapsed = yield loops
        if elapsed >= target / 10 or loops >= MAX_LOOPS:
            break
    per_call = elapsed / loops
    if per_call >= target:  # slow: one call per run, and only as many runs as fit the budget (>= 3)
        chosen, runs = 1, min(runs, max(MIN_SLOW_RUNS, int(budget / per_call)))
    elif per_call == 0:
        chosen = loops
    else:  # the largest 1-2-5 count whose run fits budget/runs
        chosen = list(itertools.takewhile(lambda n: n * per_call <= target, _loop_counts()))[-1]
    samples = [per_call] if chosen == loops else []
    while len(samples) < runs:
        samples.append((yield chosen) / chosen)
    return chosen, samples


def _check(fn: object, budget: float, runs: int) -> None:
    if not callable(fn):
        raise PerflabError(f"measure() needs a function to call, got {fn!r}; e.g. measure(sorted, data)")
    if not budget > 0:
        raise PerflabError(f"budget must be > 0 seconds, got {budget!r}; the default is 0.2")
    if not (isinstance(runs, int) and runs >= 1):
        raise PerflabError(f"runs must be a whole number >= 1, got {runs!r}; the default is 7")


def _name(fn: Any) -> str:
    fn = fn.func if isinstance(fn, functools.partial) else fn
    return str(getattr(fn, "__name__", type(fn).__name__))


def _prepare(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], budget: float, runs: int,
             warmup: bool) -> tuple[Callable[[], Any], bool]:
    """Check the options, bind the arguments, warm up a plain function; return (call, is it async)."""
    _check(fn, budget, runs)
    call = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
    if warmup and not is_async:
        first = call()
        if inspect.isawaitable(first):  # e.g. a lambda returning a coroutine: await the calls instead
            getattr(first, "close", lambda: None)()
            is_async = True
    return call, is_async


@contextmanager
def _gc_off() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _run(call: Callable[[], Any], budget: float, runs: int, clock: Clock) -> tuple[int, list[float]]:
    plan = _plan(budget, runs)
    with _gc_off():
        loops = next(plan)
        while True:
            start = clock()
            for _ in itertools.repeat(None, loops):
                call()
            elapsed = clock() - start
            try:
                loops = plan.send(elapsed)
            except StopIteration as done:
                return done.value


async def _arun(call: Callable[[], Awaitable[Any]], budget: float, runs: int, clock: Clock,
                warmup: bool) -> tuple[int, list[float]]:
    if warmup:
        await call()
    plan = _plan(budget, runs)
    with _gc_off():
        loops = next(plan)
        while True:
            start = clock()
            for _ in itertools.repeat(None, loops):
                await call()
            elapsed = clock() - start
            try:
                loops = plan.send(elapsed)
            except StopIteration as done:
                return done.value


def _warn_if_noisy(m: Measurement, budget: float) -> None:
    reason = m.noise()
    if reason:
        # warn_explicit: the line names perflab, not the caller's file (in Jupyter a temporary path), and
        # without a registry the warning shows every time instead of once per call site
        warnings.warn_explicit(f"noisy measurement of {m.name or 'the function'}: {reason}; close other programs "
                               f"(browser tabs, builds) and run again, or raise budget= (it was {budget:g} s)",
                               NoisyMeasurement, filename="perflab.measure", lineno=0)


def measure(fn: Callable[..., Any], /, *args: Any, budget: float = 0.2, runs: int = 7, warmup: bool = True,
            clock: Clock = time.perf_counter, **kwargs: Any) -> Measurement:
    """Time ``fn(*args, **kwargs)``: auto-ranged loops, several runs with the GC off, median ± IQR/2.

    >>> measure(sum, range(1000)).median < 0.01
    True

    Loops per run grow 1, 2, 5, 10, 20, 50, ... until a run is long enough to estimate one call, then the
    largest count whose run fits ``budget / runs`` is timed ``runs`` times, so the whole measurement takes
    about ``budget`` seconds. A function slower than ``budget / runs`` is called once per run, with only as
    many runs as fit the budget, never fewer than 3 (a 2 s function costs about 3 × 2 s). ``async def``
    functions are awaited in a fresh event loop; inside Jupyter (a loop is already running) use
    ``await ameasure(...)``. Warns ``NoisyMeasurement`` when the runs disagree.

    fn, args, kwargs: what to call (wrap it in a lambda if it needs a keyword named like an option below).
    budget: seconds to spend, roughly. runs: timed runs. warmup: make one untimed call first.
    clock: a function returning seconds (tests pass a fake one).
    """
    m = _measure(fn, args, kwargs, budget, runs, warmup, clock)
    _warn_if_noisy(m, budget)
    return m


def _measure(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], budget: float, runs: int,
             warmup: bool, clock: Clock) -> Measurement:
    call, is_async = _prepare(fn, args, kwargs, budget, runs, warmup)
    if is_async:
        import asyncio  # only here: importing it costs tens of ms

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            loops, samples = asyncio.run(_arun(call, budget, runs, clock, warmup))
        else:
            raise PerflabError(f"measure() cannot run async function {_name(fn)} while an event loop is "
                               f"running (as in Jupyter); use `await perflab.ameasure({_name(fn)})` instead")
    else:
        loops, samples = _run(call, budget, runs, clock)
    return Measurement(tuple(samples), loops, _name(fn))


async def ameasure(fn: Callable[..., Any], /, *args: Any, budget: float = 0.2, runs: int = 7,
                   warmup: bool = True, clock: Clock = time.perf_counter, **kwargs: Any) -> Measurement:
    """Like ``measure``, awaited inside a running event loop (a Jupyter cell): ``await ameasure(fetch)``.

    >>> import asyncio
    >>> async def nap():
    ...     await asyncio.sleep(0)
    >>> asyncio.run(ameasure(nap, budget=0.02)).runs
    7

    Parameters are those of ``measure``; a plain (not async) ``fn`` is simply called.
    """
    call, is_async = _prepare(fn, args, kwargs, budget, runs, warmup)
    if is_async:
        loops, samples = await _arun(call, budget, runs, clock, warmup)
    else:
        loops, samples = _run(call, budget, runs, clock)
    m = Measurement(tuple(samples), loops, _name(fn))
    _warn_if_noisy(m, budget)
    return m


def _speedup_text(x: float) -> str:
    return f"{x:.0f}x" if x >= 100 else f"{x:#.3g}".rstrip(".") + "x"


class Comparison:
    """Several measurements side by side, fastest first, with the speedup over the baseline (the first one).

    >>> c = compare(slow=Measurement((0.002,)), fast=Measurement((0.0005,)))
    >>> c.speedup("fast")
    4.0

    ``.table`` is a pandas DataFrame (times in ms); ``.plot()`` draws it.
    """

    def __init__(self, measurements: dict[str, Measurement], baseline: str) -> None:
        import pandas as pd

        self.measurements, self.baseline = dict(measurements), baseline
        base = measurements[baseline].median
        rows = [{"name": name, "median_ms": m.median * 1e3, "iqr_ms": m.iqr * 1e3, "min_ms": m.min * 1e3,
                 "runs": m.runs, "loops": m.loops, "speedup": base / m.median if m.median else math.inf}
                for name, m in measurements.items()]
        self.table: pd.DataFrame = pd.DataFrame(rows).sort_values("median_ms", kind="stable")
        self.table = self.table.reset_index(drop=True)

    def speedup(self, name: str) -> float:
        """Baseline median / this one's median (above 1: faster than the baseline)."""
        if name not in self.measurements:
            raise PerflabError(f"no measurement named {name!r} in this comparison; "
                               f"use one of {list(self.measurements)}")
        return float(self.table.loc[self.table["name"] == name, "speedup"].iloc[0])

    def _display(self) -> pd.DataFrame:
        import pandas as pd

        ms = self.measurements
        return pd.DataFrame({
            "name": self.table["name"],
            "median ± IQR/2": [format_time(ms[n].median, ms[n].iqr / 2) for n in self.table["name"]],
            "min": [format_time(ms[n].min) for n in self.table["name"]],
            "runs × loops": [f"{ms[n].runs} × {ms[n].loops}" for n in self.table["name"]],
            "speedup": [_speedup_text(s) + (" (baseline)" if n == self.baseline else "")
                        for n, s in zip(self.table["name"], self.table["speedup"], strict=True)],
        })

    def __repr__(self) -> str:
        return self._display().to_string(index=False)

    def _repr_html_(self) -> str:
        return str(self._display().to_html(index=False))

    def plot(self, ax: Axes | None = None, *, log: bool = False) -> Axes:
        """Horizontal bars of the medians (fastest on top) with IQR/2 error bars and speedup labels."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 1 + 0.45 * len(self.table)))
        unit, factor = _unit(float(self.table["median_ms"].max()) / 1e3)
        scale = 1e-3 / factor
        colors = ["0.6" if n == self.baseline else "C0" for n in self.table["name"]]
        bars = ax.barh(range(len(self.table)), self.table["median_ms"] * scale,
                       xerr=self.table["iqr_ms"] * scale / 2, color=colors, capsize=3)
        ax.bar_label(bars, labels=[_speedup_text(s) for s in self.table["speedup"]], padding=6)
        ax.margins(x=0.15)  # room for the labels
        ax.set_yticks(range(len(self.table)), labels=list(self.table["name"]))
        ax.invert_yaxis()
        ax.set_xlabel(f"median time per call ({unit}, {'log scale, ' if log else ''}error bar: IQR/2)")
        ax.set_title(f"speedup over {self.baseline}")
        if log:
            ax.set_xscale("log")
        return ax


def compare(*entries: Callable[..., Any] | Measurement, names: list[str] | None = None, budget: float = 0.2,
            runs: int = 7, **named: Callable[..., Any] | Measurement) -> Comparison:
    """Measure (or take measurements of) several variants; the first one is the baseline of the speedups.

    >>> c = compare(slow=lambda: sorted(range(2000), key=str), fast=lambda: sorted(range(2000)), budget=0.05)
    >>> c.table["name"].tolist()
    ['fast', 'slow']

    entries / named: functions (measured with ``measure``) or ``Measurement`` objects, positional or by
    keyword (so no variant can be called names, budget or runs). names: labels for the positional entries.
    budget, runs: passed to ``measure``.
    """
    if names is not None and len(names) != len(entries):
        raise PerflabError(f"names must label each positional entry: {len(entries)} entries, got "
                           f"{len(names)} names ({names!r})")
    labels: list[str | None] = list(names) if names else [None] * len(entries)
    items = list(zip(labels, entries, strict=True)) + list(named.items())
    if not items:
        raise PerflabError("compare() got nothing to compare; pass functions or measurements, "
                           "e.g. compare(slow=f, fast=g)")
    measurements: dict[str, Measurement] = {}
    for i, (label, item) in enumerate(items):
        if isinstance(item, Measurement):
            m = item
        else:
            m = _measure(item, (), {}, budget, runs, True, time.perf_counter)
            _warn_if_noisy(m, budget)
        label = label or (m.name if m.name and m.name != "<lambda>" else f"option {i + 1}")
        unique, n = label, 2
        while unique in measurements:
            unique, n = f"{label} ({n})", n + 1
        measurements[unique] = m
    return Comparison(measurements, next(iter(measurements)))


@dataclass(frozen=True)
class Span:
    """One timed block: its name, start and end (clock seconds), nesting depth and parent's name."""

    name: str
    start: float
    end: float
    depth: int
    parent: str | None

    @property
    def duration(self) -> float:
        """Seconds between start and end."""
        return self.end - self.start


class Spans:
    """Record named, nestable time spans (threads and asyncio tasks too) and show them as a waterfall.

    >>> tracker = Spans()
    >>> with tracker.span("page"):
    ...     with tracker.span("query"):
    ...         _ = sum(range(1000))
    >>> [(s.name, s.depth) for s in tracker.spans]
    [('page', 0), ('query', 1)]

    clock: a function returning seconds (tests pass a fake one). Spans started in concurrent tasks or
    threads keep their own start and end; an asyncio task inherits the depth of the span that started
    it. A thread does not inherit context: submit ``contextvars.copy_context().run, fn`` to a pool so
    its spans nest under the caller's.
    """

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self.clock = clock
        self._done: list[Span] = []
        self._lock = threading.Lock()
        self._current: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
            f"perflab_span_{id(self)}", default=None)

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Time the ``with`` block under ``name``, nested inside the span that is open around it."""
        parent = self._current.get()
        depth, parent_name = (0, None) if parent is None else (parent[1] + 1, parent[0])
        token = self._current.set((name, depth))
        start = self.clock()
        try:
            yield
        finally:
            span = Span(name, start, self.clock(), depth, parent_name)
            self._current.reset(token)
            with self._lock:
                self._done.append(span)

    def traced(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator: every call of the function (sync or async) is a span, named after it by default."""
        def decorate(fn: F) -> F:
            label = name or _name(fn)
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def awrapper(*args: Any, **kwargs: Any) -> Any:
                    with self.span(label):
                        return await fn(*args, **kwargs)
                return awrapper  # type: ignore[return-value]

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self.span(label):
                    return fn(*args, **kwargs)
            return wrapper  # type: ignore[return-value]
        return decorate

    @property
    def spans(self) -> tuple[Span, ...]:
        """Finished spans, in start order (outer before inner when they start together)."""
        with self._lock:
            return tuple(sorted(self._done, key=lambda s: (s.start, s.depth)))

    @property
    def total(self) -> float:
        """Wall time in seconds from the first span's start to the last span's end (0 with no spans)."""
        spans = self.spans
        return max(s.end for s in spans) - min(s.start for s in spans) if spans else 0.0

    def clear(self) -> None:
        """Forget the finished spans."""
        with self._lock:
            self._done.clear()

    def __repr__(self) -> str:
        return f"Spans({_plural(len(self._done), 'span')}, total {format_time(self.total)})"

    def table(self) -> pd.DataFrame:
        """One row per span: name, depth, start_ms (from the first start), duration_ms, share of the total."""
        import pandas as pd

        spans, total = self.spans, self.total
        origin = spans[0].start if spans else 0.0
        return pd.DataFrame([{"name": s.name, "depth": s.depth, "start_ms": (s.start - origin) * 1e3,
                              "duration_ms": s.duration * 1e3, "share": s.duration / total if total else 0.0}
                             for s in spans], columns=["name", "depth", "start_ms", "duration_ms", "share"])

    def plot(self, ax: Axes | None = None) -> Axes:
        """Waterfall: one bar per span at its start offset; overlapping bars are work done in parallel."""
        table = self.table()
        if table.empty:
            raise PerflabError("no spans recorded yet, got 0; time some code with tracker.span('name') first")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 1 + 0.35 * len(table)))
        ax.barh(range(len(table)), table["duration_ms"], left=table["start_ms"],
                color=[f"C{d % 10}" for d in table["depth"]])
        labels = ["  " * d + n for n, d in zip(table["name"], table["depth"], strict=True)]
        ax.set_yticks(range(len(table)), labels=labels)
        ax.invert_yaxis()
        ax.set_xlabel("ms since the first span started")
        ax.set_title(f"spans: total {format_time(self.total)}")
        return ax
