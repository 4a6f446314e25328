"""01-slow-report, correct in other styles: a dict in Python, the whole report in SQL, pandas, NumPy, ORM objects,
a sorted list searched with bisect; the SQL, pandas, NumPy, bisect and "category joined in SQL" ones are the ones a
learner review found passing."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload

from perflab.schema import Order, OrderItem, Product


def _items(status: str) -> Any:
    return (sa.select(OrderItem.product_id, OrderItem.quantity, OrderItem.unit_price_cents)
            .join(Order, OrderItem.order_id == Order.id).where(Order.status == status))


def dict_lookup(engine: Engine, status: str = "pending") -> dict[str, int]:
    with engine.connect() as conn:
        category = {pid: cat for pid, cat in conn.execute(sa.select(Product.id, Product.category))}
        rows = conn.execute(_items(status)).all()
    revenue: dict[str, int] = defaultdict(int)
    for product_id, quantity, price in rows:
        revenue[category[product_id]] += quantity * price
    return dict(revenue)


def sql_three_table_join(engine: Engine, status: str = "pending") -> dict[str, int]:
    sql = sa.text("SELECT p.category, SUM(i.quantity * i.unit_price_cents) FROM order_items AS i "
                  "JOIN orders AS o ON o.id = i.order_id JOIN products AS p ON p.id = i.product_id "
                  "WHERE o.status = :status GROUP BY p.category")
    with engine.connect() as conn:
        return {category: int(cents) for category, cents in conn.execute(sql, {"status": status})}


def pandas_merge(engine: Engine, status: str = "pending") -> dict[str, int]:
    products = pd.read_sql(sa.select(Product.id.label("product_id"), Product.category), engine)
    items = pd.read_sql(_items(status), engine)
    merged = items.merge(products, on="product_id")
    cents = (merged["quantity"] * merged["unit_price_cents"]).groupby(merged["category"]).sum()
    return {str(k): int(v) for k, v in cents.items()}


def orm_objects(engine: Engine, status: str = "pending") -> dict[str, int]:
    stmt = (sa.select(OrderItem).join(Order, OrderItem.order_id == Order.id).where(Order.status == status)
            .options(joinedload(OrderItem.product)))
    revenue: dict[str, int] = defaultdict(int)
    with Session(engine) as session:
        for item in session.scalars(stmt):
            revenue[item.product.category] += item.quantity * item.unit_price_cents
    return dict(revenue)


def sql_subquery(engine: Engine, status: str = "pending") -> dict[str, int]:
    sql = sa.text("SELECT p.category, SUM(i.quantity * i.unit_price_cents) FROM order_items AS i "
                  "JOIN products AS p ON p.id = i.product_id "
                  "WHERE i.order_id IN (SELECT id FROM orders WHERE status = :status) GROUP BY p.category")
    with engine.connect() as conn:
        return {category: int(cents) for category, cents in conn.execute(sql, {"status": status})}


def pandas_read_sql_join(engine: Engine, status: str = "pending") -> dict[str, int]:
    sql = sa.text("SELECT p.category, i.quantity * i.unit_price_cents AS cents FROM order_items AS i "
                  "JOIN orders AS o ON o.id = i.order_id JOIN products AS p ON p.id = i.product_id "
                  "WHERE o.status = :status")
    frame = pd.read_sql(sql, engine, params={"status": status})
    return {str(k): int(v) for k, v in frame.groupby("category")["cents"].sum().items()}


def orm_aggregate(engine: Engine, status: str = "pending") -> dict[str, int]:
    stmt = (sa.select(Product.category, sa.func.sum(OrderItem.quantity * OrderItem.unit_price_cents))
            .select_from(OrderItem).join(OrderItem.product).join(OrderItem.order)
            .where(Order.status == status).group_by(Product.category))
    with Session(engine) as session:
        return {category: int(cents) for category, cents in session.execute(stmt)}


def numpy_bincount(engine: Engine, status: str = "pending") -> dict[str, int]:
    with engine.connect() as conn:
        products = conn.execute(sa.select(Product.id, Product.category)).all()
        rows = np.array([tuple(row) for row in conn.execute(_items(status)).all()], dtype=np.int64).reshape(-1, 3)
    names = sorted({category for _, category in products})
    code = np.zeros(max(pid for pid, _ in products) + 1, dtype=np.int64)
    for pid, category in products:
        code[pid] = names.index(category)
    codes = code[rows[:, 0]]
    cents = np.bincount(codes, weights=rows[:, 1] * rows[:, 2], minlength=len(names))
    present = np.bincount(codes, minlength=len(names)) > 0
    return {names[i]: int(cents[i]) for i in range(len(names)) if present[i]}


def bisect_sorted(engine: Engine, status: str = "pending") -> dict[str, int]:
    with engine.connect() as conn:
        products = sorted(conn.execute(sa.select(Product.id, Product.category)).all())
        rows = conn.execute(_items(status)).all()
    ids = [pid for pid, _ in products]
    revenue: dict[str, int] = defaultdict(int)
    for product_id, quantity, price in rows:
        revenue[products[bisect.bisect_left(ids, product_id)][1]] += quantity * price
    return dict(revenue)


def category_joined_in_sql(engine: Engine, status: str = "pending") -> dict[str, int]:
    stmt = (sa.select(Product.category, OrderItem.quantity, OrderItem.unit_price_cents)
            .join(OrderItem, OrderItem.product_id == Product.id).join(Order, OrderItem.order_id == Order.id)
            .where(Order.status == status))
    revenue: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        for category, quantity, price in conn.execute(stmt):
            revenue[category] += quantity * price
    return dict(revenue)


ALTERNATIVES = [dict_lookup, sql_three_table_join, sql_subquery, pandas_merge, pandas_read_sql_join, orm_aggregate,
                orm_objects, numpy_bincount, bisect_sorted, category_joined_in_sql]
#: Those whose speed a clock counting executed Python lines reflects: not ORM objects (SQLAlchemy runs many lines
#: per row) or rows streamed from the cursor (on PostgreSQL SQLAlchemy fetches each one in Python)
IN_FEW_LINES = [fn for fn in ALTERNATIVES if fn not in (orm_objects, category_joined_in_sql)]
