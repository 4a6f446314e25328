"""The case study's dashboard: the same page with every fix as without, in far fewer statements; the served API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import FakeClock
from sqlalchemy.engine import Engine

import perflab
from perflab.asyncdb import async_engine
from perflab.cache import MemoryLevel
from perflab.dashboard import FAST, STEPS, Fixes, dashboard, heavy_customer, part_times, recommendation_key
from perflab.errors import PerflabError
from perflab.timing import Spans

ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(request.param)


def pages(engine: Engine, user_id: int, steps: dict[str, Fixes]) -> dict[str, tuple[dict[str, Any], int]]:
    """Each step's page and how many statements it sent (a warm cache: each page is loaded twice)."""
    async def run() -> dict[str, tuple[dict[str, Any], int]]:
        db = async_engine(engine)
        cache = MemoryLevel()
        out = {}
        try:
            for name, fixes in steps.items():
                await dashboard(db, user_id, fixes, cache=cache)
                with perflab.query_log(db) as log:
                    page = await dashboard(db, user_id, fixes, cache=cache)
                out[name] = (page, log.count)
        finally:
            await db.dispose()
        return out

    return asyncio.run(run())


def test_every_step_gives_the_same_page(engine: Engine) -> None:
    uid = heavy_customer(engine)
    results = pages(engine, uid, STEPS)
    slow, _ = results["slow"]
    assert slow["user"]["id"] == uid and slow["orders"] and all(o["items"] for o in slow["orders"])
    assert len(slow["recommendations"]) <= 5 and len(slow["notifications"]) > 10
    for name, (page, _) in results.items():
        assert page["user"] == slow["user"] and page["orders"] == slow["orders"], name
        assert page["recommendations"] == slow["recommendations"], name
        limit = STEPS[name].limit
        assert page["notifications"] == slow["notifications"][:limit], name


def test_the_fixes_cut_the_statements(engine: Engine) -> None:
    uid = heavy_customer(engine)
    results = pages(engine, uid, STEPS)
    n_orders = len(results["slow"][0]["orders"])
    counts = {name: count for name, (_, count) in results.items()}
    assert counts["slow"] == 2 * n_orders + 4  # user, order ids, each order and its items, recommendations, all
    assert counts["+ JOIN"] == counts["+ concurrent"] == 4
    assert counts["+ cached recommendations"] == counts["+ 10 notifications"] == 3


def test_orders_without_items_get_an_empty_list(engine: Engine) -> None:
    uid = heavy_customer(engine)
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO orders (id, user_id, status, created_at, total_cents) "
                             "VALUES (999999, :u, 'new', '2030-01-01 00:00:00', 0)"), {"u": uid})
        conn.commit()
    try:
        results = pages(engine, uid, {"slow": Fixes(), "fast": FAST})
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM orders WHERE id = 999999"))
    assert results["slow"][0]["orders"] == results["fast"][0]["orders"]
    assert results["fast"][0]["orders"][-1]["items"] == []


def test_the_cache_keeps_recommendations(sqlite_engine: Engine) -> None:
    uid = heavy_customer(sqlite_engine)
    cache = MemoryLevel()
    page = pages(sqlite_engine, uid, {"fast": FAST})["fast"][0]
    assert cache.get(recommendation_key(uid)) is not page["recommendations"]  # another cache: nothing in it

    async def run() -> None:
        db = async_engine(sqlite_engine)
        try:
            await dashboard(db, uid, FAST, cache=cache)
        finally:
            await db.dispose()

    asyncio.run(run())
    assert cache.get(recommendation_key(uid)) == page["recommendations"]


def test_a_cache_fix_without_a_cache_is_one_clear_error(sqlite_engine: Engine) -> None:
    async def run() -> None:
        db = async_engine(sqlite_engine)
        try:
            await dashboard(db, 1, Fixes(cache=True))
        finally:
            await db.dispose()

    with pytest.raises(PerflabError, match="pass cache=MemoryLevel"):
        asyncio.run(run())


def test_part_times_adds_each_part_under_the_page() -> None:
    clock = FakeClock()
    spans = Spans(clock=clock)
    with spans.span("dashboard"):
        for name, ms in (("user", 1), ("orders", 5), ("recommendations", 3), ("notifications", 2)):
            with spans.span(name):
                clock.advance(ms / 1e3)
    times = part_times(spans)
    assert times == pytest.approx({"user": 1, "orders": 5, "recommendations": 3, "notifications": 2, "total": 11})


def test_spans_show_the_parts_overlapping_when_concurrent(sqlite_engine: Engine) -> None:
    uid = heavy_customer(sqlite_engine)

    async def run(fixes: Fixes) -> list[Any]:
        db = async_engine(sqlite_engine)
        spans = Spans()
        try:
            await dashboard(db, uid, fixes, spans=spans, cache=MemoryLevel())
        finally:
            await db.dispose()
        return [s for s in spans.spans if s.name != "dashboard"]

    def overlapping(parts: list[Any]) -> bool:
        return any(a.end > b.start for a, b in zip(parts, parts[1:]))

    sequential, concurrent = asyncio.run(run(STEPS["+ JOIN"])), asyncio.run(run(STEPS["+ concurrent"]))
    assert [s.name for s in sequential] == ["user", "orders", "recommendations", "notifications"]
    assert not overlapping(sequential) and overlapping(sorted(concurrent, key=lambda s: s.start))


def test_the_app_serves_both_versions(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from perflab import dashboard_app

    monkeypatch.setattr("perflab.asyncdb.connect", lambda: sqlite_engine, raising=False)
    monkeypatch.setattr("perflab.db.connect", lambda: sqlite_engine)
    uid = heavy_customer(sqlite_engine)

    async def run() -> tuple[Any, ...]:
        transport = httpx.ASGITransport(app=dashboard_app.app)
        async with dashboard_app.app.router.lifespan_context(dashboard_app.app), \
                httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = await client.get(f"/slow/{uid}")
            fast = await client.get(f"/fast/{uid}")
            bad = await client.get("/fast/abc")
            missing = await client.get("/fast/99999999")
        return slow, fast, bad, missing

    slow, fast, bad, missing = asyncio.run(run())
    assert slow.status_code == fast.status_code == 200
    assert slow.json()["orders"] == fast.json()["orders"] and len(fast.json()["notifications"]) == 10
    assert bad.status_code == 400 and "whole number" in bad.json()["error"]
    assert missing.status_code == 404
