"""00-top-customers, cheats: each returns the right five ids on the course's data, and must fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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


#: (cheat factory, a fragment its ❌ must contain)
CHEATS = [
    (remembered, "sent no SQL statement"),
    (remembered_with_a_query, "gives the course's answer on a second dataset"),
    (count_in_python, "it counts the orders in Python"),
]
