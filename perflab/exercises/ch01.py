"""Exercise checks of chapter 01: measure first (profile a slow report, fix its hot spot)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import (
    CheckResult,
    check_result,
    check_speedup,
    exercise,
    passed,
    require,
    run_learner,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The fixed report must be at least this many times faster than the original (typically 15-30x on SQLite).
SPEEDUP_FLOOR = 5.0


def _report_rows(engine: Engine, status: str) -> tuple[Sequence[Any], Sequence[Any]]:
    """(product id, category) of every product, and (product id, quantity, unit price) of the order items
    of every order with this status."""
    from sqlalchemy import select

    from perflab.schema import Order, OrderItem, Product

    items = (select(OrderItem.product_id, OrderItem.quantity, OrderItem.unit_price_cents)
             .join(Order, OrderItem.order_id == Order.id).where(Order.status == status))
    with engine.connect() as conn:
        products = conn.execute(select(Product.id, Product.category)).all()
        return products, conn.execute(items).all()


def slow_revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
    """The report as handed to the learner: cents per category, with a linear search per order item.

    >>> slow_revenue_by_category(engine)["books"]  # doctest: +SKIP
    3090567
    """
    products, items = _report_rows(engine, status)
    revenue: dict[str, int] = defaultdict(int)
    for product_id, quantity, price in items:
        revenue[_category_of(product_id, products)] += quantity * price  # type: ignore[index]
    return dict(revenue)


def _category_of(product_id: int, products: Sequence[Any]) -> str | None:
    """The category of a product, found by walking the list (the planted hot spot)."""
    for pid, category in products:
        if pid == product_id:
            return str(category)
    return None


def revenue_by_category_reference(engine: Engine, status: str = "pending") -> dict[str, int]:
    """Reference solution of 01-slow-report: the same cents per category, one dict lookup per item.

    >>> revenue_by_category_reference(engine) == slow_revenue_by_category(engine)  # doctest: +SKIP
    True
    """
    products, items = _report_rows(engine, status)
    category = dict(products)
    revenue: dict[str, int] = defaultdict(int)
    for product_id, quantity, price in items:
        revenue[category[product_id]] += quantity * price
    return dict(revenue)


@exercise(
    "01-slow-report",
    hints=(
        "Profile it before you change anything (%lprun -f revenue_by_category ..., or cProfile): one function "
        "takes nearly all the time.",
        "category_of walks the whole products list for every order item: items × products steps. Build a dict "
        "{product_id: category} once (dict(products)) and look each item up in it.",
        "Or let the database do the whole report: JOIN products, GROUP BY category, "
        "SUM(quantity * unit_price_cents).",
    ),
    reference=revenue_by_category_reference,
)
def _check_slow_report(learner_fn: Callable[..., Any], *, engine: Engine, floor: float = SPEEDUP_FLOOR,
                       status: str | None = None, budget: float = 0.2,
                       clock: Callable[[], float] | None = None) -> CheckResult:
    """revenue_by_category(engine) -> {category: cents} of pending orders, unchanged, and much faster.

    ``status`` (tests): call ``learner_fn(engine, status)`` instead, e.g. "delivered" for more rows on a
    small dataset. ``clock``: a fake clock for tests (see perflab.exercises.check_speedup).
    """
    name = fn_name(learner_fn)
    args = (engine,) if status is None else (engine, status)
    expected = revenue_by_category_reference(*args)
    got = run_learner(learner_fn, *args, name=name)
    require(check_result(got, expected, what=f"{name}(engine)",
                         hint="the report must not change: cents (ints) per category, for pending orders"))
    speed = require(check_speedup(
        lambda: learner_fn(*args), lambda: slow_revenue_by_category(*args), floor, budget=budget,
        clock=clock, name=name,
        hint="profile it: the hot spot is the lookup of each item's category; a dict built once makes "
             "each lookup constant time",
    ))
    return passed(f"{name} gives the same report {speed.details['speedup']:.1f}x faster than the original "
                  f"(at least {floor:g}x needed)", **speed.details)
