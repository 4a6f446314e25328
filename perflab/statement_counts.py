"""What a query log recorded, one line per distinct statement: how many times it ran, and its shape.

>>> import sqlalchemy as sa
>>> from perflab.querylog import query_log
>>> engine = sa.create_engine("sqlite://")
>>> with query_log(engine) as log, engine.connect() as conn:
...     for uid in (1, 2, 3):
...         _ = conn.exec_driver_sql("SELECT ? AS uid", (uid,)).all()
>>> show_statements(log)
3 statements
    3 × SELECT ? AS uid

The chapters print this after a page ran, so the N+1 shows as one shape repeated N times.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from perflab.display import plural
from perflab.querylog import short_sql


def statement_counts(log: Any) -> list[tuple[str, int]]:
    """(shape, times it ran) for each distinct statement shape of ``log``, in the order they first ran.

    >>> statement_counts(type("Log", (), {"statements": []})())
    []

    Parameters:
        log: a :class:`perflab.QueryLog` (anything with ``.statements`` whose items have a ``.shape``).
    """
    return list(Counter(s.shape for s in log.statements).items())


def show_statements(log: Any, width: int = 120) -> None:
    """Print how many statements ``log`` recorded, then each distinct shape once with its count.

    >>> show_statements(type("Log", (), {"statements": [], "count": 0})())
    0 statements

    Parameters:
        log: a :class:`perflab.QueryLog`.
        width: the longest SQL line printed (longer shapes are cut with ``...``).
    """
    print(plural(log.count, "statement"))
    for shape, n in statement_counts(log):
        print(f"{n:>5} × {short_sql(shape, width)}")
