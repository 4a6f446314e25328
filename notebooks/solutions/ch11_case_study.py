"""Reference solution of chapter 11, the case study (11-product-page).

The check compares your page with the reference in :mod:`perflab.exercises.ch11`; this is the same
solution, written the way the notebook writes its code: three statements on one connection, each
letting the database join, count and limit, so the page costs three round trips whatever the product.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

PRODUCT = text("""
    SELECT p.id, p.name, p.category, p.price_cents,
           (SELECT count(*) FROM reviews AS r WHERE r.product_id = p.id) AS reviews,
           (SELECT avg(r.rating) FROM reviews AS r WHERE r.product_id = p.id) AS average
    FROM products AS p WHERE p.id = :pid
""")
LATEST_REVIEWS = text("""
    SELECT r.id, u.name AS author, r.rating FROM reviews AS r JOIN users AS u ON u.id = r.user_id
    WHERE r.product_id = :pid ORDER BY r.created_at DESC, r.id DESC LIMIT 10
""")
ALSO_BOUGHT = text("""
    SELECT p.id, p.name, count(DISTINCT i.order_id) AS orders
    FROM order_items AS mine
    JOIN order_items AS i ON i.order_id = mine.order_id AND i.product_id <> mine.product_id
    JOIN products AS p ON p.id = i.product_id
    WHERE mine.product_id = :pid
    GROUP BY p.id, p.name ORDER BY orders DESC, p.id LIMIT 5
""")


def product_page(engine: Engine, product_id: int) -> dict[str, Any]:
    """11-product-page: the product with its review count and average, the newest 10 reviews, 5 bought together."""
    with engine.connect() as conn:
        p = conn.execute(PRODUCT, {"pid": product_id}).mappings().one()
        latest = conn.execute(LATEST_REVIEWS, {"pid": product_id}).mappings().all()
        also = conn.execute(ALSO_BOUGHT, {"pid": product_id}).mappings().all()
    average = None if p["average"] is None else round(float(p["average"]), 2)
    return {
        "product": {"id": p["id"], "name": p["name"], "category": p["category"], "price_cents": p["price_cents"]},
        "reviews": {"count": p["reviews"], "average": average},
        "latest_reviews": [dict(r) for r in latest],
        "also_bought": [dict(r) for r in also],
    }
