"""Reference solutions of chapter 00 (welcome and setup).

Peek only after you have tried: ``perflab.hint("00-top-customers")`` gives hints one at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.schema import Order


def top_customers(engine: Engine) -> list[int]:
    """The 5 user ids with the most orders, most first, in one SQL statement.

    The database counts (GROUP BY), sorts by the count (ORDER BY ... DESC) and keeps five
    (LIMIT): one statement, and only five rows travel back. Ties go to the smaller user id.
    """
    orders = sa.func.count(Order.id)
    stmt = (
        sa.select(Order.user_id)
        .group_by(Order.user_id)
        .order_by(orders.desc(), Order.user_id)
        .limit(5)
    )
    with engine.connect() as conn:
        return list(conn.scalars(stmt))
