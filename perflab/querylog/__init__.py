"""The query log: count the SQL a block of code sends, and name the cause of an N+1 with its fix.

>>> import sqlalchemy as sa
>>> from perflab.querylog import query_log
>>> engine = sa.create_engine("sqlite://")
>>> with query_log(engine) as log, engine.connect() as conn:
...     _ = conn.exec_driver_sql("SELECT 1").all()
>>> log.count
1

Modules: :mod:`~perflab.querylog.shapes` (SQL normalisation), :mod:`~perflab.querylog.log` (recording),
:mod:`~perflab.querylog.findings` (N+1 attribution and hints).
"""

from __future__ import annotations

from perflab.querylog.findings import OrmLoad, Suspect
from perflab.querylog.log import DEFAULT_KEEP, DEFAULT_MIN_REPEATS, QueryLog, Statement, TooManyQueries, query_log
from perflab.querylog.shapes import shape_of, short_sql

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_MIN_REPEATS",
    "OrmLoad",
    "QueryLog",
    "Statement",
    "Suspect",
    "TooManyQueries",
    "query_log",
    "shape_of",
    "short_sql",
]
