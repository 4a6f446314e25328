"""EXPLAIN for SQLite and PostgreSQL: the database's plan for a query, and whether it uses an index.

>>> import sqlalchemy as sa
>>> from perflab.plans import explain
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as conn:
...     _ = conn.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INT, status TEXT)")
...     _ = conn.exec_driver_sql("CREATE INDEX ix_orders_user_id ON orders (user_id)")
>>> plan = explain(engine, "SELECT * FROM orders WHERE user_id = :u", {"u": 42})
>>> print(plan)
SEARCH orders USING INDEX ix_orders_user_id (user_id=?)
>>> plan.uses_index("ix_orders_user_id"), plan.full_scan("orders")
(True, False)
>>> explain(engine, "SELECT * FROM orders WHERE status = 'paid'").full_scan("orders")
True

SQLite runs ``EXPLAIN QUERY PLAN``: the plan only, the query is not executed, so there is no
execution time. ``SCAN t`` reads every row of ``t``; ``SEARCH t USING INDEX ix`` jumps to the
matching rows through index ``ix``.

PostgreSQL runs ``EXPLAIN (ANALYZE, BUFFERS)``: the query **is executed** (inside a transaction that
is rolled back, so an UPDATE or DELETE changes nothing) and the plan shows real row counts,
buffers and the execution time. ``Seq Scan on t`` reads the whole table; ``Index Scan``,
``Index Only Scan`` and ``Bitmap Index Scan`` use an index. PostgreSQL chooses by cost: on a small
table, or when a filter matches a large share of the rows, a sequential scan is often the right
choice even when an index exists.

The module is ``perflab.plans``, not ``perflab.explain``: importing a submodule binds its name on the
package, and a module named ``explain`` would replace the function ``perflab.explain`` the chapters call.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.base import Executable

from perflab.errors import PerflabError
from perflab.latency import engine_of

_SQLITE_NODE = re.compile(r"^(SCAN|SEARCH) (?:TABLE )?(\S+)(?: AS (\S+))?")
_SQLITE_INDEX = re.compile(r"\bUSING (?:COVERING )?INDEX (\S+)")
_SQLITE_PK = re.compile(r"\bUSING (INTEGER PRIMARY KEY|PRIMARY KEY)\b")
#: A PostgreSQL name as EXPLAIN prints it: bare, or in double quotes when it needs them ("IX_Orders", "a b").
_PG_NAME = r'("(?:[^"]|"")+"|[^\s"(]+)'
_PG_SEQ = re.compile(rf"\b(?:Parallel )?Seq Scan on {_PG_NAME}(?: (?!\(){_PG_NAME})?")
_PG_INDEX = re.compile(rf"\b(?:Index|Index Only) Scan(?: Backward)? using {_PG_NAME} on {_PG_NAME}"
                       rf"(?: (?!\(){_PG_NAME})?")
_PG_BITMAP = re.compile(rf"\bBitmap Index Scan on {_PG_NAME}")
_PG_TIME = re.compile(r"^(Planning|Execution) Time: ([0-9.]+) ms")
_PG_SHARED = re.compile(r"\bshared((?: (?:hit|read|dirtied|written)=\d+)+)")
_SERIAL = itertools.count(1)


class Plan:
    """A query plan from :func:`explain`: the plan as text, the indexes used, the full scans.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> plan = explain(engine, "SELECT 1")
    >>> plan.backend, plan.indexes, plan.execution_ms
    ('sqlite', [], None)
    """

    def __init__(
        self,
        backend: str,
        sql: str,
        text: str,
        rows: list[tuple[Any, ...]],
        *,
        indexes: list[str],
        scans: list[tuple[str, str | None]],
        execution_ms: float | None = None,
        planning_ms: float | None = None,
        pages: int | None = None,
    ) -> None:
        #: "sqlite" or "postgresql".
        self.backend = backend
        #: The statement that was explained, as sent to the driver.
        self.sql = sql
        #: The plan as an indented tree (what ``print(plan)`` shows).
        self.text = text
        #: The rows EXPLAIN returned, unchanged.
        self.rows = rows
        #: Names of the indexes the plan uses, in plan order ("PRIMARY KEY" for SQLite rowid lookups).
        self.indexes = indexes
        #: (table, alias or None) for every full table scan in the plan.
        self.scans = scans
        #: Execution time reported by PostgreSQL's EXPLAIN ANALYZE, in ms (None on SQLite).
        self.execution_ms = execution_ms
        #: Planning time reported by PostgreSQL, in ms (None on SQLite).
        self.planning_ms = planning_ms
        #: Pages the executed query touched, found in PostgreSQL's buffer cache or read in ("shared hit" +
        #: "read" of the plan's top node; not planning's). Unlike a time, the same on every run. None on SQLite,
        #: without ANALYZE, or when the plan reports no buffers.
        self.pages = pages

    def uses_index(self, name: str | None = None) -> bool:
        """True if the plan uses index ``name`` (any index when None; names compare case-insensitively).

        Parameters:
            name: an index name such as ``"ix_orders_user_id"``, or None for any index.
        """
        if name is None:
            return bool(self.indexes)
        return name.lower() in {index.lower() for index in self.indexes}

    def full_scan(self, table: str | None = None) -> bool:
        """True if the plan reads all of ``table`` without an index (any table when None).

        On SQLite a table that the query aliases (``FROM orders AS o``) is named by its alias in
        the plan; either name matches.

        Parameters:
            table: a table name (or alias), or None for any table.
        """
        if table is None:
            return bool(self.scans)
        wanted = table.lower()
        return any(wanted in {name.lower(), (alias or "").lower()} for name, alias in self.scans)

    @property
    def summary(self) -> str:
        """One line: indexes used, full scans, execution time."""
        parts = []
        if self.indexes:
            parts.append("uses index " + ", ".join(dict.fromkeys(self.indexes)))
        if self.scans:
            parts.append("full scan of " + ", ".join(dict.fromkeys(name for name, _ in self.scans)))
        if not parts:
            parts.append("no table scan")
        if self.execution_ms is not None:
            parts.append(f"executed in {self.execution_ms:g} ms")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Plan ({self.backend}): {self.summary}>\n{self.text}"

    def _repr_html_(self) -> str:
        lines = []
        for line in self.text.splitlines():
            escaped = html.escape(line)
            if _is_full_scan_line(line):
                escaped = f"<span style='color:#b00020;font-weight:bold'>{escaped}</span>"
            elif _is_index_line(line):
                escaped = f"<span style='color:#1b7f3b;font-weight:bold'>{escaped}</span>"
            lines.append(escaped)
        body = "\n".join(lines)
        return f"<p><b>{html.escape(self.backend)}</b>: {html.escape(self.summary)}</p><pre>{body}</pre>"


def _is_full_scan_line(line: str) -> bool:
    if _PG_SEQ.search(line):
        return True
    m = _SQLITE_NODE.search(line.lstrip("|`- "))
    return bool(m and m.group(1) == "SCAN" and _sqlite_scan_table(line.lstrip("|`- ")) is not None)


def _is_index_line(line: str) -> bool:
    return bool(_PG_INDEX.search(line) or _PG_BITMAP.search(line) or _SQLITE_INDEX.search(line)
                or _SQLITE_PK.search(line))


def _sqlite_scan_table(detail: str) -> tuple[str, str | None] | None:
    """(table, alias) if this SQLite plan line is a full table scan, else None."""
    m = _SQLITE_NODE.match(detail)
    if not m or m.group(1) != "SCAN":
        return None
    name = m.group(2)
    if name.startswith("(") or name == "CONSTANT" or "VIRTUAL TABLE" in detail:
        return None
    if _SQLITE_INDEX.search(detail) or _SQLITE_PK.search(detail) or "AUTOMATIC" in detail:
        return None
    return (name, m.group(3))


def _sqlite_plan(sql: str, rows: list[tuple[Any, ...]]) -> Plan:
    children: dict[int, list[tuple[int, str]]] = {}
    for node_id, parent, _unused, detail in rows:
        children.setdefault(int(parent), []).append((int(node_id), str(detail)))
    lines: list[str] = []

    def walk(parent: int, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, (node_id, detail) in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(prefix + ("`--" if last else "|--") + detail)
            walk(node_id, prefix + ("   " if last else "|  "))

    for node_id, detail in children.get(0, []):
        lines.append(detail)
        walk(node_id, "")
    indexes: list[str] = []
    scans: list[tuple[str, str | None]] = []
    # Subquery and CTE results that SQLite materializes are scanned like tables; they are not tables.
    derived = {str(detail).split(" ", 1)[1] for _i, _p, _u, detail in rows
               if str(detail).startswith(("MATERIALIZE ", "CO-ROUTINE "))}
    for _id, _parent, _unused, detail in rows:
        detail = str(detail)
        index = _SQLITE_INDEX.search(detail)
        if index:
            indexes.append(index.group(1))
        elif _SQLITE_PK.search(detail):
            indexes.append("PRIMARY KEY")
        scan = _sqlite_scan_table(detail)
        if scan and scan[0] not in derived:
            scans.append(scan)
    return Plan("sqlite", sql, "\n".join(lines), rows, indexes=indexes, scans=scans)


def _unquoted(name: str) -> str:
    """A name as created: PostgreSQL prints ``"IX_Orders"`` for the index ``IX_Orders`` (``""`` is one quote)."""
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def _postgres_plan(sql: str, rows: list[tuple[Any, ...]]) -> Plan:
    lines = [str(row[0]) for row in rows]
    indexes: list[str] = []
    scans: list[tuple[str, str | None]] = []
    times: dict[str, float] = {}
    pages: int | None = None
    planning = False
    for line in lines:
        planning = planning or line.startswith("Planning")
        shared = _PG_SHARED.search(line) if line.strip().startswith("Buffers:") else None
        if shared and pages is None and not planning:  # the first Buffers line: the top node's, children included
            counts = dict(item.split("=") for item in shared.group(1).split())
            pages = int(counts.get("hit", 0)) + int(counts.get("read", 0))
        for m in _PG_INDEX.finditer(line):
            indexes.append(_unquoted(m.group(1)))
        for m in _PG_BITMAP.finditer(line):
            indexes.append(_unquoted(m.group(1)))
        for m in _PG_SEQ.finditer(line):
            scans.append((_unquoted(m.group(1)), _unquoted(m.group(2)) if m.group(2) else None))
        t = _PG_TIME.match(line.strip())
        if t:
            times[t.group(1)] = float(t.group(2))
    return Plan(
        "postgresql", sql, "\n".join(lines), rows, indexes=indexes, scans=scans,
        execution_ms=times.get("Execution"), planning_ms=times.get("Planning"), pages=pages,
    )


def _run(conn: Connection, sql: object, params: Any) -> Any:
    if isinstance(sql, str):
        if params is None or isinstance(params, Mapping):
            return conn.execute(text(sql), dict(params or {}))
        if isinstance(params, Sequence):
            return conn.exec_driver_sql(sql, tuple(params))
        raise PerflabError(
            f"params must be a dict (for :name placeholders), got {type(params).__name__}; e.g. {{'u': 42}}"
        )
    statement = getattr(sql, "statement", sql)  # a legacy ORM Query
    if isinstance(statement, Executable):
        if params is not None and not isinstance(params, Mapping):
            raise PerflabError(
                f"params of a statement must be a dict, got {type(params).__name__} (e.g. {{'u': 1}})"
            )
        return conn.execute(statement, dict(params or {}))
    raise PerflabError(
        f"sql must be a SQL string or a SQLAlchemy statement such as select(...), got {type(sql).__name__}"
    )


def explain(engine: object, sql: object, params: Mapping[str, Any] | Sequence[Any] | None = None, *,
            analyze: bool = True) -> Plan:
    """Ask the database how it runs ``sql``: SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN ANALYZE``.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base, Order
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> print(explain(engine, sa.select(Order).where(Order.user_id == 7)))
    SEARCH orders USING INDEX ix_orders_user_id (user_id=?)

    The statement is compiled and sent exactly as SQLAlchemy would run it, with ``EXPLAIN ...`` put
    in front, on a fresh connection whose transaction is rolled back afterwards.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        sql: a SQL string with ``:name`` placeholders, or a SQLAlchemy statement (``select(...)``).
        params: values for the placeholders (a dict; a tuple for driver-style ``?`` placeholders).
        analyze: PostgreSQL only: False shows the estimated plan without running the query.
    """
    target = engine_of(engine)
    backend = target.dialect.name
    if backend == "sqlite":
        # A unique comment keeps the driver's statement cache out of the way: SQLite does not
        # re-plan a cached EXPLAIN QUERY PLAN after DROP INDEX, so a reused one shows a stale plan.
        prefix = f"EXPLAIN QUERY PLAN /* perflab {next(_SERIAL)} */ "
    elif backend == "postgresql":
        prefix = "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " if analyze else "EXPLAIN (FORMAT TEXT) "
    else:
        raise PerflabError(f"explain supports SQLite and PostgreSQL, got {backend}; connect to one of those")
    sent: list[str] = []

    def add_prefix(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                   executemany: bool) -> tuple[str, Any]:
        if not sent:
            sent.append(statement)
            return prefix + statement, parameters
        return statement, parameters

    with target.connect() as conn:
        event.listen(conn, "before_cursor_execute", add_prefix, retval=True)
        try:
            result = _run(conn, sql, params)
            cursor = result.cursor
            rows = [tuple(row) for row in cursor.fetchall()] if cursor is not None else []
            result.close()
        finally:
            event.remove(conn, "before_cursor_execute", add_prefix)
            conn.rollback()
    statement = sent[0] if sent else str(sql)
    if backend == "sqlite":
        return _sqlite_plan(statement, rows)
    return _postgres_plan(statement, rows)
