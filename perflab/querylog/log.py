"""The query log: record every statement a block of code sends to the database, and what caused it.

>>> import sqlalchemy as sa
>>> from perflab.querylog import query_log
>>> engine = sa.create_engine("sqlite://")
>>> with query_log(engine) as log:
...     with engine.connect() as conn:
...         for i in range(6):
...             _ = conn.execute(sa.text("SELECT :i"), {"i": i}).all()
>>> log.count, log.round_trips
(6, 8)
>>> print(log.suspects()[0].message)  # doctest: +ELLIPSIS
SELECT ? ran 6 times (from <doctest ...>:4) → N+1: one query per row; fetch all the rows in one query ...

How it works: listeners on the engine's ``before_cursor_execute`` / ``after_cursor_execute`` events
time each DBAPI cursor execution, i.e. each statement sent to the database. So it sees Core, the ORM
(lazy loads, ``selectinload``, ``joinedload``, flushes) and raw SQL (``conn.exec_driver_sql``,
``text()``) alike, on SQLite and PostgreSQL, from any thread or asyncio task that uses the engine
while the block is active. While a log is active, a ``do_orm_execute`` listener on the ORM
``Session`` class tells it which statements are relationship loads, and of which relationship
(:mod:`perflab.querylog.findings` explains how findings are made). The listeners are removed when the
block ends. It does not see SQL that bypasses SQLAlchemy (a raw DBAPI connection), nor statements
still running in another thread when the block ends.

What one statement is: one cursor execution. ``executemany`` (one statement with a list of
parameter sets, e.g. ``conn.execute(insert(t), [{...}, {...}])``) is recorded once, with
``executemany=True`` and the whole list as ``params``: it is one round trip. SQLAlchemy may split a
large ORM bulk insert into several ``INSERT ... VALUES (...), (...)`` batches; each batch is a
statement.

Round trips: ``count`` is the SQL statements; BEGIN, COMMIT and ROLLBACK are counted apart
(``transactions``), and ``round_trips`` is both together. Their time in the log is the injected
latency they paid (``transaction_time``, included in ``total_time``): SQLAlchemy has no event after
a COMMIT returns, so the commit's own work is not timed.

``rowcount`` is what the driver reports, or None when it does not know: rows inserted, updated or
deleted for writes; for a SELECT PostgreSQL (psycopg) reports the rows returned, SQLite reports -1
because it has not fetched them yet, which is recorded as None.

``duration`` is the wall time from just before the statement is sent until the driver returns,
including the latency injected with :func:`perflab.latency.inject_latency`; ``injected`` is the time
that sleep actually took (measured, not the nominal ``ms``). It does not include fetching rows:
SQLite produces rows as they are fetched, so for SQLite SELECTs most of the work can happen after
the recorded duration.

Cost: while recording, each statement pays two timer reads, a walk up the stack to the learner's line
and a queued tuple; shapes, groups and totals are worked out when the results are first read.
``python -m tools.bench queries`` prints the figures for this machine.
"""

from __future__ import annotations

import functools
import html
import inspect
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextvars import ContextVar
from types import CodeType, TracebackType
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

from perflab.callsite import CallSite, is_library_file
from perflab.display import format_time, plural
from perflab.errors import PerflabError
from perflab.latency import TRANSACTION_EVENTS, engine_of, watch_sleeps
from perflab.querylog.findings import Group, OrmLoad, Suspect, find
from perflab.querylog.shapes import display_sql, shape_of

#: A group run this many times in one block is a finding.
DEFAULT_MIN_REPEATS = 5
#: Statements kept in ``QueryLog.statements``; later ones are still counted and timed.
DEFAULT_KEEP = 10_000
_FOLD_AT = 50_000

_F = TypeVar("_F", bound=Callable[..., Any])


class TooManyQueries(PerflabError, AssertionError):
    """A block ran more statements than ``max_queries``, or an N+1 pattern with ``fail_on_n_plus_one``."""


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
    """The SQL with values replaced by ``?`` (see :func:`perflab.querylog.shape_of`)."""
    executemany: bool = False
    """True for one statement sent with many parameter sets (one round trip)."""
    injected: float = 0.0
    """Seconds the injected latency actually slept before it (included in ``duration``)."""
    start: float = 0.0
    """Seconds from the start of the block to the start of this statement."""
    error: str | None = None
    """The exception class name if the statement failed, else None."""
    site: CallSite | None = None
    """The line of the learner's code that sent it (None when none is on the stack)."""
    load: OrmLoad | None = None
    """The ORM relationship or attribute load it was sent for, else None."""


# --------------------------------------------------------------------------- where a statement came from

_LIBRARY_FILES: dict[str, bool] = {}
_DEPTHS: dict[str, tuple[int, CodeType]] = {}


def _is_library(filename: str) -> bool:
    library = _LIBRARY_FILES.get(filename)
    if library is None:
        if len(_LIBRARY_FILES) > 10_000:  # a kernel that ran many cells: each has its own file name
            _LIBRARY_FILES.clear()
        library = _LIBRARY_FILES[filename] = is_library_file(filename)
    return library


def _site_key(skip: int, sql: str) -> tuple[str, int, str] | None:
    """(file, line, function) of the learner's innermost frame: :func:`perflab.callsite.user_frame`, made cheap.

    It runs once per statement. Walking up the stack creates a frame object per step, so it first
    tries the depth at which the same SQL last found the learner's frame. That shortcut is taken only
    if the frame there is the learner's and the one below it is the very library function that called
    the learner's code last time: the same SQL reached through a shallower path (a lazy load from a
    cell rather than from a helper) can put some outer learner frame at that depth, and that frame is
    not where the statement came from. It keeps the library test per file name and returns a tuple
    (a CallSite is built when the log is read).
    """
    cached = _DEPTHS.get(sql)
    if cached is not None:
        depth, below = cached
        try:
            frame: Any = sys._getframe(depth)
            code = frame.f_code
            if not _is_library(code.co_filename) and sys._getframe(depth - 1).f_code is below:
                return code.co_filename, frame.f_lineno, code.co_name
        except ValueError:  # a shallower stack than last time
            pass
    depth = skip
    frame = sys._getframe(skip)
    below = frame.f_code
    while frame is not None:
        code = frame.f_code
        if not _is_library(code.co_filename):
            if depth > skip:  # the learner's own frame calling the driver: nothing to skip next time
                if len(_DEPTHS) > 10_000:
                    _DEPTHS.clear()
                _DEPTHS[sql] = (depth, below)
            return code.co_filename, frame.f_lineno, code.co_name
        below = code
        frame = frame.f_back
        depth += 1
    return None


# --------------------------------------------------------------------------- ORM attribution

_ORM_LOAD: ContextVar[OrmLoad | None] = ContextVar("perflab_orm_load", default=None)
_ORM_LOCK = threading.Lock()
_orm_logs = 0
_DIRECTIONS = {"MANYTOONE": "many-to-one", "ONETOMANY": "one-to-many", "MANYTOMANY": "many-to-many"}


@functools.lru_cache(maxsize=512)
def _relationship(prop: Any) -> tuple[str, str, str, str]:
    parent = prop.parent.class_.__name__
    target = prop.mapper.class_.__name__
    return f"{parent}.{prop.key}", parent, target, _DIRECTIONS.get(prop.direction.name, "")


def _attributes(state: ORMExecuteState) -> tuple[str, str]:
    """(``Review.body``, ``Review``) for a load of attributes on access (deferred or expired)."""
    mapper = state.bind_mapper
    parent = mapper.class_.__name__ if mapper is not None else "?"
    # the attribute names travel in the statement's compile options (not public API: read defensively)
    names = getattr(getattr(state.statement, "_compile_options", None), "_only_load_props", None) or ()
    names = list(names)
    return (f"{parent}.{names[0]}" if len(names) == 1 else parent), parent


#: The loader option of each eager strategy (``lazy=`` value); any other way of loading is fixed by selectinload.
_EAGER_OPTIONS = {"joined": "joinedload", "selectin": "selectinload", "subquery": "subqueryload",
                  "immediate": "immediateload"}


def _loaded_by(parent: Any) -> tuple[str, ...]:
    """The loader options, from the query's entity down, through which ``parent`` (an InstanceState) was loaded.

    Read from SQLAlchemy's record of the parent: its load path (``User -> User.orders -> Order``) and the
    options of the query that loaded it. Each relationship on the path keeps the learner's eager option
    (``joinedload(User.orders)``: extend it, don't replace it); one loaded lazily gets ``selectinload``, its fix.
    Objects a query loaded directly have an empty path: nothing to chain.
    """
    elements = tuple(getattr(parent.load_path, "path", ()))
    strategies = {}
    for option in parent.load_options or ():
        for element in getattr(option, "context", ()):
            lazy = dict(getattr(element, "strategy", None) or ()).get("lazy")
            if lazy is not None:
                strategies[tuple(getattr(element.path, "path", ()))] = lazy
    options = []
    for end in range(2, len(elements), 2):  # mapper, relationship, mapper, relationship, ...
        prop = elements[end - 1]
        if not hasattr(prop, "direction"):
            return ()
        lazy = strategies.get(elements[:end + 1], getattr(prop, "lazy", "select"))
        options.append(f"{_EAGER_OPTIONS.get(lazy, 'selectinload')}({_relationship(prop)[0]})")
    return tuple(options)


def _on_orm_execute(state: ORMExecuteState) -> Any:
    """Tag the statements of a relationship or attribute load (read by the cursor listeners)."""
    if not state.is_select:
        return None
    loaded_by: tuple[str, ...] = ()
    if state.is_relationship_load:
        path = state.loader_strategy_path
        prop = getattr(path, "prop", None)
        if prop is None:
            return None
        attribute, parent, target, direction = _relationship(prop)
        parent_state = state.lazy_loaded_from
        if parent_state is not None:
            kind, loaded_by = "lazy", _loaded_by(parent_state)
        else:
            kind = "batch"
    elif state.is_column_load:
        kind, direction = "column", ""
        attribute, parent = _attributes(state)
        target = parent
    else:
        return None
    key = _site_key(2, attribute) if kind != "batch" else None
    site = CallSite(*key) if key else None
    token = _ORM_LOAD.set(OrmLoad(kind, attribute, parent, target, direction, loaded_by, site))
    try:
        return state.invoke_statement()
    finally:
        _ORM_LOAD.reset(token)


def _orm_attribution(on: bool) -> None:
    """Listen on every ORM Session while at least one log is active."""
    global _orm_logs
    with _ORM_LOCK:
        _orm_logs += 1 if on else -1
        if on and _orm_logs == 1:
            event.listen(Session, "do_orm_execute", _on_orm_execute)
        elif not on and _orm_logs == 0 and event.contains(Session, "do_orm_execute", _on_orm_execute):
            event.remove(Session, "do_orm_execute", _on_orm_execute)


# --------------------------------------------------------------------------- the log


class QueryLog:
    """Statements recorded on an engine while a ``with`` block (or a decorated function) ran.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with QueryLog(engine) as log:
    ...     with engine.connect() as conn:
    ...         _ = conn.exec_driver_sql("SELECT 1").all()
    >>> log.count, len(log.statements), log.statements[0].sql, log.transactions
    (1, 1, 'SELECT 1', {'BEGIN': 1, 'ROLLBACK': 1})

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
        self._sleeps: dict[int, tuple[float, bool]] = {}
        self._unwatch: Callable[[], None] | None = None
        self._reset()

    # -- recording -------------------------------------------------------------------

    def _reset(self) -> None:
        self._statements: list[Statement] = []
        self._count = 0
        self._statement_time = 0.0
        self._injected_time = 0.0
        self._injected_count = 0
        self._dropped = 0
        self._groups: dict[Any, Group] = {}
        self._sites: dict[tuple[str, int, str], CallSite] = {}
        self._transactions: Counter[str] = Counter()
        self._transaction_time = 0.0
        self._pending: deque[tuple[Any, ...]] = deque()
        self._pending_tx: deque[tuple[str | None, float]] = deque()
        self._starts.clear()
        self._sleeps.clear()
        self._t0 = self._clock()

    # The hooks run once per statement while recording, so they only take the time, find the
    # learner's line and queue a tuple (deque.append is thread-safe); shapes, groups and totals are
    # worked out on first read, or in batches of _FOLD_AT. tools.bench.queries measures what is left.

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        self._starts[id(cursor)] = self._clock()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        end = self._clock()
        key = id(cursor)
        start = self._starts.pop(key, None)
        if start is None:  # began before the block
            return
        try:
            rowcount: int | None = cursor.rowcount
        except Exception:  # a driver that cannot tell
            rowcount = None
        slept = self._sleeps.pop(key, None) if self._sleeps else None
        load = _ORM_LOAD.get()
        if load is None:
            site = _site_key(2, statement)
        else:
            site = None
            if not statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
                load, site = None, _site_key(2, statement)  # an autoflush inside a lazy load: a write of its own
        pending = self._pending
        pending.append((statement, parameters, start, end, rowcount, executemany, slept, None, site, load))
        if len(pending) >= _FOLD_AT:
            self._fold()

    def _error(self, ctx: Any) -> None:
        cursor = getattr(ctx.execution_context, "cursor", None)
        statement = ctx.statement
        if cursor is None or statement is None:
            return
        key = id(cursor)
        start = self._starts.pop(key, None)
        if start is None:
            return
        executemany = bool(getattr(ctx.execution_context, "executemany", False))
        slept = self._sleeps.pop(key, None)
        load = _ORM_LOAD.get()
        site = _site_key(2, statement) if load is None else None
        self._pending.append((statement, ctx.parameters, start, self._clock(), None, executemany, slept,
                              type(ctx.original_exception).__name__, site, load))

    def _slept(self, kind: str, cursor: Any, seconds: float) -> None:
        """Told by perflab.latency after each injected sleep (before or after our timer started)."""
        if cursor is None:
            self._pending_tx.append((None, seconds))
            return
        key = id(cursor)
        self._sleeps[key] = (seconds, key not in self._starts)  # True: slept before our start

    def _transaction(self, kind: str) -> Callable[[Any], None]:
        def listener(conn: Any) -> None:
            self._pending_tx.append((kind, 0.0))

        listener.__name__ = f"_{kind.lower()}"
        return listener

    def _fold(self) -> None:
        """Turn queued raw records into Statements, totals and groups."""
        with self._lock:
            while self._pending_tx:
                kind, seconds = self._pending_tx.popleft()
                if kind is None:
                    self._transaction_time += seconds
                    self._injected_time += seconds
                    self._injected_count += 1
                else:
                    self._transactions[kind] += 1
            pending = self._pending
            while True:
                try:
                    sql, params, start, end, rowcount, executemany, slept, error, key, load = pending.popleft()
                except IndexError:
                    break
                if rowcount is not None and rowcount < 0:
                    rowcount = None
                injected = 0.0
                if slept is not None:
                    injected, before_start = slept
                    if before_start:
                        start -= injected
                    self._injected_time += injected
                    self._injected_count += 1
                shape = shape_of(sql)
                duration = end - start
                self._count += 1
                self._statement_time += duration
                site = load.site if load is not None else self._site(key)
                if len(self._statements) < self.keep:
                    self._statements.append(Statement(sql, params, duration, rowcount, shape, executemany, injected,
                                                      start - self._t0, error, site, load))
                else:
                    self._dropped += 1
                if load is None:
                    group_key: Any = (shape, key)
                elif load.kind == "batch":
                    group_key = (load.kind, load.attribute)
                else:
                    group_key = (load.kind, load.attribute, site)
                group = self._groups.get(group_key)
                if group is None:
                    group = self._groups[group_key] = Group(load, shape, site, sql)
                group.add(params, duration, executemany=executemany, sql=sql)

    def _site(self, key: tuple[str, int, str] | None) -> CallSite | None:
        if key is None:
            return None
        site = self._sites.get(key)
        if site is None:
            site = self._sites[key] = CallSite(*key)
        return site

    @property
    def statements(self) -> list[Statement]:
        """The statements recorded, in the order they finished (at most ``keep`` of them)."""
        self._fold()
        return self._statements

    @property
    def count(self) -> int:
        """How many SQL statements ran, including any beyond ``keep`` that were not stored."""
        self._fold()
        return self._count

    @property
    def transactions(self) -> dict[str, int]:
        """How many BEGIN, COMMIT and ROLLBACK round trips there were (not in ``count``)."""
        self._fold()
        return {kind: n for kind in TRANSACTION_EVENTS.values() if (n := self._transactions[kind])}

    @property
    def round_trips(self) -> int:
        """Statements plus BEGIN / COMMIT / ROLLBACK: what a network database would answer."""
        return self.count + sum(self.transactions.values())

    @property
    def total_time(self) -> float:
        """Seconds spent in statements (their durations) plus the latency BEGIN / COMMIT / ROLLBACK paid."""
        self._fold()
        return self._statement_time + self._transaction_time

    @property
    def transaction_time(self) -> float:
        """Seconds of injected latency paid by BEGIN / COMMIT / ROLLBACK (included in ``total_time``)."""
        self._fold()
        return self._transaction_time

    @property
    def injected_time(self) -> float:
        """Seconds the injected latency actually slept, statements and transactions (in ``total_time``)."""
        self._fold()
        return self._injected_time

    @property
    def dropped(self) -> int:
        """Statements counted but not stored because ``keep`` was reached."""
        self._fold()
        return self._dropped

    def _listeners(self) -> list[tuple[str, Callable[..., None]]]:
        return [("before_cursor_execute", self._before), ("after_cursor_execute", self._after),
                ("handle_error", self._error), *self._tx_listeners]

    def start(self) -> QueryLog:
        """Start recording (``with`` does this): clears what an earlier block recorded."""
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return self
        self._reset()
        self._tx_listeners = [(name, self._transaction(kind)) for name, kind in TRANSACTION_EVENTS.items()]
        for name, fn in self._listeners():
            event.listen(self.engine, name, fn)
        self._unwatch = watch_sleeps(self.engine, self._slept)
        _orm_attribution(True)
        return self

    def stop(self) -> None:
        """Stop recording (leaving ``with`` does this, then checks the thresholds)."""
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth > 0:
                return
        for name, fn in self._listeners():
            if event.contains(self.engine, name, fn):
                event.remove(self.engine, name, fn)
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        _orm_attribution(False)

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
        """The findings: lazy loads, per-row and repeated queries run ``min_repeats`` times or more, most first.

        >>> import sqlalchemy as sa
        >>> engine = sa.create_engine("sqlite://")
        >>> with query_log(engine) as log, engine.connect() as conn:
        ...     for i in range(3):
        ...         _ = conn.exec_driver_sql("SELECT ?", (i,)).all()
        >>> log.suspects(), log.suspects(min_repeats=3)[0].count
        ([], 3)

        Each :class:`~perflab.querylog.Suspect` has ``message`` (one line with the fix), ``hint``
        (the fix), ``kind``, ``site`` (the learner's line), ``attribute`` (an ORM relationship such as
        ``Order.user``), ``shape``, ``count`` and ``total_time``. Which groups are findings, and why,
        is described in :mod:`perflab.querylog.findings`.

        Parameters:
            min_repeats: threshold (default: the log's ``min_repeats``, 5).
        """
        threshold = self.min_repeats if min_repeats is None else min_repeats
        self._fold()
        with self._lock:
            groups = list(self._groups.values())
        return find(groups, threshold)

    def check(self) -> None:
        """Raise :class:`TooManyQueries` if ``max_queries`` or ``fail_on_n_plus_one`` is violated."""
        if self.max_queries is None and not self.fail_on_n_plus_one:
            return
        suspects = self.suspects()
        if self.max_queries is not None and self.count > self.max_queries:
            message = f"{self.count} statements ran, expected at most {self.max_queries}"
            raise TooManyQueries(f"{message}; {suspects[0].message}" if suspects else message)
        if self.fail_on_n_plus_one and suspects:
            more = f" (and {plural(len(suspects) - 1, 'more finding')})" if len(suspects) > 1 else ""
            raise TooManyQueries(f"N+1 suspected: {suspects[0].message}{more}")

    def _injected_note(self) -> str:
        if not self.injected_time:  # folds pending records first
            return ""
        n = self._injected_count
        each = format_time(self._injected_time / n)
        return (f"includes {format_time(self._injected_time)} injected latency, simulated network: "
                f"{plural(n, 'round trip')}, {each} each on average")

    def summary(self) -> str:
        """One line: statements (and transaction round trips), total time, injected latency, findings."""
        text = plural(self.count, "statement")
        tx = self.transactions
        if tx:
            text += " (+ " + ", ".join(kind if n == 1 else f"{n}× {kind}" for kind, n in tx.items()) + ")"
        text += f" in {format_time(self.total_time)}"
        note = self._injected_note()
        if note:
            text += f" ({note})"
        n = len(self.suspects())
        if n:
            text += f", {plural(n, 'finding')}"
        return text

    def report(self, limit: int = 20) -> str:
        """The log as text: summary, findings with their fixes, then the first ``limit`` statements.

        Parameters:
            limit: how many statements to list (0 lists none).
        """
        lines = [self.summary()]
        lines += [f"  ! {s.message}  [{format_time(s.total_time)}]" for s in self.suspects()]
        shown = self.statements[:limit]
        if shown:
            lines.append(f"{'#':>4} {'ms':>8} {'rows':>6}  statement")
            for i, st in enumerate(shown, 1):
                rows = "-" if st.rowcount is None else str(st.rowcount)
                err = f"  [{st.error}]" if st.error else ""
                params = f"  {_fmt_params(st.params, st.executemany)}" if st.params else ""
                lines.append(f"{i:>4} {st.duration * 1e3:>8.3f} {rows:>6}  {display_sql(st.sql, 100)}{params}{err}")
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
            items = "".join(f"<li>{esc(s.message)} ({esc(format_time(s.total_time))})</li>" for s in suspects)
            parts.append(f"<p>⚠️ Findings:</p><ul>{items}</ul>")
        shown = self.statements[:limit]
        if shown:
            rows = "".join(
                f"<tr><td>{i}</td><td>{st.duration * 1e3:.3f}</td>"
                f"<td>{'' if st.rowcount is None else st.rowcount}</td>"
                f"<td style='text-align:left'><code>{esc(display_sql(st.sql, 120))}</code></td>"
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


def _fmt_params(params: Any, executemany: bool, width: int = 60) -> str:
    if executemany:
        n = len(params) if hasattr(params, "__len__") else "?"
        return f"[{n} parameter sets]"
    text = repr(params)
    return text if len(text) <= width else text[: width - 3] + "..."


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
