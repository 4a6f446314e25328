"""Memory measurement: what Python allocates (``tracemalloc``) and what the process holds (RSS).

>>> peak_kib(bytearray, 1_000_000) > 900
True

``tracemalloc`` sees every allocation made by Python code and by C code through Python's allocator
(SQLAlchemy rows, ORM objects, lists, strings, NumPy arrays); it does not see memory a C library takes for
itself (SQLite's page cache, a driver's buffers). The resident set size (RSS) is what the operating system
counts for the whole process: everything above, plus the interpreter, loaded libraries, and memory Python
has freed but not handed back.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError

_HIDDEN_FILES = ("tracemalloc.py", "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def peak_kib(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> float:
    """Peak memory (KiB) that Python allocates while ``fn(*args, **kwargs)`` runs, above what it held before.

    >>> peak_kib(list, range(100_000)) > 300
    True

    If tracemalloc is already tracing (you started it), it keeps tracing and only its peak is reset.

    Parameters:
        fn, args, kwargs: the call to measure.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn(*args, **kwargs)
        return (tracemalloc.get_traced_memory()[1] - before) / 1024
    finally:
        if not was_tracing:
            tracemalloc.stop()


def rss_mib() -> float:
    """The resident set size of this process now, in MiB (what the operating system counts for it).

    >>> rss_mib() > 10
    True
    """
    import psutil

    return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20


def memory_over(fn: Callable[[Any], Any], inputs: Iterable[Any], *, every: int = 500) -> list[tuple[int, float]]:
    """Call ``fn`` on each input and record the memory Python holds (KiB above the start) every ``every`` calls.

    >>> kept = []
    >>> memory_over(kept.append, (bytes(1000) for _ in range(100)), every=50)[-1][1] > 90
    True

    The garbage collector runs before each reading, so only memory still reachable counts: a curve that
    keeps rising is a leak, a curve that levels off is a bounded cache. The objects that existed before the
    first call are frozen out of those collections (``gc.freeze``), so each one looks only at what the calls
    made, and stays fast in a large process. Returns ``[(0, 0.0), (every, KiB), ...]``, with a last point
    for the last call. Tracing slows ``fn`` down by about 2-4x while it runs. If ``fn`` stops or restarts
    tracemalloc, the readings would start again from nothing: that raises PerflabError at the next reading.

    Parameters:
        fn: one step (a request), called with each input; its result is dropped.
        inputs: the inputs, consumed once.
        every: calls between two readings (> 0).
    """
    if not isinstance(every, int) or every <= 0:
        raise PerflabError(f"every must be a positive number of calls, got {every!r} — e.g. every=500")
    was_tracing, was_frozen = tracemalloc.is_tracing(), gc.get_freeze_count() > 0
    if not was_tracing:
        tracemalloc.start()
    gc.collect()
    gc.freeze()
    try:
        marker = object()  # allocated while tracing: a stopped or restarted trace no longer knows it
        start = tracemalloc.get_traced_memory()[0]
        points, calls = [(0, 0.0)], 0

        def read() -> None:
            gc.collect()
            if tracemalloc.get_object_traceback(marker) is None:
                raise PerflabError(f"tracemalloc was stopped or restarted during the first {calls:,} calls, so "
                                   "the memory they hold cannot be read — leave tracing on while memory_over runs")
            points.append((calls, (tracemalloc.get_traced_memory()[0] - start) / 1024))

        for item in inputs:
            fn(item)
            calls += 1
            if calls % every == 0:
                read()
        if calls % every:
            read()
        return points
    finally:
        if not was_frozen:
            gc.unfreeze()
        if not was_tracing:
            tracemalloc.stop()


@dataclass(frozen=True)
class GrowthLine:
    """One source line and how much more memory the objects it allocated hold between two snapshots."""

    file: str
    line: int
    kib: float
    blocks: int
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kib:+,.0f} KiB in {self.blocks:+,} blocks   {self.code}"


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 3, *,
               within: Callable[..., Any] | None = None) -> list[GrowthLine]:
    """The ``limit`` source lines whose allocations grew most from ``before`` to ``after`` (``compare_to``).

    >>> tracemalloc.start()
    >>> before = tracemalloc.take_snapshot()
    >>> kept = [str(i) * 10 for i in range(10_000)]
    >>> after = tracemalloc.take_snapshot()
    >>> tracemalloc.stop()
    >>> top_growth(before, after, 1)[0].kib > 500
    True

    tracemalloc's own frames and the import machinery are left out. Each line shows the file name (not
    its folder), the line number, the growth in KiB and in blocks, and the source line itself.

    A line that allocates is not always the line to fix: the profile a library builds is allocated inside
    the library, the cache that keeps it is in your code. With ``within=fn``, each block is charged to the
    most recent line of ``fn``'s own file (its module, or its notebook cell) that led to it, and blocks that
    no line there led to are left out; start tracing with enough frames to reach it, e.g.
    ``tracemalloc.start(10)``, before taking the snapshots.

    Parameters:
        before, after: snapshots from ``tracemalloc.take_snapshot()``, the first taken earlier.
        limit: how many lines to return (the biggest growth first).
        within: a function of yours: report lines of its file only (its module, or its notebook cell).
    """
    import linecache

    if within is not None:
        return _growth_within(before, after, limit, _file_of(within))
    found: list[GrowthLine] = []
    for stat in after.compare_to(before, "lineno"):
        frame = stat.traceback[0]
        if _hidden(frame.filename):
            continue
        if len(found) == limit:
            break
        code = linecache.getline(frame.filename, frame.lineno).strip()
        found.append(GrowthLine(Path(frame.filename).name, frame.lineno, stat.size_diff / 1024,
                                stat.count_diff, code))
    return found


def grown_kib(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> float:
    """The memory held more from ``before`` to ``after`` by the lines that hold more, in KiB (never below 0).

    >>> tracemalloc.start()
    >>> ballast = [bytes(1000) for _ in range(1_000)]
    >>> before = tracemalloc.take_snapshot()
    >>> del ballast[:]; kept = [bytes(1000) for _ in range(1_000)]
    >>> after = tracemalloc.take_snapshot()
    >>> tracemalloc.stop()
    >>> tracemalloc.get_traced_memory() == (0, 0), grown_kib(before, after) > 900
    (True, True)

    Each traceback (each line, when tracing keeps one frame) whose blocks grew adds its growth; one that
    shrank adds nothing. So memory given back on one line cannot hide growth on another, as it does in the
    total (``get_traced_memory``). tracemalloc's own frames and the import machinery are left out.
    """
    grew = 0
    for stat in after.compare_to(before, "traceback"):
        frame = stat.traceback[-1] if stat.traceback else None
        if stat.size_diff > 0 and frame is not None and not _hidden(frame.filename):
            grew += stat.size_diff
    return grew / 1024


def _hidden(filename: str) -> bool:
    return filename in _HIDDEN_FILES or Path(filename).name in _HIDDEN_FILES


def _file_of(obj: Callable[..., Any]) -> str:
    """The file the function ``obj`` was defined in, as tracemalloc names it (a notebook cell has a file of its own)."""
    import inspect

    return inspect.getfile(inspect.unwrap(obj))


def _growth_within(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int,
                   filename: str) -> list[GrowthLine]:
    """top_growth with each block charged to the most recent frame of ``filename`` in its traceback."""
    import linecache

    size: dict[int, int] = {}
    count: dict[int, int] = {}
    for stat in after.compare_to(before, "traceback"):
        lines = [frame.lineno for frame in stat.traceback if frame.filename == filename]
        if lines:  # frames run from the oldest to the most recent
            size[lines[-1]] = size.get(lines[-1], 0) + stat.size_diff
            count[lines[-1]] = count.get(lines[-1], 0) + stat.count_diff
    top = sorted(size, key=lambda line: -abs(size[line]))[:limit]
    return [GrowthLine(Path(filename).name, line, size[line] / 1024, count[line],
                       linecache.getline(filename, line).strip()) for line in top]
