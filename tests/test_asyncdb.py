"""The AsyncEngine twin: the same rows through aiosqlite or psycopg's async mode, latency awaited (overlapping)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.asyncdb import async_engine, async_url
from perflab.errors import PerflabError
from perflab.latency import current_latency, watch_sleeps

ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(request.param)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_async_engine_reads_the_same_rows(engine: Engine) -> None:
    with engine.connect() as conn:
        expected = conn.exec_driver_sql("SELECT id, name FROM users ORDER BY id LIMIT 5").all()

    async def read() -> list[Any]:
        db = async_engine(engine)
        try:
            async with db.connect() as conn:
                return (await conn.execute(sa.text("SELECT id, name FROM users ORDER BY id LIMIT 5"))).all()
        finally:
            await db.dispose()

    assert run(read()) == expected


def test_the_driver_follows_the_backend(engine: Engine) -> None:
    driver = {"sqlite": "aiosqlite", "postgresql": "psycopg_async"}[engine.dialect.name]
    assert async_url(engine).drivername.endswith(driver)


def test_latency_is_awaited_so_gather_overlaps_round_trips(sqlite_engine: Engine) -> None:
    """Ten lookups at once, each sleeping its round trips: the sleeps interleave on one loop (no timing assert)."""
    order: list[str] = []

    async def lookups() -> None:
        db = async_engine(sqlite_engine, latency_ms=5, pool_size=10)
        watch_sleeps(db, lambda kind, cursor, seconds: order.append(kind))
        assert current_latency(db) == 5

        async def one(uid: int) -> None:
            async with db.connect() as conn:
                await conn.execute(sa.text("SELECT name FROM users WHERE id = :u"), {"u": uid})

        try:
            await asyncio.gather(*(one(uid) for uid in range(1, 11)))
        finally:
            await db.dispose()

    run(lookups())
    assert order.count("statement") == 10
    assert order[:10].count("BEGIN") > 1  # a second BEGIN slept before the first statement: overlapped


def test_an_unsupported_backend_is_one_line() -> None:
    other = sa.create_engine("sqlite://")
    other.dialect.name = "mysql"  # a backend perflab has no async driver for
    with pytest.raises(PerflabError, match="^no async driver for 'mysql' — perflab runs on sqlite or postgresql$"):
        async_url(other)
