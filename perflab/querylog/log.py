"""Query log: record every statement a block of code sends to the database, and spot N+1 patterns.

>>> import sqlalchemy as sa
>>> from perflab.queries import query_log
>>> engine = sa.create_engine("sqlite://")
>>> with query_log(engine) as log:
...     with engine.connect() as conn:
...         for i in range(6):
...             _ = conn.execute(sa.text("SELECT :i"), {"i": i}).all()
>>> log.count
6
>>> print(log.suspects()[0].message)
SELECT ? ran 6 times — likely N+1; consider selectinload/joinedload or one query with IN/JOIN

How it works: listeners on the engine's ``before_cursor_execute`` / ``after_cursor_execute``
events time each DBAPI cursor execution, i.e. each round trip to the database. So it sees Core,
the ORM (lazy loads, ``selectinload``, ``joinedload``, flushes) and raw SQL
(``conn.exec_driver_sql``, ``text()``) alike, on SQLite and PostgreSQL, from any thread that uses
the engine while the block is active (``asyncio.to_thread`` batches included). The listeners are
removed when the block ends. It does not see SQL that bypasses SQLAlchemy (a raw DBAPI
connection), nor statements still running in another thread when the block ends.

What one statement is: one cursor execution. ``executemany`` (one statement with a list of
parameter sets, e.g. ``conn.execute(insert(t), [{...}, {...}])``) is recorded once, with
``executemany=True`` and the whole list as ``params``: it is one round trip. SQLAlchemy may split a
large ORM bulk insert into several ``INSERT ... VALUES (...), (...)`` batches; each batch is a
statement.

``rowcount`` is what the driver reports, or None when it does not know: rows inserted, updated or
deleted for writes; for a SELECT PostgreSQL (psycopg) reports the rows returned, SQLite reports -1
because it has not fetched them yet, which is recorded as None.

``duration`` is the wall time from just before the statement is sent until the driver returns,
including any latency injected with :func:`perflab.latency.inject_latency` (also recorded on its
own as ``injected``). It does not include fetching rows: SQLite produces rows as they are fetched,
so for SQLite SELECTs most of the work can happen after the recorded duration.

Cost: while recording, each statement pays two timer reads and a queued tuple (a few µs on top of
SQLAlchemy's own event dispatch); shapes and totals are worked out when the results are first read.
``python -m tools.bench.queries`` prints the figures for this machine.

N+1 detection works on statement *shapes*: the SQL with every value replaced by ``?`` (bound
parameters, literal numbers and strings), ``IN (?, ?, ?)`` lists and repeated ``VALUES`` groups
collapsed, whitespace collapsed. A shape run ``min_repeats`` (default 5) or more times in one
block is a suspect: with different parameters each time it is the classic N+1 (a query per row
of a previous result); with the same parameters every time it is a repeated query (cache it or
hoist it out of the loop).
"""

from __future__ import annotations

import functools
import html
import inspect
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.latency import _SECONDS, _reattach_latency, engine_of

#: A shape run this many times in one block is reported as a suspect.
DEFAULT_MIN_REPEATS = 5
#: Statements kept in ``QueryLog.statements``; later ones are still counted and timed.
DEFAULT_KEEP = 10_000
_DISTINCT_CAP = 1_000
_FOLD_AT = 50_000

_F = TypeVar("_F", bound=Callable[..., Any])


class TooManyQueries(PerflabError, AssertionError):
    """A block ran more statements than ``max_queries``, or an N+1 pattern with ``fail_on_n_plus_one``."""


# --------------------------------------------------------------------------- shapes

_STRING = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_PLACEHOLDER = re.compile(
    r"__\[POSTCOMPILE_\w+\]"  # an expanding IN before expansion
    r"|%\(\w+\)s|%s"  # pyformat / format (psycopg)
    r"|\$\d+"  # numeric (asyncpg)
    r"|(?<![:\w]):\w+"  # named (:name), not a PostgreSQL ::cast
)
_CAST = re.compile(  # the type casts SQLAlchemy adds to PostgreSQL placeholders: ?::INTEGER
    r"\?::[A-Za-z_]\w*(?: (?:WITH|WITHOUT) TIME ZONE)?(?:\(\d+(?:, ?\d+)?\))?(?:\[\])?"
)
_NUMBER = re.compile(r"(?<![\w$.?])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_SPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\bIN \( ?\?(?: ?, ?\?)* ?\)", re.I)
_GROUPS = re.compile(r"(\( ?\?(?: ?, ?\?)* ?\))(?: ?, ?\1)+")


def _placeholders(part: str) -> str:
    return _CAST.sub("?", _PLACEHOLDER.sub("?", part))


def _collapse(sql: str) -> str:
    sql = _SPACE.sub(" ", sql).strip()
    sql = _IN_LIST.sub("IN (?, ...)", sql)
    return _GROUPS.sub(r"\1, ...", sql)


@functools.lru_cache(maxsize=4096)
def shape_of(sql: str) -> str:
    """The shape of a SQL statement: values replaced by ``?``, lists collapsed, whitespace collapsed.

    >>> shape_of("SELECT * FROM orders WHERE user_id = 42 AND status IN ('a', 'b')")
    'SELECT * FROM orders WHERE user_id = ? AND status IN (?, ...)'
    >>> shape_of("SELECT * FROM orders WHERE id IN (%(id_1_1)s::INTEGER, %(id_1_2)s::INTEGER)")
    'SELECT * FROM orders WHERE id IN (?, ...)'

    Parameters:
        sql: the statement as sent to the driver (or any SQL text).
    """
    s = _STRING.sub("?", sql)
    s = _COMMENT.sub(" ", s)
    s = _placeholders(s)
    s = _NUMBER.sub("?", s)
    return _collapse(s)


@functools.lru_cache(maxsize=4096)
def _display(sql: str, width: int) -> str:
    """SQL for a listing: placeholders as ``?`` (literals kept), lists collapsed, SELECT list elided."""
    pieces, pos = [], 0
    for m in _STRING.finditer(sql):
        pieces.append(_placeholders(sql[pos : m.start()]))
        pieces.append(m.group())
        pos = m.end()
    pieces.append(_placeholders(sql[pos:]))
    return short_sql(_collapse("".join(pieces)), width)


_SELECT = re.compile(r"\bSELECT\s+(?:DISTINCT\s+)?", re.I)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _find_from(sql: str, start: int) -> int:
    """Index of the FROM that closes the select list starting at ``start`` (same depth), or -1."""
    depth = 0
    i, n = start, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            end = sql.find("'", i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == "'":
                end = sql.find("'", end + 2)
            if end == -1:
                return -1
            i = end + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return -1
            depth -= 1
        elif (
            depth == 0
            and c in "fF"
            and sql[i : i + 4].upper() == "FROM"
            and (i == 0 or not _is_word(sql[i - 1]))
            and (i + 4 >= n or not _is_word(sql[i + 4]))
        ):
            return i
        i += 1
    return -1


def short_sql(sql: str, width: int = 160, keep_select: int = 30) -> str:
    """SQL shortened for display: long SELECT lists become ``...``, whitespace collapsed, cut at ``width``.

    >>> short_sql("SELECT orders.id, orders.user_id, orders.status FROM orders WHERE ? = orders.user_id")
    'SELECT ... FROM orders WHERE ? = orders.user_id'
    >>> short_sql("SELECT count(*) FROM orders")
    'SELECT count(*) FROM orders'

    Parameters:
        sql: the statement or shape.
        width: maximum length of the result (``...`` marks a cut).
        keep_select: select lists up to this many characters are kept as they are.
    """
    sql = _SPACE.sub(" ", sql).strip()
    out: list[str] = []
    pos = 0
    while True:
        m = _SELECT.search(sql, pos)
        if m is None:
            out.append(sql[pos:])
            break
        out.append(sql[pos : m.end()])
        end = _find_from(sql, m.end())
        if end == -1 or end - m.end() <= keep_select:
            pos = m.end()
        else:
            out.append("... ")
            pos = end
    text = "".join(out)
    if len(text) > width:
        text = text[: max(width - 3, 0)].rstrip() + "..."
    return text


# --------------------------------------------------------------------------- records


class Statement(NamedTuple):
    """One statement the database executed (one round trip), as recorded by a :class:`QueryLog`."""

    sql: str
    """The SQL as sent to the driver (driver placeholders such as ``?`` or ``%(name)s``)."""
    params: Any
    """The parameters sent with it (a list of parameter sets for executemany)."""
    duration: float
    """Seconds from just before sending until the driver returned, injected latency included."""
    rowcount: int | None
    """Rows affected (writes) or returned (PostgreSQL SELECT); None when the driver does not know."""
    shape: str
    """The SQL with values replaced by ``?`` (see :func:`shape_of`)."""
    executemany: bool = False
    """True for one statement sent with many parameter sets (one round trip)."""
    injected: float = 0.0
    """Seconds of simulated network latency included in ``duration``."""
    start: float = 0.0
    """Seconds from the start of the block to the start of this statement."""
    error: str | None = None
    """The exception class name if the statement failed, else None."""


_READ_HINT = "likely N+1; consider selectinload/joinedload or one query with IN/JOIN"
_SAME_HINT = "same parameters every time; run it once (hoist it out of the loop or cache the result)"
_WRITE_HINT = "one statement per row; consider executemany or one bulk statement"
_OTHER_HINT = "one round trip each; consider batching"


@dataclass(frozen=True)
class Suspect:
    """A statement shape that ran many times in one block: a likely N+1 (or a repeated query)."""

    shape: str
    count: int
    total_time: float
    distinct_params: int = 2
    """How many different parameter sets it ran with (counted up to 1000)."""

    @property
    def short(self) -> str:
        """The shape with its SELECT list elided, for display."""
        return short_sql(self.shape)

    @property
    def hint(self) -> str:
        """What to do about it."""
        verb = self.shape.split(" ", 1)[0].upper()
        if verb in {"SELECT", "WITH"}:
            return _READ_HINT if self.distinct_params > 1 else _SAME_HINT
        if verb in {"INSERT", "UPDATE", "DELETE", "REPLACE"}:
            return _WRITE_HINT
        return _OTHER_HINT

    @property
    def message(self) -> str:
        """One line: ``<shape> ran <count> times — <hint>``."""
        return f"{self.short} ran {self.count} times — {self.hint}"


class _ShapeStats:
    __slots__ = ("count", "total_time", "params")

    def __init__(self) -> None:
        self.count = 0
        self.total_time = 0.0
        self.params: set[Any] = set()


def _freeze(params: Any, executemany: bool) -> Any:
    """A hashable key for one parameter set (to count distinct ones)."""
    if executemany:
        return ("executemany", id(params))
    kind = type(params)
    if kind is tuple:
        key = params
    elif kind is dict or isinstance(params, Mapping):
        key = tuple(params.items())
    else:
        key = params
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _fmt_params(params: Any, executemany: bool, width: int = 60) -> str:
    if executemany:
        n = len(params) if hasattr(params, "__len__") else "?"
        return f"[{n} parameter sets]"
    text = repr(params)
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------------- the log


class QueryLog:
    """Statements recorded on an engine while a ``with`` block (or a decorated function) ran.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with QueryLog(engine) as log:
    ...     with engine.connect() as conn:
    ...         _ = conn.exec_driver_sql("SELECT 1").all()
    >>> log.count, len(log.statements), log.statements[0].sql
    (1, 1, 'SELECT 1')

    Create it with :func:`query_log`; the parameters are documented there.
    """

    def __init__(
        self,
        engine: object,
        *,
        max_queries: int | None = None,
        fail_on_n_plus_one: bool = False,
        min_repeats: int = DEFAULT_MIN_REPEATS,
        keep: int = DEFAULT_KEEP,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.engine: Engine = engine_of(engine)
        self._engine_id = id(self.engine)
        if max_queries is not None and (not isinstance(max_queries, int) or max_queries < 0):
            raise PerflabError(f"max_queries must be a whole number >= 0 or None, got {max_queries!r}")
        if not isinstance(min_repeats, int) or min_repeats < 2:
            raise PerflabError(f"min_repeats must be a whole number >= 2, got {min_repeats!r}")
        if not isinstance(keep, int) or keep < 0:
            raise PerflabError(f"keep must be a whole number >= 0, got {keep!r}")
        self.max_queries = max_queries
        self.fail_on_n_plus_one = bool(fail_on_n_plus_one)
        self.min_repeats = min_repeats
        self.keep = keep
        self._clock = clock
        self._lock = threading.Lock()
        self._depth = 0
        self._starts: dict[int, float] = {}
        self._reset()

    # -- recording -------------------------------------------------------------------

    def _reset(self) -> None:
        self._statements: list[Statement] = []
        self._count = 0
        self._total_time = 0.0
        self._injected_time = 0.0
        self._dropped = 0
        self._shapes: dict[str, _ShapeStats] = {}
        self._injected_values: set[float] = set()
        self._injected_count = 0
        self._pending: deque[tuple[Any, ...]] = deque()
        self._starts.clear()
        self._t0 = self._clock()

    # The hooks run once per statement while recording, so they only take the time and queue a
    # tuple (deque.append is thread-safe); shapes and totals are worked out on first read, or in
    # batches of _FOLD_AT. tools.bench.queries measures what is left.

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        self._starts[id(cursor)] = self._clock()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        end = self._clock()
        start = self._starts.pop(id(cursor), None)
        if start is None:  # began before the block
            return
        try:
            rowcount: int | None = cursor.rowcount
        except Exception:  # a driver that cannot tell
            rowcount = None
        pending = self._pending
        pending.append((statement, parameters, start, end, rowcount, executemany,
                        _SECONDS.get(self._engine_id, 0.0), None))
        if len(pending) >= _FOLD_AT:
            self._fold()

    def _error(self, ctx: Any) -> None:
        cursor = getattr(ctx.execution_context, "cursor", None)
        statement = ctx.statement
        if cursor is None or statement is None:
            return
        start = self._starts.pop(id(cursor), None)
        if start is None:
            return
        executemany = bool(getattr(ctx.execution_context, "executemany", False))
        name = type(ctx.original_exception).__name__
        self._pending.append((statement, ctx.parameters, start, self._clock(), None, executemany,
                              _SECONDS.get(self._engine_id, 0.0), name))

    def _fold(self) -> None:
        """Turn queued raw records into Statements, totals and per-shape statistics."""
        with self._lock:
            pending = self._pending
            while True:
                try:
                    sql, params, start, end, rowcount, executemany, injected, error = pending.popleft()
                except IndexError:
                    break
                if rowcount is not None and rowcount < 0:
                    rowcount = None
                shape = shape_of(sql)
                duration = end - start
                self._count += 1
                self._total_time += duration
                if injected:
                    self._injected_time += injected
                    self._injected_count += 1
                    self._injected_values.add(injected)
                if len(self._statements) < self.keep:
                    self._statements.append(Statement(
                        sql, params, duration, rowcount, shape, executemany, injected, start - self._t0, error
                    ))
                else:
                    self._dropped += 1
                stats = self._shapes.get(shape)
                if stats is None:
                    stats = self._shapes[shape] = _ShapeStats()
                stats.count += 1
                stats.total_time += duration
                if len(stats.params) < _DISTINCT_CAP:
                    stats.params.add(_freeze(params, executemany))

    @property
    def statements(self) -> list[Statement]:
        """The statements recorded, in the order they finished (at most ``keep`` of them)."""
        self._fold()
        return self._statements

    @property
    def count(self) -> int:
        """How many statements ran, including any beyond ``keep`` that were not stored."""
        self._fold()
        return self._count

    @property
    def total_time(self) -> float:
        """Seconds spent in statements (the sum of their durations)."""
        self._fold()
        return self._total_time

    @property
    def injected_time(self) -> float:
        """Seconds of injected latency included in ``total_time``."""
        self._fold()
        return self._injected_time

    @property
    def dropped(self) -> int:
        """Statements counted but not stored because ``keep`` was reached."""
        self._fold()
        return self._dropped

    _EVENTS = (("before_cursor_execute", "_before"), ("after_cursor_execute", "_after"),
               ("handle_error", "_error"))

    def start(self) -> QueryLog:
        """Start recording (``with`` does this): clears what an earlier block recorded."""
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return self
        self._reset()
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        event.listen(self.engine, "handle_error", self._error)
        # Listeners run in the order they were added (SQLAlchemy ignores insert=True for these
        # events): move the injected-latency listener behind ours so durations include the delay.
        _reattach_latency(self.engine)
        return self

    def stop(self) -> None:
        """Stop recording (leaving ``with`` does this, then checks the thresholds)."""
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth > 0:
                return
        for name, method in self._EVENTS:
            fn = getattr(self, method)
            if event.contains(self.engine, name, fn):
                event.remove(self.engine, name, fn)

    @property
    def active(self) -> bool:
        """True while the block is running."""
        return self._depth > 0

    def __enter__(self) -> QueryLog:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc_type is None and not self.active:
            self.check()

    def __call__(self, func: _F) -> _F:
        """Use the log as a decorator: each call of ``func`` is recorded (the log keeps the latest call)."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    # -- results ---------------------------------------------------------------------

    def suspects(self, min_repeats: int | None = None) -> list[Suspect]:
        """Statement shapes run at least ``min_repeats`` times, most frequent first.

        >>> import sqlalchemy as sa
        >>> engine = sa.create_engine("sqlite://")
        >>> with query_log(engine) as log, engine.connect() as conn:
        ...     for i in range(3):
        ...         _ = conn.exec_driver_sql("SELECT ?", (i,)).all()
        >>> log.suspects(), log.suspects(min_repeats=3)[0].count
        ([], 3)

        Parameters:
            min_repeats: threshold (default: the log's ``min_repeats``, 5); 1 lists every shape.
        """
        threshold = self.min_repeats if min_repeats is None else min_repeats
        self._fold()
        with self._lock:
            found = [
                Suspect(shape, s.count, s.total_time, len(s.params))
                for shape, s in self._shapes.items()
                if s.count >= threshold
            ]
        found.sort(key=lambda s: (-s.count, -s.total_time))
        return found

    def check(self) -> None:
        """Raise :class:`TooManyQueries` if ``max_queries`` or ``fail_on_n_plus_one`` is violated."""
        if self.max_queries is None and not self.fail_on_n_plus_one:
            return
        suspects = self.suspects()
        if self.max_queries is not None and self.count > self.max_queries:
            if suspects:
                detail = suspects[0].message
            else:
                top = self.suspects(min_repeats=1)
                detail = f"most frequent: {top[0].short} ({top[0].count}x)" if top else ""
            message = f"{self.count} statements ran, expected at most {self.max_queries}"
            raise TooManyQueries(f"{message}; {detail}" if detail else message)
        if self.fail_on_n_plus_one and suspects:
            more = f" (and {len(suspects) - 1} more repeated shapes)" if len(suspects) > 1 else ""
            raise TooManyQueries(f"N+1 suspected: {suspects[0].message}{more}")

    def _injected_note(self) -> str:
        if not self.injected_time:  # folds pending records first
            return ""
        values = self._injected_values
        if len(values) == 1 and self._injected_count == self.count:
            (value,) = values
            return f"includes {value * 1e3:g} ms injected latency per statement (simulated network)"
        return f"includes {_fmt_time(self.injected_time)} of injected latency in total (simulated network)"

    def summary(self) -> str:
        """One line: statements, total time, injected latency, suspects."""
        noun = "statement" if self.count == 1 else "statements"
        text = f"{self.count} {noun} in {_fmt_time(self.total_time)}"
        note = self._injected_note()
        if note:
            text += f" ({note})"
        n = len(self.suspects())
        if n:
            text += f", {n} N+1 suspect" + ("s" if n > 1 else "")
        return text

    def report(self, limit: int = 20) -> str:
        """The log as text: summary, N+1 suspects with hints, then the first ``limit`` statements.

        Parameters:
            limit: how many statements to list (0 lists none).
        """
        lines = [self.summary()]
        suspects = self.suspects()
        if suspects:
            lines.append("N+1 suspects:")
            lines += [f"  ! {s.message} ({_fmt_time(s.total_time)} in total)" for s in suspects]
        shown = self.statements[:limit]
        if shown:
            lines.append(f"{'#':>4} {'ms':>8} {'rows':>6}  statement")
            for i, st in enumerate(shown, 1):
                rows = "-" if st.rowcount is None else str(st.rowcount)
                err = f"  [{st.error}]" if st.error else ""
                params = f"  {_fmt_params(st.params, st.executemany)}" if st.params else ""
                sql = _display(st.sql, 100)
                lines.append(f"{i:>4} {st.duration * 1e3:>8.3f} {rows:>6}  {sql}{params}{err}")
            rest = self.count - len(shown)
            if rest > 0:
                lines.append(f"     ... {rest} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        state = " (recording)" if self.active else ""
        return f"<QueryLog{state}: {self.summary()}>"

    def _repr_html_(self, limit: int = 20) -> str:
        esc = html.escape
        parts = [f"<p><b>{esc(self.summary())}</b></p>"]
        suspects = self.suspects()
        if suspects:
            items = "".join(
                f"<li><code>{esc(s.short)}</code> ran <b>{s.count}</b> times "
                f"({esc(_fmt_time(s.total_time))}) — {esc(s.hint)}</li>"
                for s in suspects
            )
            parts.append(f"<p>⚠️ N+1 suspects:</p><ul>{items}</ul>")
        shown = self.statements[:limit]
        if shown:
            rows = "".join(
                f"<tr><td>{i}</td><td>{st.duration * 1e3:.3f}</td>"
                f"<td>{'' if st.rowcount is None else st.rowcount}</td>"
                f"<td style='text-align:left'><code>{esc(_display(st.sql, 120))}</code></td>"
                f"<td style='text-align:left'><code>{esc(_fmt_params(st.params, st.executemany))}</code>"
                f"{' ' + esc(st.error) if st.error else ''}</td></tr>"
                for i, st in enumerate(shown, 1)
            )
            more = self.count - len(shown)
            tail = f"<p>... {more} more</p>" if more > 0 else ""
            parts.append(
                "<table><thead><tr><th>#</th><th>ms</th><th>rows</th><th>statement</th><th>params</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>{tail}"
            )
        return "".join(parts)


def query_log(
    engine: object,
    *,
    max_queries: int | None = None,
    fail_on_n_plus_one: bool = False,
    min_repeats: int = DEFAULT_MIN_REPEATS,
    keep: int = DEFAULT_KEEP,
    clock: Callable[[], float] = time.perf_counter,
) -> QueryLog:
    """Record every statement run on ``engine`` inside a ``with`` block (or a decorated function).

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with query_log(engine, max_queries=1) as log, engine.connect() as conn:
    ...     _ = conn.exec_driver_sql("SELECT 1").all()
    >>> log.count
    1

    Leaving the block raises :class:`TooManyQueries` (a ``PerflabError`` and an ``AssertionError``)
    when a threshold is exceeded, like Django's ``assertNumQueries``; an exception already leaving
    the block is never masked.

    Parameters:
        engine: the Engine (or a Connection/Session/AsyncEngine bound to it) to listen on.
        max_queries: fail if more statements than this ran.
        fail_on_n_plus_one: fail if any shape ran ``min_repeats`` or more times.
        min_repeats: how many runs of one shape make a suspect (default 5).
        keep: how many statements to store in ``.statements`` (all are counted and timed).
        clock: the timer, in seconds (tests pass a fake clock).
    """
    return QueryLog(
        engine,
        max_queries=max_queries,
        fail_on_n_plus_one=fail_on_n_plus_one,
        min_repeats=min_repeats,
        keep=keep,
        clock=clock,
    )
