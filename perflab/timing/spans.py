"""Where the time goes: named, nestable spans (threads and asyncio tasks too) and their waterfall plot.

>>> tracker = Spans()
>>> with tracker.span("page"):
...     with tracker.span("query"):
...         _ = sum(range(1000))
>>> [s.name for s in tracker.spans]
['page', 'query']
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from perflab.display import fn_name, format_time, plural
from perflab.errors import PerflabError
from perflab.timing.measure import Clock

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

F = TypeVar("F", bound=Callable[..., Any])


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
            label = name or fn_name(fn)
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
        return f"Spans({plural(len(self._done), 'span')}, total {format_time(self.total)})"

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
