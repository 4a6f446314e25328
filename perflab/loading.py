"""What a way of loading related data costs a page: statements, round trips, rows and values sent, time, memory.

>>> from perflab.loading import crossing
>>> crossing([0, 10, 20], lazy=[1.0, 4.0, 6.0], eager=[5.0, 5.0, 5.0])
(15.0, 15.0)

Chapter 03 compares lazy and eager loading (by hand and with SQLAlchemy's loader options) page by
page: :func:`cost` runs a page once under a query log and times it on the local database and on
one with injected latency; :func:`share_sweep` does that for every share of the parents whose related rows
are read; :func:`crossing` finds the share at which lazy loading stops being the cheaper one, and
:func:`plot_tradeoff` draws both.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
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
#: The column of :func:`cost` counting round trips: statements plus BEGIN / COMMIT / ROLLBACK.
ROUND_TRIPS = "round trips"
#: The memory column of :func:`cost`.
MEMORY = "peak KiB"
#: The shares read that the plot's x axis labels (percent).
_TICKS = (0, 1, 2, 5, 10, 20, 50, 100)


def once_ms(fn: Callable[..., Any], /, *args: Any, clock: Callable[[], float] = time.perf_counter) -> float:
    """Milliseconds that one call of ``fn(*args)`` takes, with the garbage collector off meanwhile.

    >>> once_ms(sum, range(1000)) < 50
    True

    A collection pass in the middle of one timed run would be counted against whatever ran then.
    ``clock`` (seconds) is for tests: a deterministic stand-in for time.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        fn(*args)
        return (clock() - start) * 1e3
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
    first = once_ms(fn, *args)
    if first > SLOW_MS:
        return first
    return statistics.median([first, once_ms(fn, *args), once_ms(fn, *args)])


def best_ms(calls: Sequence[Callable[[], Any]], runs: int = 3,
            clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Milliseconds per call of each of ``calls``: the best of ``runs`` runs, the calls taken in turn, GC off.

    >>> fast, slow = best_ms([lambda: sum(range(10)), lambda: sum(range(100_000))])
    >>> fast < slow
    True

    For costs close to each other, where one disturbed run (or a machine busier during one call's runs than
    another's) would swap them: every call runs once per round, ``runs`` rounds, and each keeps its best.

    Parameters:
        calls: the calls to time, without arguments (``partial(page, engine)``).
        runs: rounds. clock: as for :func:`once_ms`.
    """
    best = [float("inf")] * len(calls)
    for _ in range(max(1, runs)):
        for i, call in enumerate(calls):
            best[i] = min(best[i], once_ms(call, clock=clock))
    return best


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
         transfer: bool = False, local: bool = True, memory: bool = True) -> dict[str, float]:
    """What ``run(engine)`` costs: statements, round trips, (rows, values), ms local, (ms remote), peak KiB.

    >>> cost(lambda eng: users_with_orders(eng), engine, net)  # doctest: +SKIP
    {'statements': 2, 'round trips': 4, 'ms, local': 4.1, 'ms, remote': 6.3, 'peak KiB': 230.5}

    Statements, round trips, rows, values and memory are counted on ``engine``; ``ms, local`` is timed
    on ``engine`` and ``ms, remote`` on ``remote`` (the same database with injected latency), each with
    :func:`quick_ms`. Round trips are what a database server answers: each statement, and each BEGIN,
    COMMIT and ROLLBACK (every ``engine.connect()`` block pays a BEGIN and a ROLLBACK). The keys are the
    columns of a DataFrame built from a list of these dicts.

    Parameters:
        run: the page, a function of an engine (``lambda eng: render(load(eng, ids))``).
        engine: the database as it is. remote: the same database with latency (None: not timed).
        transfer: also count rows and values, by running each statement again (:func:`transferred`).
        local: time the page on ``engine`` (:func:`share_sweep` times it its own way).
        memory: also measure the peak memory of one run (:func:`perflab.memory.peak_kib`).
    """
    if not callable(run):
        raise PerflabError(f"cost() needs the page as a function of an engine, got {run!r} — "
                           "e.g. cost(lambda eng: users_with_orders(eng, 'selectin'), engine)")
    with query_log(engine) as log:
        run(engine)
    row: dict[str, float] = {"statements": log.count, ROUND_TRIPS: log.round_trips}
    if transfer:
        row["rows"], row["values"] = transferred(engine, log.statements)
    if local:
        row[LOCAL] = quick_ms(run, engine)
    if remote is not None:
        row[REMOTE] = quick_ms(run, remote)
    if memory:
        row[MEMORY] = peak_kib(run, engine)
    return row


def share_sweep(page: Callable[..., Any], loads: Mapping[str, Callable[..., Any]], shares: Sequence[float],
          engine: Engine, remote: Engine, *, runs: int = 5) -> pd.DataFrame:
    """Each way of loading at each share read: :func:`cost`, with ``ms, local`` the best of ``runs`` interleaved runs.

    >>> loads = {"lazy": lazy_users, "eager": eager_users}  # doctest: +SKIP
    >>> share_sweep(partial_page, loads, (0, 50, 100), engine, net)  # doctest: +SKIP

    The local costs of lazy and eager loading come close to each other near the crossover, where one
    disturbed run would put a point on the wrong side: every local run of every point is taken in
    turn, ``runs`` times over, and each point keeps its best. The remote time (mostly round trips,
    far apart) and memory are measured once per point, as :func:`cost` does.

    Parameters:
        page: the page, ``page(engine, load, fraction)``: the fraction of the parents whose related rows it reads.
        loads: the ways of loading by name (``{"lazy": lazy_users, "eager": eager_users}``).
        shares: the shares read, in percent, ascending. engine, remote: as for :func:`cost`.
        runs: local runs per point.
    """
    import pandas as pd

    rows, calls = [], []
    for used in shares:
        for loading, load in loads.items():
            call = partial(page, load=load, fraction=used / 100)
            rows.append({"used": used, "loading": loading, **cost(call, engine, remote, local=False)})
            calls.append(call)
    best = best_ms([partial(call, engine) for call in calls], runs)
    return pd.DataFrame([{**row, LOCAL: ms} for row, ms in zip(rows, best)])


def crossing(used: Sequence[float], lazy: Sequence[float], eager: Sequence[float]) -> tuple[float, float] | None:
    """Where lazy stops being cheaper than eager: (first, last) crossing, interpolated; None if it never does.

    >>> crossing([0, 50, 100], lazy=[1, 2, 3], eager=[5, 5, 5]) is None  # lazy cheaper throughout
    True
    >>> crossing([0, 50, 100], lazy=[6, 7, 8], eager=[5, 5, 5])  # never cheaper
    (0.0, 0.0)
    >>> crossing([0, 10, 20, 30], lazy=[1, 6, 4, 8], eager=[5, 5, 5, 5])  # dearer at 10, cheaper at 20 again
    (8.0, 22.5)

    ``first`` is where lazy first stops being cheaper, ``last`` where it stops for good; they differ
    when the measurements cross more than once (noise near a crossover), and then the crossover lies
    somewhere between them. The costs are taken as measured: no tolerance.

    Parameters:
        used: the shares measured, ascending (any unit: fractions or percent; the result has the same).
        lazy, eager: the cost of each way of loading at those shares (time or memory), same length.
    """
    if not (len(used) == len(lazy) == len(eager)) or not used:
        raise PerflabError(f"crossing() needs equally long, non-empty sequences, got lengths "
                           f"{len(used)}, {len(lazy)}, {len(eager)} — pass one cost per share measured")
    if any(b <= a for a, b in zip(used, used[1:])):
        raise PerflabError(f"crossing() needs the shares in ascending order, got {list(used)} — sort them first")
    cheaper = [lz < eg for lz, eg in zip(lazy, eager)]
    if not any(cheaper):
        return float(used[0]), float(used[0])
    if cheaper[-1]:
        return None
    stops = [i for i in range(len(used) - 1) if cheaper[i] and not cheaper[i + 1]]

    def at(i: int) -> float:
        d0, d1 = lazy[i] - eager[i], lazy[i + 1] - eager[i + 1]
        return float(used[i] + (used[i + 1] - used[i]) * (-d0) / (d1 - d0))

    return at(stops[0]), at(stops[-1])


def crossovers(sweep: pd.DataFrame) -> dict[str, tuple[float, float] | None]:
    """For each cost measured in a sweep, :func:`crossing` of lazy and eager loading (percent read).

    >>> import pandas as pd
    >>> sweep = pd.DataFrame({"used": [0, 0, 10, 10], "loading": ["lazy", "eager"] * 2,
    ...                       "ms, local": [1.0, 5.0, 9.0, 5.0]})
    >>> crossovers(sweep)
    {'ms, local': (5.0, 5.0)}

    Parameters:
        sweep: one row per share read and way of loading: columns ``used`` (percent), ``loading``
            ("lazy" or "eager") and any of ``ms, local``, ``ms, remote``, ``peak KiB`` (as :func:`cost` names them).
    """
    _check_sweep(sweep)
    found: dict[str, tuple[float, float] | None] = {}
    for measure in (m for m in (LOCAL, REMOTE, MEMORY) if m in sweep.columns):
        wide = sweep.pivot_table(index="used", columns="loading", values=measure).sort_index()
        found[measure] = crossing(list(wide.index), list(wide["lazy"]), list(wide["eager"]))
    return found


def _check_sweep(sweep: pd.DataFrame) -> None:
    missing = {"used", "loading"} - set(sweep.columns)
    kinds = set(sweep["loading"]) if "loading" in sweep.columns else set()
    if missing or kinds != {"lazy", "eager"}:
        raise PerflabError(f"a sweep needs columns 'used' and 'loading' with rows for 'lazy' and 'eager', got "
                           f"columns {list(sweep.columns)} and loadings {sorted(kinds)} — build it with share_sweep()")


def plot_tradeoff(sweep: pd.DataFrame, *, local: str = "local", remote: str = "remote") -> Figure:
    """Time (left) and memory (right) of lazy and eager loading against the share read, crossovers marked.

    >>> fig = plot_tradeoff(sweep, local="SQLite in this process", remote="+1 ms a round trip")  # doctest: +SKIP

    The x axis is symlog (linear below 1%, logarithmic above), so 0%, 1%, 2% and 5% do not overlap;
    the time axis is logarithmic. A grey vertical line marks each crossover (a grey band where the
    measurements cross more than once: the crossover is somewhere in it); the legends sit below the plots.

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
        right.plot(rows["used"], rows[MEMORY], "-o", color=color, ms=3, label=loading)
    marks = ((left, REMOTE, "-", remote), (left, LOCAL, ":", local), (right, MEMORY, "-", "memory"))
    for ax, measure, style, name in marks:
        found = where.get(measure)
        if found is None:
            continue
        first, last = found
        if first == last:
            ax.axvline(first, color="grey", linestyle=style, linewidth=1, label=f"crossover, {name}: {first:.1f}%")
        else:
            ax.axvspan(first, last, color="grey", alpha=0.15, label=f"crossover, {name}: {first:.1f}-{last:.1f}%")
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
    right.set(ylabel="peak KiB (tracemalloc)", title="memory")
    return fig
