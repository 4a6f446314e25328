"""06-find-duplicates, correct in other styles: Counter, a dict of counts, sorting, itertools, SQL (sqlite3,
SQLAlchemy Core, an ORM session), pandas and NumPy; all must pass."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def counter_based(items: list[int]) -> list[int]:
    return [value for value, count in Counter(items).items() if count > 1]


def dict_based(items: list[int]) -> set[int]:
    counts: dict[int, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return {item for item, count in counts.items() if count > 1}


def sort_based(items: list[int]) -> list[int]:
    """Sort, then compare neighbours: n log n, which grows about 5x for 4x more items."""
    ordered, found = sorted(items), []
    for previous, current in zip(ordered, ordered[1:]):
        if previous == current and (not found or found[-1] != current):
            found.append(current)
    return found


def sorted_groupby(items: list[int]) -> list[int]:
    """itertools: equal values are neighbours once sorted; a group of more than one is a duplicate."""
    return [value for value, group in groupby(sorted(items)) if len(list(group)) > 1]


def sqlite3_group_by(items: list[int]) -> list[int]:
    """The database does it: a table in memory, GROUP BY ... HAVING count(*) > 1."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE item (value INTEGER)")
        conn.executemany("INSERT INTO item VALUES (?)", ((item,) for item in items))
        rows = conn.execute("SELECT value FROM item GROUP BY value HAVING count(*) > 1").fetchall()
    return [value for (value,) in rows]


_CORE = sa.create_engine("sqlite://")
_ITEMS = sa.Table("item", sa.MetaData(), sa.Column("value", sa.Integer))
_ITEMS.create(_CORE)


def sqlalchemy_core(items: list[int]) -> list[int]:
    """SQLAlchemy Core: insert the values into a table, GROUP BY HAVING; a fixed cost per call, heavy per item."""
    with _CORE.begin() as conn:
        conn.execute(_ITEMS.delete())
        if items:
            conn.execute(_ITEMS.insert(), [{"value": item} for item in items])
        query = sa.select(_ITEMS.c.value).group_by(_ITEMS.c.value).having(sa.func.count() > 1)
        return list(conn.execute(query).scalars())


class _Base(DeclarativeBase):
    pass


class _Item(_Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int]


_ORM = sa.create_engine("sqlite://")
_Base.metadata.create_all(_ORM)


def orm_session(items: list[int]) -> list[int]:
    """The same through an ORM Session (a bulk insert of mapped rows), rolled back: the heaviest here."""
    with Session(_ORM) as session:
        if items:
            session.execute(sa.insert(_Item), [{"value": item} for item in items])
        found = session.scalars(sa.select(_Item.value).group_by(_Item.value).having(sa.func.count() > 1)).all()
        session.rollback()
    return list(found)


def pandas_duplicated(items: list[int]) -> Any:
    """pandas: the values marked as a repeat of an earlier one, each once (a NumPy array)."""
    values = pd.Series(items, dtype="int64")
    return values[values.duplicated()].unique()


def numpy_unique(items: list[int]) -> Any:
    """NumPy: sort once in C and count each distinct value."""
    values, counts = np.unique(np.asarray(items, dtype=np.int64), return_counts=True)
    return values[counts > 1]


FIND_DUPLICATES = [counter_based, dict_based, sort_based, sorted_groupby, sqlite3_group_by, sqlalchemy_core,
                   orm_session, pandas_duplicated, numpy_unique]
