"""Chapter 02's exercises, correct in other styles: SQL text, ORM, pandas (and its table-name probes), lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload, subqueryload

from perflab.schema import Order, Product, Review, User

# ------------------------------------------------------------------ 02-orders-per-user

IN_IDS = sa.text("SELECT user_id, id FROM orders WHERE user_id IN :ids ORDER BY user_id, id").bindparams(
    sa.bindparam("ids", expanding=True))


def orders_sql_in(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        for uid, oid in conn.execute(IN_IDS, {"ids": list(user_ids)}):
            result[uid].append(oid)
    return result


def orders_orm_selectin(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    with Session(engine) as session:
        users = session.scalars(sa.select(User).where(User.id.in_(user_ids)).options(selectinload(User.orders)))
        found = {u.id: sorted(o.id for o in u.orders) for u in users}
    return {uid: found.get(uid, []) for uid in user_ids}


def orders_pandas_string(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT user_id, id FROM orders WHERE user_id IN ({', '.join([mark] * len(user_ids))}) ORDER BY id"
    df = pd.read_sql(sql, engine, params=tuple(user_ids))  # a string: pandas probes for a table of that name
    groups = df.groupby("user_id")["id"].apply(list).to_dict()
    return {uid: groups.get(uid, []) for uid in user_ids}


def orders_pairs_generator(engine: Engine, user_ids: list[int]) -> Iterator[tuple[int, list[int]]]:
    by_user: dict[int, list[int]] = defaultdict(list)
    with engine.connect() as conn:
        for uid, oid in conn.execute(IN_IDS, {"ids": list(user_ids)}):
            by_user[uid].append(oid)
    for uid in user_ids:
        yield uid, by_user[uid]


def orders_left_join(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    stmt = (sa.select(User.id, Order.id).outerjoin(Order, Order.user_id == User.id)
            .where(User.id.in_(user_ids)).order_by(User.id, Order.id))
    result: dict[int, list[int]] = {}
    with engine.connect() as conn:
        for uid, oid in conn.execute(stmt):
            result.setdefault(uid, [])
            if oid is not None:
                result[uid].append(oid)
    return result


def _orders_in(user_ids: list[int]) -> sa.Select[Any]:
    return sa.select(Order.user_id, Order.id).where(Order.user_id.in_(list(user_ids))).order_by(Order.id)


def orders_orm_yield_per(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The ORM in pages of 500 rows: a server-side cursor on PostgreSQL."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with Session(engine) as session:
        for uid, oid in session.execute(_orders_in(user_ids).execution_options(yield_per=500)):
            result[uid].append(oid)
    return result


def orders_pandas_chunks(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """pandas reading in chunks of 200 rows (stream_results: a server-side cursor on PostgreSQL)."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        for chunk in pd.read_sql(_orders_in(user_ids), conn, chunksize=200):
            for uid, oid in chunk.itertuples(index=False):
                result[int(uid)].append(int(oid))
    return result


ORDERS_PER_USER = [orders_sql_in, orders_orm_selectin, orders_pandas_string, orders_pairs_generator,
                   orders_left_join, orders_orm_yield_per, orders_pandas_chunks]

# ------------------------------------------------------------------ 02-loader-option

RATINGS_SQL = """
SELECT p.id, p.name, count(r.id) AS reviews, ROUND(AVG(r.rating), 2) AS average
FROM (SELECT id, name FROM products ORDER BY id LIMIT 30) AS p
LEFT JOIN reviews AS r ON r.product_id = p.id
GROUP BY p.id, p.name ORDER BY p.id
"""


def ratings_sql_round(engine: Engine) -> list[tuple[Any, ...]]:
    """SQL rounds 3.625 up (3.63) where Python rounds it to even (3.62); PostgreSQL returns Decimals."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(RATINGS_SQL))]


def ratings_pandas_lists(engine: Engine) -> list[list[Any]]:
    """Rows as lists, averages NaN-free but unrounded by pandas (rounded in SQL)."""
    df = pd.read_sql(RATINGS_SQL, engine)
    return [[int(i), name, int(n), None if pd.isna(avg) else float(avg)] for i, name, n, avg in df.to_numpy().tolist()]


def ratings_pandas_merge(engine: Engine) -> list[tuple[Any, ...]]:
    """Two statements: the products, then only their reviews; pandas does the rest (NaN for no reviews)."""
    products = pd.read_sql(sa.select(Product.id, Product.name).order_by(Product.id).limit(30), engine)
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    ids = [int(i) for i in products["id"]]
    marks = ", ".join([mark] * len(ids))
    reviews = pd.read_sql(f"SELECT product_id, rating FROM reviews WHERE product_id IN ({marks})", engine,
                          params=tuple(ids))
    stats = reviews.groupby("product_id")["rating"].agg(["count", "mean"]).round(2)
    merged = products.join(stats, on="id")
    return list(merged.assign(count=merged["count"].fillna(0)).itertuples(index=False, name=None))


def ratings_joinedload(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        stmt = sa.select(Product).order_by(Product.id).limit(30).options(joinedload(Product.reviews))
        return [(p.id, p.name, len(p.reviews),
                 round(sum(r.rating for r in p.reviews) / len(p.reviews), 2) if p.reviews else None)
                for p in session.scalars(stmt).unique()]


def ratings_subqueryload(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        stmt = sa.select(Product).order_by(Product.id).limit(30).options(subqueryload(Product.reviews))
        out = []
        for p in session.scalars(stmt):
            ratings = [r.rating for r in p.reviews]
            out.append((p.id, p.name, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None))
        return out


def ratings_orm_aggregate(engine: Engine) -> list[tuple[Any, ...]]:
    first = sa.select(Product.id, Product.name).order_by(Product.id).limit(30).subquery()
    stmt = (sa.select(first.c.id, first.c.name, sa.func.count(Review.id), sa.func.avg(Review.rating))
            .outerjoin(Review, Review.product_id == first.c.id).group_by(first.c.id, first.c.name).order_by(first.c.id))
    with Session(engine) as session:
        rows = session.execute(stmt).all()
    return [(i, name, n, None if avg is None else round(float(avg), 2)) for i, name, n, avg in rows]


LOADER_OPTION = [ratings_sql_round, ratings_pandas_lists, ratings_pandas_merge, ratings_joinedload,
                 ratings_subqueryload, ratings_orm_aggregate]
