"""01-slow-report, cheats: the original made to look fast (a cache, a lazy result, a slowed check, a remembered
report, the reference itself), or the right numbers in another container; each must fail with a hint."""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.exercises import ch01
from perflab.exercises.ch01 import revenue_by_category_reference, slow_revenue_by_category
from perflab.schema import Order, OrderItem, Product

#: The slow original wrapped in a cache: the first call warms it, a repeated call is free.
lru_cached = functools.lru_cache(maxsize=None)(slow_revenue_by_category)
lru_cached.__name__ = "revenue_by_category"  # type: ignore[attr-defined]


def memo_by_url() -> Callable[..., dict[str, int]]:
    """The original behind a cache keyed by the engine's URL and the status: a fresh engine object still hits it."""
    memo: dict[tuple[str, str], dict[str, int]] = {}

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        key = (engine.url.render_as_string(hide_password=False), status)
        if key not in memo:
            memo[key] = slow_revenue_by_category(engine, status)
        return memo[key]

    return revenue_by_category


def lru_by_url() -> Callable[..., dict[str, int]]:
    """The same with functools.lru_cache over the URL (each check reuses the engine the first call made)."""
    engines: dict[str, Engine] = {}

    @functools.cache
    def cached(url: str, status: str) -> dict[str, int]:
        return slow_revenue_by_category(engines[url], status)

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        url = engine.url.render_as_string(hide_password=False)
        engines.setdefault(url, engine)
        return cached(url, status)

    return revenue_by_category


def memo_by_row_count() -> Callable[..., dict[str, int]]:
    """The original behind a cache keyed by the URL, the status and the number of order items, which a change of
    quantities leaves as it is."""
    memo: dict[tuple[str, str, int], dict[str, int]] = {}

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        with engine.connect() as conn:
            count = conn.scalar(sa.select(sa.func.count()).select_from(OrderItem))
        key = (engine.url.render_as_string(hide_password=False), status, int(count or 0))
        if key not in memo:
            memo[key] = slow_revenue_by_category(engine, status)
        return memo[key]

    return revenue_by_category


#: (factory, a fragment the ❌ of a second check must contain): cheats that remember answers, each made with an
#: empty cache. An lru_cache keyed by the engine object never hits (every call gets a new one): only slow.
CACHES: list[tuple[Callable[[], Callable[..., Any]], str]] = [
    (lambda: lru_cached, "as fast as the original"),
    (memo_by_url, ": it caches"),
    (lru_by_url, ": it caches"),
    (memo_by_row_count, ": it caches"),
]


def remembered_report(course: Engine) -> Callable[..., dict[str, int]]:
    """A report remembered from the course's data, corrected by the order items the previous check marked as
    changed (a negative quantity); the original on any other dataset (the unseen one has other row counts)."""
    remembered: dict[str, dict[str, int]] = {}
    with course.connect() as conn:
        course_items = conn.scalar(sa.select(sa.func.count()).select_from(OrderItem))

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        with engine.connect() as conn:
            if conn.scalar(sa.select(sa.func.count()).select_from(OrderItem)) != course_items:
                return slow_revenue_by_category(engine, status)
            marked = conn.execute(sa.select(Product.category, OrderItem.quantity, OrderItem.unit_price_cents)
                                  .join(OrderItem, OrderItem.product_id == Product.id)
                                  .join(Order, OrderItem.order_id == Order.id)
                                  .where(OrderItem.quantity < 0, Order.status == status)).all()
        report = dict(remembered.setdefault(status, slow_revenue_by_category(course, status)))
        for category, quantity, price in marked:
            report[category] += (quantity - (-quantity) % 10) * price
        return report

    return revenue_by_category


#: (cheat factory given the course's engine, a fragment its ❌ must contain): answers remembered from the notebook
REMEMBERED: list[tuple[Callable[[Engine], Callable[..., Any]], str]] = [
    (remembered_report, "compute the report from the engine you are given"),
]


class _LazyReport(Mapping[str, int]):
    """A report that runs ``compute`` the first time it is read."""

    def __init__(self, compute: Callable[[], dict[str, int]]) -> None:
        self._compute, self._report = compute, None

    def _read(self) -> dict[str, int]:
        if self._report is None:
            self._report = self._compute()  # type: ignore[assignment]
        return self._report  # type: ignore[return-value]

    def __getitem__(self, key: str) -> int:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def lazy_original(engine: Engine, status: str = "pending") -> Mapping[str, int]:
    """Returns at once; the whole original (queries and loop) runs when the check first reads the report."""
    return _LazyReport(lambda: slow_revenue_by_category(engine, status))


def lazy_loop(engine: Engine, status: str = "pending") -> Mapping[str, int]:
    """The queries run inside the call (the data is read in time); the slow loop is left for the first read."""
    items = (sa.select(OrderItem.product_id, OrderItem.quantity, OrderItem.unit_price_cents)
             .join(Order, OrderItem.order_id == Order.id).where(Order.status == status))
    with engine.connect() as conn:
        products = conn.execute(sa.select(Product.id, Product.category)).all()
        rows = conn.execute(items).all()

    def loop() -> dict[str, int]:
        revenue: dict[str, int] = defaultdict(int)
        for product_id, quantity, price in rows:
            revenue[next(c for p, c in products if p == product_id)] += quantity * price
        return dict(revenue)

    return _LazyReport(loop)


#: (cheat, a fragment its ❌ must contain): results computed after the function returned
LAZY: list[tuple[Callable[..., Any], str]] = [
    (lazy_original, "as fast as the original"),
    (lazy_loop, "as fast as the original"),
]


class Spinners:
    """The original, and then threads that keep the processor busy after it returns (the checker would time the
    original next, slowed by them); they stop at the next call or at ``stop()``."""

    def __init__(self, threads: int = 4) -> None:
        self.threads = threads
        self._stop = threading.Event()
        self._running: list[threading.Thread] = []

    def stop(self) -> None:
        self._stop.set()
        for thread in self._running:
            thread.join()
        self._running.clear()
        self._stop.clear()

    def _spin(self) -> None:
        while not self._stop.is_set():
            sum(range(1000))

    def __call__(self, engine: Engine, status: str = "pending") -> dict[str, int]:
        self.stop()
        report = slow_revenue_by_category(engine, status)
        for _ in range(self.threads):
            thread = threading.Thread(target=self._spin, daemon=True)
            thread.start()
            self._running.append(thread)
        return report


def slower_checker(engine: Engine, status: str = "pending") -> dict[str, int]:
    """The original, after making the checker's copy of the original sleep first."""
    original = slow_revenue_by_category

    def sleepy(engine: Engine, status: str = "pending") -> dict[str, int]:
        time.sleep(1)
        return original(engine, status)

    ch01.slow_revenue_by_category = sleepy
    return original(engine, status)


def the_reference(engine: Engine, status: str = "pending") -> dict[str, int]:
    """perflab's own reference solution, imported and called."""
    return revenue_by_category_reference(engine, status)


#: (cheat, a fragment its ❌ must contain): the check itself made to lie, or its answer borrowed
BORROWED: list[tuple[Callable[..., Any], str]] = [
    (slower_checker, "changed the check itself"),
    (the_reference, "reference solution"),
    (revenue_by_category_reference, "reference solution"),
]


def _right_numbers(engine: Engine, status: str) -> dict[str, int]:
    """The report, fast (a dict of the products' categories), for the cheats that return it in another form."""
    items = (sa.select(OrderItem.product_id, OrderItem.quantity, OrderItem.unit_price_cents)
             .join(Order, OrderItem.order_id == Order.id).where(Order.status == status))
    with engine.connect() as conn:
        category = dict(conn.execute(sa.select(Product.id, Product.category)).all())
        revenue: dict[str, int] = defaultdict(int)
        for product_id, quantity, price in conn.execute(items):
            revenue[category[product_id]] += quantity * price
    return dict(revenue)


def pairs_generator(engine: Engine, status: str = "pending") -> Iterator[tuple[str, int]]:
    """The right numbers, fast, as a generator of (category, cents) pairs where the original returns a dict."""
    return (pair for pair in _right_numbers(engine, status).items())


def pairs_list(engine: Engine, status: str = "pending") -> list[tuple[str, int]]:
    """The same as a list of pairs."""
    return list(_right_numbers(engine, status).items())


#: (cheat, a fragment its ❌ must contain): right numbers in another container
CHANGED_TYPE: list[tuple[Callable[..., Any], str]] = [
    (pairs_generator, "returns a generator, not a dict"),
    (pairs_list, "returns a list, not a dict"),
]
