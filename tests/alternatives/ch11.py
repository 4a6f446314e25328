"""Chapter 11's exercise answered correctly in other styles: each must pass its check."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from perflab.schema import OrderItem, Product, Review, User


def orm_page(engine: Engine, product_id: int) -> dict[str, Any]:
    """ORM style: the product by primary key, an aggregate, a JOIN for the authors, a self-join of order items."""
    mine, other = aliased(OrderItem), aliased(OrderItem)
    with Session(engine) as session:
        product = session.get_one(Product, product_id)
        count, average = session.execute(
            sa.select(sa.func.count(Review.id), sa.func.avg(Review.rating)).where(Review.product_id == product_id)
        ).one()
        latest = session.execute(
            sa.select(Review.id, User.name, Review.rating).join(User, User.id == Review.user_id)
            .where(Review.product_id == product_id).order_by(Review.created_at.desc(), Review.id.desc()).limit(10)
        ).all()
        orders = sa.func.count(sa.distinct(other.order_id))
        also = session.execute(
            sa.select(Product.id, Product.name, orders)
            .select_from(mine).join(other, (other.order_id == mine.order_id) & (other.product_id != mine.product_id))
            .join(Product, Product.id == other.product_id)
            .where(mine.product_id == product_id).group_by(Product.id, Product.name)
            .order_by(orders.desc(), Product.id).limit(5)
        ).all()
        page = {"id": product.id, "name": product.name, "category": product.category,
                "price_cents": product.price_cents}
    return {
        "product": page,
        "reviews": {"count": count, "average": None if average is None else round(float(average), 2)},
        "latest_reviews": [{"id": i, "author": a, "rating": r} for i, a, r in latest],
        "also_bought": [{"id": i, "name": n, "orders": o} for i, n, o in also],
    }


def sql_in_two_statements(engine: Engine, product_id: int) -> dict[str, Any]:
    """SQL style, two statements: product, counts and newest reviews in one LEFT JOIN; then the co-purchases
    through orders (a join on the orders table instead of a self-join)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT p.id, p.name, p.category, p.price_cents, s.n, s.average, r.id AS rid, u.name AS author, r.rating
            FROM products AS p
            CROSS JOIN (SELECT count(*) AS n, avg(rating) AS average FROM reviews WHERE product_id = :pid) AS s
            LEFT JOIN (SELECT id, user_id, rating, created_at FROM reviews WHERE product_id = :pid
                       ORDER BY created_at DESC, id DESC LIMIT 10) AS r ON 1 = 1
            LEFT JOIN users AS u ON u.id = r.user_id
            WHERE p.id = :pid
            ORDER BY r.created_at DESC, r.id DESC
        """), {"pid": product_id}).all()
        also = conn.execute(sa.text("""
            SELECT i.product_id, p.name, count(DISTINCT o.id) AS n
            FROM orders AS o
            JOIN order_items AS i ON i.order_id = o.id
            JOIN products AS p ON p.id = i.product_id
            WHERE o.id IN (SELECT order_id FROM order_items WHERE product_id = :pid) AND i.product_id <> :pid
            GROUP BY i.product_id, p.name ORDER BY n DESC, i.product_id LIMIT 5
        """), {"pid": product_id}).all()
    first = rows[0]
    return {
        "product": {"id": first.id, "name": first.name, "category": first.category, "price_cents": first.price_cents},
        "reviews": {"count": first.n, "average": None if first.average is None else round(float(first.average), 2)},
        "latest_reviews": [{"id": r.rid, "author": r.author, "rating": r.rating} for r in rows if r.rid is not None],
        "also_bought": [{"id": i, "name": n, "orders": c} for i, n, c in also],
    }


PRODUCT_PAGE = [orm_page, sql_in_two_statements]
