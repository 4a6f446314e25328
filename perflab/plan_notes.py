"""A query plan read line by line: each line of :func:`perflab.explain`'s output with what it means.

>>> import sqlalchemy as sa
>>> from perflab.plans import explain
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as conn:
...     _ = conn.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INT)")
>>> print(read_plan(explain(engine, "SELECT * FROM orders WHERE user_id = 7")))
SCAN orders
    → reads every row of orders and tests each one: a full table scan

On PostgreSQL the plan comes from ``EXPLAIN (ANALYZE, BUFFERS)``: estimates, then what really
happened (time, rows, loops), the filter and the rows it threw away, and the 8 KB pages read.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

_PG_NODE = re.compile(
    r"^(?P<node>[A-Za-z][A-Za-z ]+?)(?: (?:using|on) .*?)?\s+"
    r"\(cost=(?P<c1>[\d.]+)\.\.(?P<c2>[\d.]+) rows=(?P<erows>\d+) width=(?P<width>\d+)\)"
    r"(?: \(actual time=(?P<t1>[\d.]+)\.\.(?P<t2>[\d.]+) rows=(?P<rows>\d+) loops=(?P<loops>\d+)\))?"
)
_PG_NODES = {
    "Seq Scan": "reads every row of the table (a sequential scan)",
    "Parallel Seq Scan": "several workers read every row of the table between them",
    "Index Scan": "walks the index to the matching entries, then reads each matching row from the table",
    "Index Only Scan": "answers from the index alone: every column it needs is in the index",
    "Bitmap Index Scan": "collects the locations of the matching rows from the index",
    "Bitmap Heap Scan": "reads the table pages that the bitmap index scan marked, in page order",
    "Sort": "sorts the rows",
    "HashAggregate": "groups rows in a hash table (GROUP BY or DISTINCT)",
    "GroupAggregate": "groups rows that arrive sorted",
    "Aggregate": "computes an aggregate (count, sum, ...)",
    "Unique": "drops duplicate rows from sorted input",
    "Limit": "stops after the first rows",
    "Hash Join": "joins through a hash table built on one side",
    "Nested Loop": "for each row of the outer side, looks up the inner side",
    "Merge Join": "joins two sorted inputs",
    "Hash": "builds the hash table of a hash join",
    "Gather": "collects rows from parallel workers",
}
_PG_DETAILS = (
    ("Filter:", "a condition tested on each row read: rows that fail it were read for nothing"),
    ("Rows Removed by Filter:", "rows read and thrown away: the work an index on the filtered column would save"),
    ("Index Cond:", "the condition the index answers: only matching entries are visited"),
    ("Recheck Cond:", "the condition re-tested on the table rows a bitmap scan fetched"),
    ("Heap Blocks:", "table pages the bitmap heap scan read"),
    ("Heap Fetches:", "rows an index-only scan still had to check in the table (0 after VACUUM)"),
    ("Buffers:", "8 KB pages touched: hit = found in PostgreSQL's cache, read = fetched from the OS or disk"),
    ("Planning:", "the planner's own work (reading the catalog, choosing the plan)"),
    ("Planning Time:", "time spent choosing the plan"),
    ("Execution Time:", "time the server spent running the query (not the network, not the client)"),
    ("Group Key:", "the columns rows are grouped by"),
    ("Sort Key:", "the columns rows are sorted by"),
    ("Sort Method:", "how the sort ran (in memory, or spilling to disk)"),
    ("Batches:", "how many batches the hash table needed (1: it fit in work_mem)"),
    ("Workers", "parallel workers planned and started"),
)


def _pg_note(line: str) -> str:
    body = line.strip().removeprefix("->").strip()
    node = _PG_NODE.match(body)
    if node:
        kind = node.group("node").strip()
        meaning = _PG_NODES.get(kind, "one step of the plan")
        note = (f"{meaning}; estimated cost {node.group('c2')} (planner units), "
                f"{node.group('erows')} rows of {node.group('width')} bytes")
        if node.group("rows") is not None:
            note += (f"; really {node.group('rows')} rows in {float(node.group('t2')):g} ms"
                     f"{'' if node.group('loops') == '1' else ' per loop, ' + node.group('loops') + ' loops'}")
        return note
    for prefix, meaning in _PG_DETAILS:
        if body.startswith(prefix):
            return meaning
    return ""


def _sqlite_note(line: str) -> str:
    body = line.lstrip("|`- ").strip()
    m = re.match(r"^(SCAN|SEARCH) (?:TABLE )?(\S+)", body)
    if m and m.group(1) == "SEARCH":
        if "COVERING INDEX" in body:
            return f"looks up matching entries in an index that holds every column needed: {m.group(2)} itself is " \
                   "never read"
        if "PRIMARY KEY" in body:
            return f"jumps to the rows of {m.group(2)} by their primary key"
        return f"looks up the matching entries in an index, then reads only those rows of {m.group(2)}"
    if m:
        if "COVERING INDEX" in body:
            return f"reads a whole index instead of {m.group(2)}: smaller, and every column needed is in it"
        if "USING INDEX" in body:
            return f"reads every row of {m.group(2)} in the index's order (to skip a sort, not to filter)"
        return f"reads every row of {m.group(2)} and tests each one: a full table scan"
    if body.startswith("USE TEMP B-TREE"):
        return "builds a temporary sorted structure (for " + body.removeprefix("USE TEMP B-TREE FOR ").lower() + ")"
    return ""


def read_plan(plan: Any) -> str:
    """The plan's lines, each followed by ``→ what it means`` (lines with nothing to add stay alone).

    >>> import sqlalchemy as sa
    >>> from perflab.plans import explain
    >>> engine = sa.create_engine("sqlite://")
    >>> with engine.begin() as conn:
    ...     _ = conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT)")
    ...     _ = conn.exec_driver_sql("CREATE INDEX ix_t_a ON t (a)")
    >>> print(read_plan(explain(engine, "SELECT id FROM t WHERE a = 1")))
    SEARCH t USING COVERING INDEX ix_t_a (a=?)
        → looks up matching entries in an index that holds every column needed: t itself is never read

    Parameters:
        plan: a :class:`perflab.plans.Plan` (SQLite ``EXPLAIN QUERY PLAN`` or PostgreSQL
            ``EXPLAIN (ANALYZE, BUFFERS)``).
    """
    note = _pg_note if plan.backend == "postgresql" else _sqlite_note
    out = []
    for line in str(plan).splitlines():
        out.append(line)
        meaning = note(line)
        if meaning:
            indent = len(line) - len(line.lstrip(" |`-")) if plan.backend == "sqlite" else len(line) - len(
                line.lstrip())
            out.append(" " * (indent + 4) + "→ " + meaning)
    return "\n".join(out)


def execution_ms(engine: Any, sql: str, params: Mapping[str, Any] | None = None, runs: int = 5) -> float:
    """The database's own time for ``sql`` in ms: no network, no SQLAlchemy, no building of Python rows.

    >>> import sqlalchemy as sa
    >>> execution_ms(sa.create_engine("sqlite://"), "SELECT :x", {"x": 1}) < 100
    True

    On PostgreSQL it is the median ``Execution Time`` of ``runs`` EXPLAIN ANALYZE, the figure the book
    quotes ("Execution Time: 450.2ms"). SQLite has no server and reports no time: the statement runs
    through the sqlite3 module on one open connection (``perflab.measure``, median), which is SQLite's
    work plus a Python call.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        sql: a SQL string with ``:name`` placeholders.
        params: values for the placeholders.
        runs: PostgreSQL: how many EXPLAIN ANALYZE to run (the median counts); SQLite: timed runs.
    """
    import statistics

    from sqlalchemy import text

    from perflab.latency import engine_of
    from perflab.plans import explain
    from perflab.timing import NoisyMeasurement, measure

    target = engine_of(engine)
    if target.dialect.name == "postgresql":
        times = [explain(target, sql, params).execution_ms for _ in range(max(1, runs))]
        return float(statistics.median(t for t in times if t is not None))
    compiled = text(sql).compile(dialect=target.dialect)
    values = compiled.construct_params(dict(params or {}))
    args = tuple(values[name] for name in compiled.positiontup or ())
    raw = target.raw_connection()
    try:
        cursor = raw.cursor()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoisyMeasurement)
            m = measure(lambda: cursor.execute(str(compiled), args).fetchall(), budget=0.1, runs=max(3, runs))
        cursor.close()
    finally:
        raw.close()
    return m.median * 1e3
