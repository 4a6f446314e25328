"""Exercise checks of chapter 01: measure first (profile a slow report, fix its hot spot)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, check_result, error_result, exercise, failed, passed, require, run_learner
from perflab.exercises.unseen import UNSEEN_HINT, unseen_engine
from perflab.exercises.values import materialize

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

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

_CACHES = ("compute the report from the database on every call (a cache is fast only by answering from before "
           "a change): make the work itself faster")
_SLOW = "it is about as slow as the original: profile it (cProfile, %lprun) to find where the time goes"


def _fresh(engine: Engine) -> Engine:
    """A new engine object on the same pool: a cache keyed on the arguments (functools.lru_cache) misses."""
    return engine.execution_options()


#: Quantities in the dataset are 1-9 (perflab.generate caps them): a changed one is stored as -(q + 10 t),
#: negative so that it is found again, with q in its last digit so that it is restored even after a crash.
_QUANTITY_BASE = 10
#: The turn t of the next change: a different one on every check of this process (a remembered report from an
#: earlier check is stale), small enough that -(q + 10 t) × price stays far inside a 32-bit integer.
_turns = iter(range(random.randrange(100), 10**9))


def change_one_item(conn: Connection, status: str) -> int | None:
    """Change the quantity of one order item of an order with this status, so the report changes; its id (or None).

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     change_one_item(conn, "pending")
    42

    The row counts stay the same (``perflab.connect()`` rebuilds a dataset whose counts changed), and
    :func:`restore_items` undoes it, also after an interrupted check: the new quantity is negative and
    keeps the old one in its last digit. Parameters: ``conn`` in a transaction the caller commits.
    """
    from sqlalchemy import select, update

    from perflab.schema import Order, OrderItem

    item_id = conn.scalar(select(OrderItem.id).join(Order, OrderItem.order_id == Order.id)
                          .where(Order.status == status, OrderItem.quantity > 0).order_by(OrderItem.id).limit(1))
    if item_id is not None:
        turn = next(_turns) % 100
        conn.execute(update(OrderItem).where(OrderItem.id == item_id)
                     .values(quantity=-(OrderItem.quantity + _QUANTITY_BASE * turn)))
    return item_id


def restore_items(engine: Engine) -> None:
    """Give every order item changed by :func:`change_one_item` its quantity back (a no-op when none is changed)."""
    from sqlalchemy import update

    from perflab.schema import OrderItem

    with engine.begin() as conn:
        conn.execute(update(OrderItem).where(OrderItem.quantity < 0)
                     .values(quantity=(-OrderItem.quantity) % _QUANTITY_BASE))


def _change_one(engine: Engine, status: str) -> str | None:
    """Change one item of the report (see :func:`change_one_item`): its category, None where the data cannot be
    written (a read-only database: the timed calls then run on the data as it is)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from perflab.schema import OrderItem, Product

    try:
        with engine.begin() as conn:
            item_id = change_one_item(conn, status)
            return None if item_id is None else conn.scalar(
                select(Product.category).join(OrderItem, OrderItem.product_id == Product.id)
                .where(OrderItem.id == item_id))
    except SQLAlchemyError:
        return None


def _stale(got: Any, expected: dict[str, int], category: str | None) -> bool:
    """True if ``got`` is the report right but for the changed item's ``category``: computed before the change."""
    return (category is not None and isinstance(got, Mapping) and set(got) == set(expected)
            and [k for k in expected if got[k] != expected[k]] == [category])


def same_report(got: Any, expected: dict[str, int], *, what: str, hint: str) -> CheckResult:
    """Compare a report with the reference: the same numbers, and a mapping, as the original returns.

    >>> same_report(iter([("books", 3)]), {"books": 3}, what="report", hint="...").message
    '❌ report returns a list_iterator, not a dict: the same numbers, in another container — hint: return a \
dict {category: cents}, as the original does (dict(pairs) turns pairs into one)'
    """
    if isinstance(got, Mapping):
        return check_result(got, expected, what=what, hint=hint)
    kind = type(got).__name__
    if check_result(materialize(got), expected).ok:
        return failed(f"{what} returns a {kind}, not a dict: the same numbers, in another container",
                      "return a dict {category: cents}, as the original does (dict(pairs) turns pairs into one)")
    return failed(f"{what} returns a {kind}, not a dict {{category: cents}} as the original does", hint)


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

    >>> isinstance(hot_spot(sorted, range(10)), str)
    True
    """
    import cProfile
    import pstats

    from perflab.callsite import is_library_file

    profile = cProfile.Profile()
    try:
        profile.runcall(fn, *args)
    except Exception:
        return ""
    stats = {key: value for key, value in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
             if "_lsprof.Profiler" not in key[2]}  # the profiler's own disable() (listed since Python 3.12)
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

    Every call is fresh: a new engine object, and before each timed call the check changes one order
    item of the report (:func:`change_one_item`: a committed write, the row counts unchanged) and
    compares the result with the reference's on the changed data, then restores the item. A function
    that remembers its answers (``functools.lru_cache``, a dict keyed by the URL) returns a stale report
    and fails. The function runs on an unseen dataset too, and must return a mapping, as the original.
    The speedup is the original's total time over the function's, over ``statuses``. ``clock``: a fake
    clock for tests. On a read-only database the data is not changed (and caches are not caught).
    """
    import time

    name = fn_name(learner_fn)
    timer = clock or time.perf_counter
    unseen = unseen_engine(engine)
    got = run_learner(learner_fn, _fresh(unseen), statuses[0], name=name)
    unseen_report = revenue_by_category_reference(unseen, statuses[0])
    require(same_report(got, unseen_report, hint=UNSEEN_HINT,
                        what=f"{name}(engine) on a second dataset your notebook never showed"))
    restore_items(engine)  # what an interrupted check may have left
    fast = slow = 0.0
    for status in statuses:
        what = f"{name}(engine, {status!r})"
        category = _change_one(engine, status)
        try:
            expected = revenue_by_category_reference(engine, status)  # also warms the database's cache
            got, seconds = _timed(learner_fn, (_fresh(engine), status), timer)
        except Exception as exc:
            return error_result(name, exc)
        finally:
            if category is not None:
                restore_items(engine)
        result = same_report(got, expected, what=what,
                             hint="the report must not change: cents (ints) per category, for orders of that status")
        if not result.ok and _stale(got, expected, category):
            result = failed(f"{what} returns the same result after the data changed: it caches", _CACHES)
        elif not result.ok and status == statuses[0] and check_result(got, unseen_report).ok:
            result = failed(f"{what} returns the report of the other database it was called on: it caches "
                            "(a PostgreSQL URL does not name the schema)", _CACHES)
        require(result)
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
                  "needed), on fresh calls, on changed data and on an unseen dataset", **details)
