"""Payloads from the real dataset (SQLite and PostgreSQL), and bytes that do not compress."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.payloads import orders_json, orders_page, precompressed, random_bytes, to_json


def check_page(engine: Engine) -> None:
    page = orders_page(engine, 50, first_id=11)
    assert [o["id"] for o in page] == list(range(11, 61))
    assert {"id", "status", "created_at", "total_cents", "customer", "items"} <= set(page[0])
    assert sum(len(o["items"]) for o in page) > 50 and all(o["items"] for o in page[:5])
    data = orders_json(engine, 50, first_id=11)
    assert json.loads(data) == page and b", " not in data  # compact, like Starlette's JSONResponse
    assert 300 * 50 < len(data) < 1000 * 50


def test_an_orders_page_on_sqlite(sqlite_engine: Engine) -> None:
    check_page(sqlite_engine)


@pytest.mark.postgres
def test_an_orders_page_on_postgres(pg_dataset_engine: Engine) -> None:
    check_page(pg_dataset_engine)


def test_bad_pages_are_one_line(sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match=r"^n must be a whole number of orders >= 1, got 0$"):
        orders_page(sqlite_engine, 0)
    with pytest.raises(PerflabError, match=r"^no orders from id 1000000000 on"):
        orders_page(sqlite_engine, 5, first_id=10**9)


def test_random_and_precompressed_bytes() -> None:
    assert random_bytes(100, seed=1) == random_bytes(100, seed=1) != random_bytes(100, seed=2)
    assert random_bytes(100) != random_bytes(100)
    with pytest.raises(PerflabError, match=r"^size must be a whole number of bytes >= 0, got -1"):
        random_bytes(-1)
    data = to_json({"a": ["x"] * 100})
    assert gzip.decompress(precompressed(data)) == data and precompressed(data) == precompressed(data)
