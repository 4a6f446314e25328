"""Exercise checks of chapter 00: the warm-up (welcome and setup)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perflab.exercises import (
    CheckResult,
    _fn_name,
    check_query_count,
    check_result,
    exercise,
    failed,
    passed,
    require,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

TOP_N = 5


def top_customers_reference(engine: Engine, n: int = TOP_N) -> list[int]:
    """Reference solution of 00-top-customers: the ``n`` user ids with the most orders, most first, in one query.

    >>> top_customers_reference(engine)  # doctest: +SKIP
    [5283, 8995, 6325, 6659, 2025]

    Ties are broken by the smaller user id.
    """
    from sqlalchemy import func, select

    from perflab.schema import Order

    orders = func.count(Order.id).label("orders")
    stmt = select(Order.user_id).group_by(Order.user_id).order_by(orders.desc(), Order.user_id).limit(n)
    with engine.connect() as conn:
        return list(conn.scalars(stmt))


def order_counts(engine: Engine) -> dict[int, int]:
    """Orders per user id, for every user with at least one order."""
    from sqlalchemy import func, select

    from perflab.schema import Order

    with engine.connect() as conn:
        return {u: n for u, n in conn.execute(select(Order.user_id, func.count(Order.id)).group_by(Order.user_id))}


def _same_up_to_ties(got: Any, expected: Sequence[int], counts: dict[int, int]) -> bool:
    """True if ``got`` lists distinct users with the same order counts as ``expected``, in the same order."""
    if not isinstance(got, (list, tuple)) or len(got) != len(expected) or len(set(map(str, got))) != len(got):
        return False
    try:
        return [counts.get(int(u), 0) for u in got] == [counts[u] for u in expected]
    except (TypeError, ValueError):
        return False


@exercise(
    "00-top-customers",
    hints=(
        "Count the orders of each user (GROUP BY user_id), then keep the five biggest counts: LIMIT alone "
        "keeps whichever five groups come first.",
        "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5 — in SQLAlchemy "
        "select(Order.user_id).group_by(Order.user_id).order_by(func.count().desc(), Order.user_id).limit(5)",
    ),
    reference=top_customers_reference,
)
def _check_top_customers(learner_fn: Callable[..., Any], *, engine: Engine, max_queries: int = 1) -> CheckResult:
    """top_customers(engine) -> the 5 user ids with the most orders, most first, in one SQL statement."""
    name = _fn_name(learner_fn)
    counted = check_query_count(lambda: learner_fn(engine), engine, max_queries, name=name,
                                hint="let the database count and sort: one SELECT with GROUP BY, ORDER BY and "
                                "LIMIT")
    if "value" not in counted.details:  # the function raised
        return counted
    got = counted.details["value"]
    got = list(got) if isinstance(got, tuple) else got
    expected = top_customers_reference(engine)
    if not _same_up_to_ties(got, expected, order_counts(engine)):
        result = check_result(got, expected, ordered=True, what=f"{name}(engine)",
                              hint="sort the groups by their count, biggest first (ORDER BY count(*) DESC) "
                              "before LIMIT 5")
        require(result if not result.ok else failed(
            f"{name}(engine) should list {TOP_N} different users", "return a list of 5 user ids"))
    require(counted)
    n = counted.details["count"]
    top = counts_text(expected, order_counts(engine))
    return passed(f"{name} finds the {TOP_N} busiest customers ({top}) in {n} SQL statement"
                  f"{'' if n == 1 else 's'}", **counted.details)


def counts_text(user_ids: Sequence[int], counts: dict[int, int]) -> str:
    """'user 5283: 1020 orders, ...' for the first three users."""
    return ", ".join(f"user {u}: {counts[u]} orders" for u in list(user_ids)[:3]) + ", ..."
