"""Chapter 02's exercises, correct in other styles: SQL text, ORM, pandas (and its table-name probes), lists."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload, subqueryload

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


def orders_orm_joinedload(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """Whole users and orders in one JOIN: each user's columns repeat on every order row (the widest answer)."""
    with Session(engine) as session:
        users = session.scalars(sa.select(User).where(User.id.in_(user_ids)).options(joinedload(User.orders)))
        found = {u.id: sorted(o.id for o in u.orders) for u in users.unique()}
    return {uid: found.get(uid, []) for uid in user_ids}


def orders_orm_yield_per(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The ORM in pages of 500 rows: a server-side cursor on PostgreSQL."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with Session(engine) as session:
        for uid, oid in session.execute(_orders_in(user_ids).execution_options(yield_per=500)):
            result[uid].append(oid)
    return result


def orders_orm_chunked(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """Two IN statements of 50 ids each."""
    ids = list(user_ids)
    result: dict[int, list[int]] = {uid: [] for uid in ids}
    with Session(engine) as session:
        for start in range(0, len(ids), 50):
            for uid, oid in session.execute(_orders_in(ids[start:start + 50])):
                result[uid].append(oid)
    return result


def orders_users_then_orders(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The users first (one statement), then their orders (a second)."""
    with engine.connect() as conn:
        users = list(conn.scalars(sa.select(User.id).where(User.id.in_(list(user_ids))).order_by(User.id)))
        result: dict[int, list[int]] = {uid: [] for uid in users}
        for uid, oid in conn.execute(_orders_in(users)):
            result[uid].append(oid)
    return result


def orders_pandas_arrays(engine: Engine, user_ids: list[int]) -> dict[int, Any]:
    """pandas groups, each user's orders as a NumPy array."""
    df = pd.read_sql(_orders_in(user_ids), engine)
    groups = {uid: ids.to_numpy() for uid, ids in df.groupby("user_id")["id"]}
    return {uid: groups.get(uid, np.array([], dtype=np.int64)) for uid in user_ids}


def orders_pandas_series(engine: Engine, user_ids: list[int]) -> pd.Series:
    """A pandas Series keyed by user id (not a dict)."""
    df = pd.read_sql(_orders_in(user_ids), engine)
    grouped = df.groupby("user_id")["id"].apply(list)
    return grouped.reindex(list(user_ids)).apply(lambda ids: ids if isinstance(ids, list) else [])


def orders_pandas_chunks(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """pandas reading in chunks of 200 rows (stream_results: a server-side cursor on PostgreSQL)."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        for chunk in pd.read_sql(_orders_in(user_ids), conn, chunksize=200):
            for uid, oid in chunk.itertuples(index=False):
                result[int(uid)].append(int(oid))
    return result


def orders_numpy_split(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The pairs as a NumPy array, split at each new user id."""
    stmt = sa.select(Order.user_id, Order.id).where(Order.user_id.in_(list(user_ids))).order_by(Order.user_id, Order.id)
    with engine.connect() as conn:
        pairs = np.array(conn.execute(stmt).all()).reshape(-1, 2)
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    if len(pairs):
        keys, starts = np.unique(pairs[:, 0], return_index=True)
        for uid, oids in zip(keys, np.split(pairs[:, 1], starts[1:])):
            result[int(uid)] = oids.tolist()
    return result


def orders_json_per_user(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One row per user, the order ids as a JSON array built by the database."""
    array = "json_group_array(id)" if engine.dialect.name == "sqlite" else "json_agg(id ORDER BY id)"
    stmt = sa.text(f"SELECT user_id, {array} FROM (SELECT user_id, id FROM orders WHERE user_id IN :ids "
                   "ORDER BY id) AS mine GROUP BY user_id").bindparams(sa.bindparam("ids", expanding=True))
    with engine.connect() as conn:
        found = {uid: ids if isinstance(ids, list) else json.loads(ids)
                 for uid, ids in conn.execute(stmt, {"ids": list(user_ids)})}
    return {uid: found.get(uid, []) for uid in user_ids}


def orders_fstring_in(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The ids pasted into the SQL as integers (a learner's classic; bound parameters are better)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user_id, id FROM orders WHERE user_id IN "
                                    f"({', '.join(str(int(u)) for u in user_ids)}) ORDER BY id").all()
    result: dict[int, list[int]] = defaultdict(list)
    for uid, oid in rows:
        result[uid].append(oid)
    return {uid: result[uid] for uid in user_ids}


ORDERS_PER_USER = [orders_sql_in, orders_orm_selectin, orders_pandas_string, orders_pairs_generator,
                   orders_left_join, orders_orm_joinedload, orders_orm_yield_per, orders_orm_chunked,
                   orders_users_then_orders, orders_pandas_arrays, orders_pandas_series, orders_pandas_chunks,
                   orders_numpy_split, orders_json_per_user, orders_fstring_in]

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


def ratings_selectin_load_only(engine: Engine) -> list[list[Any]]:
    """selectinload of the ratings only, rows as lists, averages by statistics.mean."""
    stmt = (sa.select(Product).order_by(Product.id).limit(30)
            .options(selectinload(Product.reviews).load_only(Review.rating)))
    with Session(engine) as session:
        return [[p.id, p.name, len(p.reviews),
                 round(statistics.mean(r.rating for r in p.reviews), 2) if p.reviews else None]
                for p in session.scalars(stmt)]


def ratings_contains_eager(engine: Engine) -> list[tuple[Any, ...]]:
    """An explicit OUTER JOIN to the reviews, loaded into the relationship with contains_eager."""
    first = sa.select(Product.id).order_by(Product.id).limit(30).scalar_subquery()
    stmt = (sa.select(Product).outerjoin(Product.reviews).where(Product.id.in_(first))
            .options(contains_eager(Product.reviews)).order_by(Product.id))
    with Session(engine) as session:
        out = []
        for p in session.scalars(stmt).unique():
            ratings = [r.rating for r in p.reviews]
            out.append((p.id, p.name, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None))
        return out


def ratings_pandas_join(engine: Engine) -> list[tuple[Any, ...]]:
    """One JOIN read by pandas, counted and averaged by groupby."""
    df = pd.read_sql("SELECT p.id, p.name, r.rating FROM (SELECT id, name FROM products ORDER BY id LIMIT 30) AS p "
                     "LEFT JOIN reviews AS r ON r.product_id = p.id", engine)
    stats = df.groupby(["id", "name"], sort=True)["rating"].agg(["count", "mean"]).reset_index()
    return [(int(i), name, int(n), None if pd.isna(avg) else round(float(avg), 2))
            for i, name, n, avg in stats.itertuples(index=False)]


AVERAGES_SQL = ("SELECT p.id, p.name, count(r.id), avg(r.rating) FROM (SELECT id, name FROM products ORDER BY id "
                "LIMIT 30) AS p LEFT JOIN reviews AS r ON r.product_id = p.id GROUP BY p.id, p.name ORDER BY p.id")


def ratings_sql_avg_numpy_round(engine: Engine) -> list[tuple[Any, ...]]:
    """avg() in SQL, rounded by NumPy (NumPy floats)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(AVERAGES_SQL)).all()
    return [(i, name, n, None if avg is None else np.round(np.float64(avg), 2)) for i, name, n, avg in rows]


def ratings_sql_unrounded(engine: Engine) -> list[tuple[Any, ...]]:
    """avg() in SQL, not rounded at all: within the check's tolerance of the rounded reference."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(AVERAGES_SQL))]


LOADER_OPTION = [ratings_sql_round, ratings_pandas_lists, ratings_pandas_merge, ratings_joinedload,
                 ratings_subqueryload, ratings_orm_aggregate, ratings_selectin_load_only, ratings_contains_eager,
                 ratings_pandas_join, ratings_sql_avg_numpy_round, ratings_sql_unrounded]
