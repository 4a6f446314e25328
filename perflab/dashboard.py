"""The book's slow customer dashboard, and the same page with each fix switched on one at a time.

>>> import asyncio, perflab
>>> from perflab.asyncdb import async_engine
>>> async def page():  # doctest: +SKIP
...     db = async_engine(perflab.connect())
...     slow = await dashboard(db, 5074, STEPS["slow"])
...     fast = await dashboard(db, 5074, STEPS["+ 10 notifications"], cache=MemoryLevel())
...     await db.dispose()
...     return len(slow["orders"]) == len(fast["orders"])
>>> asyncio.run(page())  # doctest: +SKIP
True

A dashboard has four parts (:data:`PARTS`): the user, their orders with their items, product
recommendations and their notifications. :class:`Fixes` says which of the book's fixes are on:

- ``join``: the orders and their items in one statement, the items aggregated into a JSON array by
  the database (``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite), instead of the order ids
  and then each order and its items, one statement each (2 N + 1 statements for N orders);
- ``concurrent``: the four parts awaited together (``asyncio.gather``), each on a connection of its
  own, instead of one after the other;
- ``cache``: recommendations read from a cache level (:mod:`perflab.cache`) and computed only on a
  miss, instead of computed for every page (an aggregate over every order line);
- ``limit``: only the newest ``limit`` notifications, instead of every one.

Every part runs on its own connection of an ``AsyncEngine`` (:func:`perflab.asyncdb.async_engine`),
in both modes, so that a step changes one thing only. Pass a :class:`perflab.Spans` to time each part.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from perflab.schema import Notification, Order, OrderItem, User

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from perflab.cache import Level
    from perflab.timing import Spans

#: The parts of a dashboard, in the order the slow version loads them.
PARTS = ("user", "orders", "recommendations", "notifications")
#: How many products a dashboard recommends.
RECOMMENDED = 5
#: How long a cached recommendation is kept, in seconds (the book's five minutes).
RECOMMENDATION_TTL = 300.0

#: Products the customer has not bought yet, in the two categories they buy most, best sellers first: an
#: aggregate over every order line, the page's expensive computation.
RECOMMENDATIONS_SQL = """
    WITH mine AS (
        SELECT DISTINCT i.product_id FROM orders AS o JOIN order_items AS i ON i.order_id = o.id
        WHERE o.user_id = :uid),
    favourite AS (
        SELECT p.category FROM mine JOIN products AS p ON p.id = mine.product_id
        GROUP BY p.category ORDER BY count(*) DESC, p.category LIMIT 2)
    SELECT p.id, p.name, sum(i.quantity) AS sold
    FROM order_items AS i JOIN products AS p ON p.id = i.product_id
    WHERE p.category IN (SELECT category FROM favourite) AND p.id NOT IN (SELECT product_id FROM mine)
    GROUP BY p.id, p.name ORDER BY sold DESC, p.id LIMIT :n
"""

ITEM_COLUMNS = ("id", "product_id", "quantity", "unit_price_cents")


@dataclass(frozen=True)
class Fixes:
    """Which of the book's fixes a dashboard uses (all off: the book's slow version).

    >>> Fixes(join=True).concurrent
    False
    """

    join: bool = False
    concurrent: bool = False
    cache: bool = False
    limit: int | None = None


#: The book's steps, each adding one fix to the one before.
STEPS: dict[str, Fixes] = {
    "slow": Fixes(),
    "+ JOIN": Fixes(join=True),
    "+ concurrent": Fixes(join=True, concurrent=True),
    "+ cached recommendations": Fixes(join=True, concurrent=True, cache=True),
    "+ 10 notifications": Fixes(join=True, concurrent=True, cache=True, limit=10),
}
#: Every fix on.
FAST = STEPS["+ 10 notifications"]


def plain(row: Any) -> dict[str, Any]:
    """A result row as a dict of JSON-ready values (datetimes as ISO 8601 text).

    >>> plain({"id": 1, "at": datetime(2024, 5, 1, 12, 30)})
    {'id': 1, 'at': '2024-05-01T12:30:00'}
    """
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


def heavy_customer(engine: Any, max_orders: int = 60) -> int:
    """The id of the customer with the most orders, up to ``max_orders`` (ties: the lowest id).

    >>> heavy_customer(perflab.connect())  # doctest: +SKIP
    5074

    Parameters:
        engine: a sync Engine on the course database.
        max_orders: leaves out the few customers with hundreds of orders, whose slow dashboard takes seconds.
    """
    counts = sa.select(Order.user_id, sa.func.count().label("n")).group_by(Order.user_id).subquery()
    query = (sa.select(counts.c.user_id).where(counts.c.n <= max_orders)
             .order_by(counts.c.n.desc(), counts.c.user_id).limit(1))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


async def load_user(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    """The user's row."""
    row = (await conn.execute(sa.select(User.__table__).where(User.id == user_id))).mappings().one()
    return plain(row)


async def orders_one_by_one(conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """The slow way: the order ids, then each order, then its items (2 N + 1 statements)."""
    ids = (await conn.execute(sa.select(Order.id).where(Order.user_id == user_id).order_by(Order.id))).scalars().all()
    orders = []
    for order_id in ids:
        order = plain((await conn.execute(sa.select(Order.__table__).where(Order.id == order_id))).mappings().one())
        items = await conn.execute(sa.select(*(OrderItem.__table__.c[c] for c in ITEM_COLUMNS))
                                   .where(OrderItem.order_id == order_id).order_by(OrderItem.id))
        order["items"] = [plain(i) for i in items.mappings()]
        orders.append(order)
    return orders


def items_aggregate(dialect: str) -> Any:
    """The SQL expression that gathers an order's items into one JSON array, on ``dialect``."""
    pairs = [x for c in ITEM_COLUMNS for x in (sa.literal_column(f"'{c}'"), OrderItem.__table__.c[c])]
    if dialect == "postgresql":
        return sa.func.json_agg(sa.func.json_build_object(*pairs))
    return sa.func.json_group_array(sa.func.json_object(*pairs))


def _items(raw: Any) -> list[dict[str, Any]]:
    """The parsed JSON array of items, without the null a LEFT JOIN gives an order with no items, by id."""
    items = json.loads(raw) if isinstance(raw, str) else raw
    return sorted((i for i in items if i and i.get("id") is not None), key=lambda i: i["id"])


async def orders_joined(conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """The fast way: orders LEFT JOIN items, grouped by order, the items aggregated in SQL (1 statement)."""
    orders = Order.__table__
    query = (sa.select(orders, items_aggregate(conn.dialect.name).label("items"))
             .select_from(orders.outerjoin(OrderItem.__table__, OrderItem.order_id == Order.id))
             .where(Order.user_id == user_id).group_by(*orders.c).order_by(Order.id))
    rows = (await conn.execute(query)).mappings().all()
    return [{**plain({k: v for k, v in r.items() if k != "items"}), "items": _items(r["items"])} for r in rows]


async def compute_recommendations(conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """Products to recommend to ``user_id``: an aggregate over every order line, run on every call."""
    rows = await conn.execute(sa.text(RECOMMENDATIONS_SQL), {"uid": user_id, "n": RECOMMENDED})
    return [{"id": int(r.id), "name": r.name, "sold": int(r.sold)} for r in rows]


async def load_notifications(conn: AsyncConnection, user_id: int, limit: int | None) -> list[dict[str, Any]]:
    """The user's notifications, newest first; only the newest ``limit`` of them if given."""
    query = (sa.select(Notification.__table__).where(Notification.user_id == user_id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return [plain(r) for r in (await conn.execute(query)).mappings()]


@contextlib.contextmanager
def _span(spans: Spans | None, name: str) -> Iterator[None]:
    if spans is None:
        yield
    else:
        with spans.span(name):
            yield


async def _part(db: AsyncEngine, spans: Spans | None, name: str,
                load: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
    """Run one part on a connection of its own, as a span named after it."""
    with _span(spans, name):
        async with db.connect() as conn:
            return await load(conn)


def recommendation_key(user_id: int) -> str:
    """The cache key of a user's recommendations.

    >>> recommendation_key(7)
    'dashboard:recommendations:7'
    """
    return f"dashboard:recommendations:{user_id}"


async def _recommendations(db: AsyncEngine, user_id: int, spans: Spans | None, cache: Level | None) -> Any:
    """The recommendations part: from ``cache`` when it has them, else computed (and cached when a cache is given)."""
    with _span(spans, "recommendations"):
        if cache is not None:
            from perflab.cache import MISS

            cached = cache.get(recommendation_key(user_id))
            if cached is not MISS:
                return cached
        async with db.connect() as conn:
            value = await compute_recommendations(conn, user_id)
        if cache is not None:
            cache.set(recommendation_key(user_id), value, ttl=RECOMMENDATION_TTL)
        return value


async def dashboard(db: AsyncEngine, user_id: int, fixes: Fixes = Fixes(), *, spans: Spans | None = None,
                    cache: Level | None = None) -> dict[str, Any]:
    """The dashboard of ``user_id``: ``{user, orders (with items), recommendations, notifications}``.

    Parameters:
        db: an AsyncEngine on the course database (:func:`perflab.asyncdb.async_engine`).
        user_id: whose dashboard.
        fixes: which fixes to use (:data:`STEPS` has the book's; default none: the slow version).
        spans: records one span per part (and the whole page as ``dashboard``) when given.
        cache: the level that keeps recommendations when ``fixes.cache`` is on (required then).
    """
    if fixes.cache and cache is None:
        from perflab.errors import PerflabError

        raise PerflabError("fixes.cache is on but no cache was given — pass cache=MemoryLevel() (perflab.cache)")
    load_orders = orders_joined if fixes.join else orders_one_by_one
    parts: list[Callable[[], Awaitable[Any]]] = [
        lambda: _part(db, spans, "user", lambda c: load_user(c, user_id)),
        lambda: _part(db, spans, "orders", lambda c: load_orders(c, user_id)),
        lambda: _recommendations(db, user_id, spans, cache if fixes.cache else None),
        lambda: _part(db, spans, "notifications", lambda c: load_notifications(c, user_id, fixes.limit)),
    ]
    with _span(spans, "dashboard"):
        if fixes.concurrent:
            values = await asyncio.gather(*(part() for part in parts))
        else:
            values = [await part() for part in parts]
    return dict(zip(PARTS, values, strict=True))


def part_times(spans: Spans) -> dict[str, float]:
    """Milliseconds spent in each part (summed over its spans) and the page's wall time as ``total``.

    >>> from perflab.timing import Spans
    >>> clock = iter([0.0, 0.0, 0.002, 0.003]).__next__
    >>> tracker = Spans(clock=clock)
    >>> with tracker.span("dashboard"):
    ...     with tracker.span("user"):
    ...         pass
    >>> part_times(tracker)
    {'user': 2.0, 'orders': 0.0, 'recommendations': 0.0, 'notifications': 0.0, 'total': 3.0}
    """
    times = dict.fromkeys(PARTS, 0.0)
    total = 0.0
    for s in spans.spans:
        if s.name == "dashboard":
            total += s.duration * 1e3
        elif s.name in times and s.parent == "dashboard":
            times[s.name] += s.duration * 1e3
    return {**times, "total": total}


@dataclass(frozen=True)
class StepResult:
    """One step measured: median milliseconds per part and in total, statements sent, and a typical run's spans."""

    name: str
    times: dict[str, float]
    statements: int
    spans: Spans
    runs: int

    @property
    def total(self) -> float:
        """The median wall time of the page, in milliseconds."""
        return self.times["total"]


async def profile_step(db: AsyncEngine, user_id: int, name: str, *, runs: int = 5,
                       cache: Level | None = None) -> StepResult:
    """Load the page with step ``name`` of :data:`STEPS` to warm up (and fill the cache), once to count its
    statements, then ``runs`` times with spans.

    >>> result = await profile_step(db, 5074, "+ JOIN")  # doctest: +SKIP
    >>> result.statements, round(result.total)  # doctest: +SKIP
    (4, 42)

    Parameters:
        db: the AsyncEngine to load it with (with injected latency or without).
        user_id: whose dashboard.
        name: a key of :data:`STEPS`.
        runs: timed runs; each part's time and the total are their medians.
        cache: the level that keeps recommendations (needed from the caching step on).
    """
    import statistics

    from perflab.querylog import query_log
    from perflab.timing import Spans

    fixes = STEPS[name]
    await dashboard(db, user_id, fixes, cache=cache)  # warm: the pool's connections, the cache
    with query_log(db) as log:
        await dashboard(db, user_id, fixes, cache=cache)
    tracked = []
    for _ in range(runs):
        spans = Spans()
        await dashboard(db, user_id, fixes, spans=spans, cache=cache)
        tracked.append((part_times(spans), spans))
    times = {k: statistics.median(t[k] for t, _ in tracked) for k in (*PARTS, "total")}
    typical = min(tracked, key=lambda ts: abs(ts[0]["total"] - times["total"]))[1]
    return StepResult(name, times, log.count, typical, runs)


def steps_table(results: list[StepResult]) -> Any:
    """A DataFrame: one row per step, the median ms of each part, the page's total, its statements and speedup."""
    import pandas as pd

    table = pd.DataFrame([{**r.times, "statements": r.statements} for r in results],
                         index=pd.Index([r.name for r in results], name="step"))
    table["speedup"] = table["total"].iloc[0] / table["total"]
    return table


def plot_where_time_went(table: Any, ax: Any = None, title: str = "") -> Any:
    """Stacked bars of the time spent in each part per step, and the page's wall time as a black marker.

    With the parts running concurrently the bar (time spent in parts, added up) is taller than the page
    took: the parts overlapped. Parameters: ``table`` from :func:`steps_table`; ``ax`` to draw on.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    bottom = [0.0] * len(table)
    for i, part in enumerate(PARTS):
        ax.bar(range(len(table)), table[part], bottom=bottom, label=part, color=f"C{i}")
        bottom = [b + v for b, v in zip(bottom, table[part], strict=True)]
    ax.plot(range(len(table)), table["total"], "k_", markersize=30, markeredgewidth=2, label="page (wall time)")
    ax.set_xticks(range(len(table)), labels=list(table.index), rotation=20, ha="right")
    ax.set(ylabel="ms (median)", title=title)
    ax.legend(fontsize="small")
    return ax
