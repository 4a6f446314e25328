"""Undo a chapter's writes: snapshot some rows, let the code change them, put them back exactly.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as conn:
...     _ = conn.exec_driver_sql("CREATE TABLE products (id INTEGER PRIMARY KEY, price_cents INTEGER)")
...     _ = conn.exec_driver_sql("INSERT INTO products VALUES (1, 500)")
>>> with restoring(engine, "products", [1]):
...     with engine.begin() as conn:
...         _ = conn.exec_driver_sql("UPDATE products SET price_cents = 1 WHERE id = 1")
>>> with engine.connect() as conn:
...     conn.exec_driver_sql("SELECT price_cents FROM products").scalar()
500

Chapters run in any order, any number of times, and ``perflab.connect()`` rebuilds a dataset whose
rows changed: a cell that writes to the dataset wraps the write in ``restoring`` (an exception in
the block restores too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from perflab.errors import PerflabError

if TYPE_CHECKING:
    from sqlalchemy import Engine


@contextmanager
def restoring(engine: Engine, table: str, ids: Iterable[int]) -> Iterator[None]:
    """Save the rows ``ids`` of ``table``; when the block ends, write every column of them back.

    Parameters: ``engine``, ``table`` (a table of the dataset, e.g. "products"), ``ids`` (primary keys
    of existing rows; rows are updated back, not re-inserted, so the block must not delete them).
    """
    import sqlalchemy as sa

    wanted = sorted({int(i) for i in ids})
    meta = sa.MetaData()
    try:
        tbl = sa.Table(table, meta, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        raise PerflabError(f"no table {table!r} to restore rows of — build the dataset first "
                           "(perflab.connect())") from None
    with engine.connect() as conn:
        saved = [dict(r) for r in conn.execute(sa.select(tbl).where(tbl.c.id.in_(wanted))).mappings()]
    if len(saved) != len(wanted):
        missing = sorted(set(wanted) - {r["id"] for r in saved})
        raise PerflabError(f"{table} has no rows with id {missing[:5]} to save — pass ids of existing rows")
    try:
        yield
    finally:
        if saved:
            columns = [c for c in saved[0] if c != "id"]
            stmt = (sa.update(tbl).where(tbl.c.id == sa.bindparam("_id"))
                    .values({c: sa.bindparam(c) for c in columns}))
            with engine.begin() as conn:
                conn.execute(stmt, [{"_id": r["id"], **{c: r[c] for c in columns}} for r in saved])
