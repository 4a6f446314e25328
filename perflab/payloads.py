"""Payloads to compress: a page of orders from the dataset as JSON, and bytes that do not compress.

>>> len(random_bytes(1000, seed=1)), random_bytes(8, seed=1) == random_bytes(8, seed=1)
(1000, True)
>>> orders_json(engine, 100)[:30]  # doctest: +SKIP
b'[{"id":1,"status":"cancelled",'

An orders page is what an API returns for "the orders, with their customer and items": about
0.5 KB of JSON per order, so 100 orders make some 50 KB and 10,000 orders some 5 MB. The JSON is
written the way Starlette's ``JSONResponse`` writes it (compact separators, UTF-8), so the bytes
compressed in a notebook are the bytes the HTTP server sends.
"""

from __future__ import annotations

import gzip
import json
import random
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def orders_page(engine: Engine, n: int, first_id: int = 1) -> list[dict[str, Any]]:
    """``n`` orders from id ``first_id`` on, each with its customer and its items, as plain dicts.

    >>> orders_page(engine, 2)[0]["customer"]["name"]  # doctest: +SKIP
    'Ana Petrov'

    Parameters: ``engine`` (the course database), ``n`` (how many orders, >= 1), ``first_id`` (the
    smallest order id on the page).
    """
    from sqlalchemy import select

    from perflab.schema import Order, OrderItem, Product, User

    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise PerflabError(f"n must be a whole number of orders >= 1, got {n!r}")
    orders = (select(Order.id, Order.status, Order.created_at, Order.total_cents, User.id.label("user_id"),
                     User.name, User.email, User.country)
              .join(User, User.id == Order.user_id).where(Order.id >= first_id).order_by(Order.id).limit(n))
    with engine.connect() as conn:
        rows = conn.execute(orders).all()
        if not rows:
            raise PerflabError(f"no orders from id {first_id} on — pick a smaller first_id, or build the dataset")
        items = conn.execute(
            select(OrderItem.order_id, OrderItem.product_id, Product.name, Product.category, OrderItem.quantity,
                   OrderItem.unit_price_cents)
            .join(Product, Product.id == OrderItem.product_id)
            .where(OrderItem.order_id.between(rows[0].id, rows[-1].id)).order_by(OrderItem.id)).all()
    by_order: dict[int, list[dict[str, Any]]] = {}
    for it in items:
        by_order.setdefault(it.order_id, []).append({
            "product_id": it.product_id, "product": it.name, "category": it.category,
            "quantity": it.quantity, "unit_price_cents": it.unit_price_cents})
    return [{"id": r.id, "status": r.status, "created_at": r.created_at.isoformat(), "total_cents": r.total_cents,
             "customer": {"id": r.user_id, "name": r.name, "email": r.email, "country": r.country},
             "items": by_order.get(r.id, [])} for r in rows]


def to_json(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON, byte for byte what Starlette's ``JSONResponse`` sends.

    >>> to_json({"id": 1, "name": "Zoë"})
    b'{"id":1,"name":"Zo\\xc3\\xab"}'
    """
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def orders_json(engine: Engine, n: int, first_id: int = 1) -> bytes:
    """An orders page (see :func:`orders_page`) as the JSON bytes an API would send.

    >>> len(orders_json(engine, 1000)) // 1000  # doctest: +SKIP
    536

    Parameters: as :func:`orders_page`.
    """
    return to_json(orders_page(engine, n, first_id))


def random_bytes(size: int, seed: int | None = None) -> bytes:
    """``size`` random bytes: what encrypted or already-compressed data looks like to a compressor.

    >>> len(set(random_bytes(10_000, seed=0))) > 250
    True

    Parameters: ``size`` in bytes (>= 0); ``seed`` for the same bytes every time (None: fresh ones).
    """
    if not isinstance(size, int) or size < 0:
        raise PerflabError(f"size must be a whole number of bytes >= 0, got {size!r}")
    return random.Random(seed).randbytes(size)


def precompressed(data: bytes) -> bytes:
    """``data`` gzipped once (level 6), as a ``.gz`` download or a PNG's insides would be.

    >>> len(precompressed(b"a" * 10_000)) < 100
    True
    """
    return gzip.compress(data, 6, mtime=0)
