"""Time across input sizes: a slow function estimated on all rows from two smaller sizes, several functions swept
over sizes with the size where one starts beating another.

>>> est = extrapolate(lambda xs: [x * 2 for x in xs], list(range(20_000)), budget=0.02)
>>> est.name, est.runs >= 3
('<lambda> (from 1,000 and 5,000 rows)', True)
>>> s = Sweep((1, 10, 100), {"python": (1e-6, 2e-6, 9e-6), "numpy": (3e-6, 3e-6, 4e-6)})
>>> s.crossover("numpy", "python")
100
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.errors import PerflabError
from perflab.timing.measure import Clock, Measurement, measure_many

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _first(rows: Any, n: int) -> Any:
    return rows.iloc[:n] if hasattr(rows, "iloc") else rows[:n]


def extrapolate(fn: Callable[[Any], Any], rows: Any, sizes: tuple[int, int] = (1_000, 5_000), *,
                budget: float = 0.3, runs: int = 3, clock: Clock = time.perf_counter) -> Measurement:
    """Estimate ``fn(rows)`` from timing ``fn`` on the first ``sizes[0]`` and ``sizes[1]`` rows.

    >>> est = extrapolate(sorted, list(range(20_000)), budget=0.02)
    >>> est.median > 0
    True

    Each run's estimate is the time on the small size plus the cost per extra row (the difference between the
    two sizes, divided by the rows between them) times the rows left: a fixed cost per call is counted once,
    not scaled with the rows, so the estimate is not inflated the way ``time(1,000 rows) × rows / 1,000`` is.
    The runs of the two sizes alternate (:func:`~perflab.timing.measure_many`). Parameters: ``fn`` takes the
    rows; ``rows`` a DataFrame (sliced with ``iloc``) or a sequence; ``sizes`` two growing sizes, at most
    ``len(rows)``; ``budget``, ``runs`` and ``clock`` as for :func:`~perflab.timing.measure`.
    """
    small, large = sizes
    total = len(rows)
    if not 0 < small < large <= total:
        raise PerflabError(f"sizes must be two growing sizes up to the {total:,} rows, got {sizes!r}; "
                           "e.g. sizes=(1_000, 5_000)")
    def on_first(n: int) -> Callable[[], Any]:
        head = _first(rows, n)
        return lambda: fn(head)

    timed = measure_many({str(n): on_first(n) for n in sizes}, budget=budget, runs=runs, clock=clock)
    per_row = [(b - a) / (large - small) for a, b in zip(timed[str(small)].samples, timed[str(large)].samples)]
    samples = tuple(a + slope * (total - small) for a, slope in zip(timed[str(small)].samples, per_row))
    return Measurement(samples, 1, f"{fn_name(fn)} (from {small:,} and {large:,} rows)")


@dataclass(frozen=True)
class Sweep:
    """Median seconds per call of several functions at each size (from :func:`sweep`).

    >>> Sweep((1, 10), {"a": (1e-6, 5e-6), "b": (2e-6, 3e-6)}).crossover("b", "a")
    10
    """

    sizes: tuple[int, ...]
    seconds: Mapping[str, tuple[float, ...]]

    def crossover(self, name: str, against: str) -> int | None:
        """The first size at which ``name`` is faster than ``against`` (None if it never is)."""
        for missing in {name, against} - set(self.seconds):
            raise PerflabError(f"no function named {missing!r} in this sweep; use one of {list(self.seconds)}")
        pairs = zip(self.sizes, self.seconds[name], self.seconds[against])
        return next((n for n, ours, theirs in pairs if ours < theirs), None)

    def plot(self, ax: Axes | None = None, *, title: str = "", xlabel: str = "items") -> Axes:
        """A log-log line per function: µs per call against the size."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        for name, seconds in self.seconds.items():
            ax.plot(self.sizes, [s * 1e6 for s in seconds], marker="o", label=name)
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="µs per call", title=title)
        ax.legend()
        return ax


def sweep(ways_at: Callable[[int], Mapping[str, Callable[[], Any]]], sizes: Sequence[int], *,
          budget: float = 0.03, runs: int = 3, clock: Clock = time.perf_counter) -> Sweep:
    """Time the functions ``ways_at(n)`` returns (their runs interleaved) at each size ``n``.

    >>> s = sweep(lambda n: {"sum": lambda: sum(range(n))}, [10, 1_000], budget=0.01)
    >>> s.sizes, len(s.seconds["sum"])
    ((10, 1000), 2)

    Parameters: ``ways_at(n)`` builds its inputs of size ``n`` and returns ``{name: function}`` (the same names
    at every size); ``sizes`` in growing order; ``budget`` and ``runs`` per size, and ``clock``, as for
    :func:`~perflab.timing.measure`.
    """
    seconds: dict[str, list[float]] = {}
    for n in sizes:
        for name, m in measure_many(ways_at(n), budget=budget, runs=runs, clock=clock).items():
            seconds.setdefault(name, []).append(m.median)
    return Sweep(tuple(sizes), {name: tuple(values) for name, values in seconds.items()})
