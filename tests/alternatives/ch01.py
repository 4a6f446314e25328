"""01-slow-report, correct in other styles: a dict in Python, the whole report in SQL, pandas, ORM objects."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

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


ALTERNATIVES = [dict_lookup, sql_three_table_join, pandas_merge, orm_objects]
#: Those whose speed a clock counting executed Python lines reflects (not ORM objects: SQLAlchemy runs many lines)
IN_FEW_LINES = [dict_lookup, sql_three_table_join, pandas_merge]
