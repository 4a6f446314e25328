"""What a way of loading related data costs a page: statements, rows and values sent, time, memory.

>>> from perflab.loading import crossover
>>> crossover([0, 10, 20], lazy=[1.0, 4.0, 6.0], eager=[5.0, 5.0, 5.0])
15.0

Chapter 03 compares lazy and eager loading (by hand and with SQLAlchemy's loader options) page by
page: :func:`cost` runs a page once under a query log and times it on the local database and on
one with injected latency; :func:`crossover` finds the share of parents read at which lazy loading
stops being the cheaper one, and :func:`plot_tradeoff` draws both.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError
from perflab.memory import peak_kib
from perflab.querylog import Statement, query_log

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from sqlalchemy import Engine

#: A first run slower than this (ms) is the measurement: no second and third run.
SLOW_MS = 50.0
#: The time columns of :func:`cost`: on the engine as it is, and on the engine with latency.
LOCAL, REMOTE = "ms, local", "ms, remote"
#: The memory column of :func:`cost`.
MEMORY = "peak KiB"
#: The shares read that the plot's x axis labels (percent).
_TICKS = (0, 1, 2, 5, 10, 20, 50, 100)


def _once_ms(fn: Callable[..., Any], args: tuple[Any, ...]) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn(*args)
        return (time.perf_counter() - start) * 1e3
    finally:
        if gc_was_enabled:
            gc.enable()


def quick_ms(fn: Callable[..., Any], /, *args: Any) -> float:
    """Milliseconds per call of ``fn(*args)``, GC off: the median of 3 runs, or 1 run if it takes over 50 ms.

    >>> quick_ms(sum, range(1000)) < 50
    True

    Quicker and rougher than ``perflab.measure``: for comparing costs that differ by a factor, in
    cells that run dozens of measurements.

    Parameters:
        fn, args: the call to time.
    """
    first = _once_ms(fn, args)
    if first > SLOW_MS:
        return first
    return statistics.median([first, _once_ms(fn, args), _once_ms(fn, args)])


def transferred(engine: Engine, statements: Sequence[Statement]) -> tuple[int, int]:
    """(rows, values) that recorded statements return, counted by running each of them again.

    >>> with perflab.query_log(engine) as log:  # doctest: +SKIP
    ...     users = session.scalars(select(User).limit(3)).all()
    >>> transferred(engine, log.statements)  # doctest: +SKIP
    (3, 15)

    A value is one column of one row: a JOIN's rows carry the columns of both tables.

    Parameters:
        engine: the database the statements ran on (without injected latency, to be quick).
        statements: ``QueryLog.statements`` (read-only statements: each one runs again).
    """
    rows = values = 0
    with engine.connect() as conn:
        for st in statements:
            result = conn.exec_driver_sql(st.sql, st.params or None)
            n = len(result.fetchall())
            rows += n
            values += n * len(result.keys())
    return rows, values


def cost(run: Callable[[Engine], Any], engine: Engine, remote: Engine | None = None, *,
         transfer: bool = False, memory: bool = True) -> dict[str, float]:
    """What ``run(engine)`` costs: statements, (rows, values), ms local, (ms remote), peak KiB.

    >>> cost(lambda eng: users_with_orders(eng), engine, net)  # doctest: +SKIP
    {'statements': 2, 'ms, local': 4.1, 'ms, remote': 6.3, 'peak KiB': 230.5}

    Statements, rows, values and memory are counted on ``engine``; ``ms, local`` is timed on ``engine``
    and ``ms, remote`` on ``remote`` (the same database with injected latency), each with
    :func:`quick_ms`. The keys are the columns of a DataFrame built from a list of these dicts.

    Parameters:
        run: the page, a function of an engine (``lambda eng: render(load(eng, ids))``).
        engine: the database as it is. remote: the same database with latency (None: not timed).
        transfer: also count rows and values, by running each statement again (:func:`transferred`).
        memory: also measure the peak memory of one run (:func:`perflab.memory.peak_kib`).
    """
    if not callable(run):
        raise PerflabError(f"cost() needs the page as a function of an engine, got {run!r} — "
                           "e.g. cost(lambda eng: users_with_orders(eng, 'selectin'), engine)")
    with query_log(engine) as log:
        run(engine)
    row: dict[str, float] = {"statements": log.count}
    if transfer:
        row["rows"], row["values"] = transferred(engine, log.statements)
    row[LOCAL] = quick_ms(run, engine)
    if remote is not None:
        row[REMOTE] = quick_ms(run, remote)
    if memory:
        row[MEMORY] = peak_kib(run, engine)
    return row


def crossover(used: Sequence[float], lazy: Sequence[float], eager: Sequence[float]) -> float | None:
    """The share ``used`` at which lazy stops being cheaper than eager (interpolated), or None if it never does.

    >>> crossover([0, 50, 100], lazy=[1, 2, 3], eager=[5, 5, 5]) is None  # lazy cheaper throughout
    True
    >>> crossover([0, 50, 100], lazy=[6, 7, 8], eager=[5, 5, 5])  # never cheaper
    0.0

    The crossing after the *last* share where lazy is cheaper is used, so one noisy point early on
    does not hide a later, real crossing.

    Parameters:
        used: the shares measured, ascending (any unit: fractions or percent; the result has the same).
        lazy, eager: the cost of each way of loading at those shares (time or memory), same length.
    """
    if not (len(used) == len(lazy) == len(eager)) or not used:
        raise PerflabError(f"crossover() needs equally long, non-empty sequences, got lengths "
                           f"{len(used)}, {len(lazy)}, {len(eager)} — pass one cost per share measured")
    if any(b <= a for a, b in zip(used, used[1:])):
        raise PerflabError(f"crossover() needs the shares in ascending order, got {list(used)} — sort them first")
    cheaper = [i for i, (lz, eg) in enumerate(zip(lazy, eager)) if lz < eg]
    if not cheaper:
        return float(used[0])
    last = cheaper[-1]
    if last == len(used) - 1:
        return None
    d0, d1 = lazy[last] - eager[last], lazy[last + 1] - eager[last + 1]
    return float(used[last] + (used[last + 1] - used[last]) * (-d0) / (d1 - d0))


def crossovers(sweep: pd.DataFrame) -> dict[str, float | None]:
    """For each cost measured in a sweep, the share read (percent) at which lazy stops being cheaper.

    >>> import pandas as pd
    >>> sweep = pd.DataFrame({"used": [0, 0, 10, 10], "loading": ["lazy", "eager"] * 2,
    ...                       "ms, local": [1.0, 5.0, 9.0, 5.0]})
    >>> crossovers(sweep)
    {'ms, local': 5.0}

    Parameters:
        sweep: one row per share read and way of loading: columns ``used`` (percent), ``loading``
            ("lazy" or "eager") and any of ``ms, local``, ``ms, remote``, ``peak KiB`` (as :func:`cost` names them).
    """
    _check_sweep(sweep)
    found: dict[str, float | None] = {}
    for measure in (m for m in (LOCAL, REMOTE, MEMORY) if m in sweep.columns):
        wide = sweep.pivot_table(index="used", columns="loading", values=measure).sort_index()
        found[measure] = crossover(list(wide.index), list(wide["lazy"]), list(wide["eager"]))
    return found


def _check_sweep(sweep: pd.DataFrame) -> None:
    missing = {"used", "loading"} - set(sweep.columns)
    kinds = set(sweep["loading"]) if "loading" in sweep.columns else set()
    if missing or kinds != {"lazy", "eager"}:
        raise PerflabError(f"a sweep needs columns 'used' and 'loading' with rows for 'lazy' and 'eager', got columns "
                           f"{list(sweep.columns)} and loadings {sorted(kinds)} — build it from cost() rows")


def plot_tradeoff(sweep: pd.DataFrame, *, local: str = "local", remote: str = "remote") -> Figure:
    """Time (left) and memory (right) of lazy and eager loading against the share read, crossovers marked.

    >>> fig = plot_tradeoff(sweep, local="SQLite in this process", remote="+1 ms a round trip")  # doctest: +SKIP

    The x axis is symlog (linear below 1%, logarithmic above), so 0%, 1%, 2% and 5% do not overlap;
    the time axis is logarithmic. A grey vertical line marks each crossover; the legends sit below the plots.

    Parameters:
        sweep: as for :func:`crossovers`, with the columns ``ms, local``, ``ms, remote`` and ``peak KiB``.
        local, remote: how the legend names the two databases (e.g. ``describe_backend(engine)``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    _check_sweep(sweep)
    where = crossovers(sweep)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 5.8), layout="constrained")
    for color, loading in (("C0", "lazy"), ("C1", "eager")):
        rows = sweep[sweep["loading"] == loading].sort_values("used")
        left.plot(rows["used"], rows[REMOTE], "-o", color=color, ms=3, label=f"{loading}, {remote}")
        left.plot(rows["used"], rows[LOCAL], ":o", color=color, ms=3, label=f"{loading}, {local}")
        right.plot(rows["used"], rows[MEMORY] / 1024, "-o", color=color, ms=3, label=loading)
    marks = ((left, REMOTE, "-", remote), (left, LOCAL, ":", local), (right, MEMORY, "-", "memory"))
    for ax, measure, style, name in marks:
        share = where.get(measure)
        if share is not None:
            ax.axvline(share, color="grey", linestyle=style, linewidth=1, label=f"crossover, {name}: {share:.1f}%")
    for ax in (left, right):
        ax.set_xscale("symlog", linthresh=1, linscale=0.5)
        ax.set_xlim(-0.3, 130)  # no empty negative decade on the left
        ax.xaxis.set_major_locator(FixedLocator(list(_TICKS)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t}%" for t in _TICKS])
        ax.set_xlabel("share of the users whose orders are read")
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    left.set(yscale="log", ylabel="ms per page (log scale)", title="time")
    right.set(ylabel="peak MiB (tracemalloc)", title="memory")
    return fig
