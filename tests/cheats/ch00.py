"""00-top-customers, cheats: each returns the right five ids on the course's data, and must fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cheats import driver_connection
from perflab.exercises.ch00 import top_customers_reference


def remembered(course: Engine) -> Callable[[Engine], list[int]]:
    """The five ids, copied from the notebook's output as a literal: no statement at all."""
    literal = top_customers_reference(course)

    def top_customers(engine: Engine) -> list[int]:
        return list(literal)

    return top_customers


def remembered_with_a_query(course: Engine) -> Callable[[Engine], list[int]]:
    """The literal again, with a statement sent for show."""
    literal = top_customers_reference(course)

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        return list(literal)

    return top_customers


def count_in_python(course: Engine) -> Callable[[Engine], list[int]]:
    """Every order fetched in one statement, counted in Python."""

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            counts = Counter(conn.scalars(sa.text("SELECT user_id FROM orders")))
        return sorted(counts, key=lambda u: (-counts[u], u))[:5]

    return top_customers


def _one_row_of_every_user(engine: Engine) -> str:
    """Every order's user id, in one row: group_concat (SQLite) or string_agg (PostgreSQL)."""
    agg = "string_agg(user_id::text, ',')" if engine.dialect.name == "postgresql" else "group_concat(user_id)"
    with engine.connect() as conn:
        return str(conn.scalar(sa.text(f"SELECT {agg} FROM orders")))


def one_row_concat(course: Engine) -> Callable[[Engine], list[int]]:
    """One statement and one row: every user id concatenated in a string, counted in Python (a row bound misses it)."""

    def top_customers(engine: Engine) -> list[int]:
        counts = Counter(int(u) for u in _one_row_of_every_user(engine).split(","))
        return sorted(counts, key=lambda u: (-counts[u], u))[:5]

    return top_customers


def _driver_user_ids(engine: Engine) -> list[int]:
    """Every order's user id through a connection opened with the driver itself, not through any pool."""
    raw = driver_connection(engine)
    try:
        return [u for (u,) in raw.execute("SELECT user_id FROM orders").fetchall()]
    finally:
        raw.close()


def driver_behind_a_decoy(course: Engine) -> Callable[[Engine], list[int]]:
    """One harmless statement through the engine, the real work on a connection opened with sqlite3 / psycopg."""

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        counts = Counter(_driver_user_ids(engine))
        return sorted(counts, key=lambda u: (-counts[u], u))[:5]

    return top_customers


#: (cheat factory, a fragment its ❌ must contain)
CHEATS = [
    (remembered, "sent no SQL statement"),
    (remembered_with_a_query, "gives the course's answer on a second dataset"),
    (count_in_python, "it fetches every order's user and counts in Python"),
    (one_row_concat, "it fetches every order's user and counts in Python"),
    (driver_behind_a_decoy, "sent 2 SQL statements"),
]
