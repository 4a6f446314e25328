"""00-top-customers, correct in other styles: SQL text, ORM, pandas, and other sequence types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from perflab.schema import Order, User

TOP5 = "SELECT user_id, count(*) AS orders FROM orders GROUP BY user_id ORDER BY orders DESC, user_id LIMIT 5"


def sql_text(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row.user_id for row in conn.execute(sa.text(TOP5))]


def orm_session(engine: Engine) -> list[int]:
    n = sa.func.count(Order.id)
    stmt = sa.select(Order.user_id, n).group_by(Order.user_id).order_by(n.desc()).limit(5)  # ties in any order
    with Session(engine) as session:
        return [user_id for user_id, _ in session.execute(stmt)]


def pandas_read_sql(engine: Engine) -> list[int]:
    return pd.read_sql(TOP5, engine)["user_id"].tolist()  # pandas first asks whether TOP5 is a table name


def pandas_series(engine: Engine) -> Any:
    return pd.read_sql(sa.text(TOP5), engine)["user_id"]


def numpy_array(engine: Engine) -> Any:
    return pd.read_sql(TOP5, engine)["user_id"].to_numpy()


def pandas_index(engine: Engine) -> Any:
    return pd.read_sql(TOP5, engine, index_col="user_id").index


def pandas_frame(engine: Engine) -> Any:
    return pd.read_sql("SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5", engine)


def generator(engine: Engine) -> Iterator[int]:
    with engine.connect() as conn:
        for row in conn.execute(sa.text(TOP5)):
            yield row.user_id


def as_tuple(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.scalars(sa.text(TOP5)))


def sql_cte(engine: Engine) -> list[int]:
    sql = ("WITH per_user AS (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) "
           "SELECT user_id FROM per_user ORDER BY n DESC, user_id LIMIT 5")
    with engine.connect() as conn:
        return list(conn.scalars(sa.text(sql)).all())


def orm_join_users(engine: Engine) -> list[int]:
    n = sa.func.count(Order.id)
    stmt = sa.select(User.id).join(User.orders).group_by(User.id).order_by(n.desc(), User.id).limit(5)
    with Session(engine) as session:
        return list(session.scalars(stmt).all())


def orm_legacy_query(engine: Engine) -> list[int]:
    with Session(engine) as session:
        query = (session.query(Order.user_id).group_by(Order.user_id)
                 .order_by(sa.func.count(Order.id).desc(), Order.user_id).limit(5))
        return [user_id for (user_id,) in query]


def pandas_orm_statement(engine: Engine) -> list[Any]:
    stmt = (sa.select(Order.user_id, sa.func.count().label("n")).group_by(Order.user_id)
            .order_by(sa.desc("n"), Order.user_id).limit(5))
    return list(pd.read_sql(stmt, engine).user_id)  # NumPy int64 items


def pandas_bound_limit(engine: Engine) -> list[int]:
    sql = sa.text("SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT :n")
    return pd.read_sql_query(sql, engine, params={"n": 5}).user_id.tolist()


def ids_as_text(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(u) for u in conn.scalars(sa.text(TOP5))]


def dbapi_cursor(engine: Engine) -> list[int]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5")
        return [u for (u,) in cursor.fetchall()]
    finally:
        raw.close()


ALTERNATIVES = [sql_text, orm_session, pandas_read_sql, pandas_series, numpy_array, pandas_index, pandas_frame,
                generator, as_tuple, sql_cte, orm_join_users, orm_legacy_query, pandas_orm_statement,
                pandas_bound_limit, ids_as_text, dbapi_cursor]
