"""Chapter 02's exercises, cheats: right answers that keep the N+1 out of sight, or fetch every row, and must fail."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from perflab.db import make_engine
from perflab.schema import Product, Review

ONE_USER = "SELECT id FROM orders WHERE user_id = {mark} ORDER BY id"


def _mark(engine: Engine) -> str:
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def raw_connection_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1, sent through the DBAPI connection: no SQLAlchemy event sees it."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        result = {}
        for uid in user_ids:
            cur.execute(ONE_USER.format(mark=_mark(engine)), (uid,))
            result[uid] = [oid for (oid,) in cur.fetchall()]
        return result
    finally:
        raw.close()


def other_engine_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 on a second engine of the same database: a query log on ``engine`` does not see it."""
    url = engine.url.render_as_string(hide_password=False)
    schema = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    other = make_engine(url, schema=schema)
    try:
        with other.connect() as conn:
            return {uid: list(conn.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid})) for uid in user_ids}
    finally:
        other.dispose()


def generator_loop(engine: Engine, user_ids: list[int]) -> Iterator[tuple[int, list[int]]]:
    """The unchanged N+1 as a generator: nothing runs until the caller consumes it."""
    with engine.connect() as conn:
        for uid in user_ids:
            yield uid, list(conn.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid}))


#: (cheat, a fragment its ❌ must contain)
ORDERS_PER_USER: list[tuple[Callable[..., Any], str]] = [
    (raw_connection_loop, "it sends one query per user"),
    (other_engine_loop, "it sends one query per user"),
    (generator_loop, "it sends one query per user"),
]


def every_review(engine: Engine) -> list[tuple[Any, ...]]:
    """Two statements, right answer: the 30 products, and every review of the shop to pick theirs in Python."""
    with Session(engine) as session:
        products = session.scalars(sa.select(Product).order_by(Product.id).limit(30)).all()
        ratings = defaultdict(list)
        for review in session.scalars(sa.select(Review)):
            ratings[review.product_id].append(review.rating)
        return [(p.id, p.name, len(ratings[p.id]),
                 round(sum(ratings[p.id]) / len(ratings[p.id]), 2) if ratings[p.id] else None) for p in products]


def lazy_generator(engine: Engine) -> Iterator[tuple[Any, ...]]:
    """The unfixed lazy loads, as a generator: the statements run only when the result is read."""
    with Session(engine) as session:
        for p in session.scalars(sa.select(Product).order_by(Product.id).limit(30)).all():
            ratings = [r.rating for r in p.reviews]
            yield (p.id, p.name, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None)


LOADER_OPTION: list[tuple[Callable[..., Any], str]] = [
    (every_review, "it reads reviews of other products too"),
    (lazy_generator, "it sends one query per product"),
]
