"""Exercise checks of chapter 01: measure first (profile a slow report, fix its hot spot)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, check_result, error_result, exercise, failed, passed, require, run_learner
from perflab.exercises.unseen import UNSEEN_HINT, unseen_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The fixed report must be at least this many times faster than the original. Correct solutions measured 5.4x
#: (ORM objects, PostgreSQL) to 31x (python -m tools.bench.exercises --runs 5): the floor keeps a margin below
#: the slowest of them, and far above the original (1.0x) and the original behind a cache (1.0x on fresh calls).
SPEEDUP_FLOOR = 3.0


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


#: Order statuses the check times: the smaller ones, so the original takes about a second in all at scale 1.
TIMED_STATUSES = ("pending", "cancelled")

_SLOW = "it is about as slow as the original: profile it (cProfile, %lprun) to find where the time goes"


def _fresh(engine: Engine) -> Engine:
    """A new engine object on the same pool: a cache keyed on the arguments (functools.lru_cache) misses."""
    return engine.execution_options()


def _timed(fn: Callable[..., Any], args: tuple[Any, ...], clock: Callable[[], float]) -> tuple[Any, float]:
    """(result, seconds) of one call, with the garbage collector off as perflab.measure does."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        value = fn(*args)
        return value, clock() - start
    finally:
        if enabled:
            gc.enable()


def hot_spot(fn: Callable[..., Any], *args: Any) -> str:
    """Where one call of ``fn`` spends most of its time, from cProfile: a function of the learner's, or a library's.

    >>> hot_spot(sorted, range(10))  # doctest: +ELLIPSIS
    '...'
    """
    import cProfile
    import pstats

    from perflab.callsite import is_library_file

    profile = cProfile.Profile()
    try:
        profile.runcall(fn, *args)
    except Exception:
        return ""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in stats.values()) or 1.0
    own = {key: value for key, value in stats.items()
           if key[0] != "~" and not is_library_file(key[0]) and not key[2].startswith("<")
           and key[2] != getattr(fn, "__name__", "")}
    if own:
        (_file, _line, func), (_cc, calls, _tt, cumulative, _callers) = max(own.items(), key=lambda kv: kv[1][3])
        if cumulative > total / 2:
            return f"{cumulative / total:.0%} of its time goes to {func} ({calls:,} calls)"
    (file, _line, func), (_cc, calls, tt, _ct, _callers) = max(stats.items(), key=lambda kv: kv[1][2])
    return f"its busiest function is {func} ({tt / total:.0%} of the time, {calls:,} calls)"


@exercise(
    "01-slow-report",
    hints=(
        _SLOW,
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
                       statuses: Sequence[str] = TIMED_STATUSES,
                       clock: Callable[[], float] | None = None) -> CheckResult:
    """revenue_by_category(engine, status) -> {category: cents}, unchanged, and much faster than the original.

    Every call is fresh: a new engine object each time and each status once, so a function that remembers
    its answers (``functools.lru_cache``) gains nothing; each timed result is also checked. The function
    runs on an unseen dataset too. The speedup is the original's total time over the function's, over
    ``statuses``. ``clock``: a fake clock for tests.
    """
    import time

    name = fn_name(learner_fn)
    timer = clock or time.perf_counter
    unseen = unseen_engine(engine)
    got = run_learner(learner_fn, _fresh(unseen), statuses[0], name=name)
    require(check_result(got, revenue_by_category_reference(unseen, statuses[0]), hint=UNSEEN_HINT,
                         what=f"{name}(engine) on a second dataset your notebook never showed"))
    fast = slow = 0.0
    for status in statuses:
        expected = revenue_by_category_reference(engine, status)  # also warms the database's cache
        try:
            got, seconds = _timed(learner_fn, (_fresh(engine), status), timer)
        except Exception as exc:
            return error_result(name, exc)
        require(check_result(got, expected, what=f"{name}(engine, {status!r})",
                             hint="the report must not change: cents (ints) per category, for orders of that status"))
        fast += seconds
        slow += _timed(slow_revenue_by_category, (_fresh(engine), status), timer)[1]
    speedup = slow / fast if fast > 0 else math.inf
    details = {"speedup": speedup, "fast": fast, "slow": slow, "statuses": tuple(statuses)}
    if speedup < floor:
        hint = _SLOW
        if speedup >= 1.5:  # changed, not yet enough: say where its time goes now
            spot = hot_spot(learner_fn, _fresh(engine), statuses[0])
            hint = f"profile it again: {spot}" if spot else hint
        return failed(f"{name} is only {speedup:.1f}x as fast as the original, at least {floor:g}x needed", hint,
                      **details)
    return passed(f"{name} gives the same report {speedup:.1f}x faster than the original (at least {floor:g}x "
                  "needed), on fresh calls and on an unseen dataset", **details)
