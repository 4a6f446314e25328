"""Reference solutions of chapter 02, the N+1 query problem (one function per exercise).

The checks compare your function with the references in :mod:`perflab.exercises.ch02`; these are the
same solutions, written the way the notebook writes its code.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.orm import Session, selectinload

from perflab.schema import Product

ORDERS_OF_USERS = text(
    "SELECT user_id, id FROM orders WHERE user_id IN :ids ORDER BY user_id, id"
).bindparams(bindparam("ids", expanding=True))


def orders_by_user(engine: Engine, user_ids: Iterable[int]) -> dict[int, list[int]]:
    """02-orders-per-user: every user id mapped to its order ids (sorted), in one statement."""
    ids = list(user_ids)
    result: dict[int, list[int]] = {uid: [] for uid in ids}  # users without orders map to []
    if not ids:
        return result
    with engine.connect() as conn:
        for user_id, order_id in conn.execute(ORDERS_OF_USERS, {"ids": ids}):
            result[user_id].append(order_id)
    return result


def product_ratings(engine: Engine) -> list[tuple[int, str, int, float | None]]:
    """02-loader-option: the first 30 products with their review count and average rating, in 2 statements."""
    with Session(engine) as session:
        stmt = select(Product).order_by(Product.id).limit(30).options(selectinload(Product.reviews))
        result = []
        for p in session.scalars(stmt):
            ratings = [r.rating for r in p.reviews]  # already loaded: no query here
            average = round(sum(ratings) / len(ratings), 2) if ratings else None
            result.append((p.id, p.name, len(ratings), average))
        return result
