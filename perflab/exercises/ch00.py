"""Exercise checks of chapter 00: the warm-up (welcome and setup)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, check_query_count, check_result, exercise, failed, passed, require
from perflab.exercises.unseen import UNSEEN_HINT, both_datasets
from perflab.exercises.values import conform, short_repr

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
        rows = conn.execute(select(Order.user_id, func.count(Order.id)).group_by(Order.user_id))
        return {int(user_id): int(n) for user_id, n in rows}


def _same_up_to_ties(got: Any, expected: Sequence[int], counts: dict[int, int]) -> bool:
    """True if ``got`` lists distinct users with the same order counts as ``expected``, in the same order."""
    if not isinstance(got, (list, tuple)) or len(got) != len(expected) or len(set(map(str, got))) != len(got):
        return False
    try:
        return [counts.get(int(u), 0) for u in got] == [counts[u] for u in expected]
    except (TypeError, ValueError):
        return False


#: At most this many rows may come back: the five, with room for ties; counting in Python needs thousands.
MAX_ROWS = 50

_SYMPTOM = ("LIMIT alone keeps whichever five groups come first: look at the order counts of the users it "
            "returns")


@exercise(
    "00-top-customers",
    hints=(
        _SYMPTOM,
        "Count the orders of each user (GROUP BY user_id), sort the groups by their count, biggest first, then "
        "keep five.",
        "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5 — in SQLAlchemy "
        "select(Order.user_id).group_by(Order.user_id).order_by(func.count().desc(), Order.user_id).limit(5)",
    ),
    reference=top_customers_reference,
)
def _check_top_customers(learner_fn: Callable[..., Any], *, engine: Engine, max_queries: int = 1) -> CheckResult:
    """top_customers(engine) -> the 5 user ids with the most orders, most first, in one SQL statement.

    The function runs on the course's dataset and on an unseen one (a remembered answer fails there);
    its statements are counted at the DBAPI level, catalog probes left out (pandas' ``read_sql`` sends
    some), and at most :data:`MAX_ROWS` rows may come back (the database counts, not Python).
    """
    name = fn_name(learner_fn)
    what = f"{name}(engine)"
    counted = None
    for db, where in both_datasets(engine):
        counted = require(check_query_count(
            partial(learner_fn, db), db, max_queries, name=name, min_queries=1, max_rows=MAX_ROWS,
            hint="one statement can count, sort and keep five: let the database do all three",
            rows_hint="it counts the orders in Python: let the database count, sort and keep five",
        ))
        got, expected, counts = counted.details["value"], top_customers_reference(db), order_counts(db)
        got = conform(got, expected)
        if not _same_up_to_ties(got, expected, counts):
            result = check_result(got, expected, ordered=True, what=what + where, hint=_SYMPTOM)
            if result.ok:  # equal items, but the same user twice, say
                result = failed(f"{what}{where} should list {TOP_N} different users, got {short_repr(got)}",
                                _SYMPTOM)
            if where and check_result(got, top_customers_reference(engine), ordered=True).ok:
                result = failed(f"{what} gives the course's answer{where}, not that dataset's", UNSEEN_HINT)
            require(result)
    assert counted is not None
    n = counted.details["count"]
    top = counts_text(top_customers_reference(engine), order_counts(engine))
    return passed(f"{name} finds the {TOP_N} busiest customers ({top}) in {n} SQL statement"
                  f"{'' if n == 1 else 's'}, on the course's data and on an unseen dataset", **counted.details)


def counts_text(user_ids: Sequence[int], counts: dict[int, int]) -> str:
    """'user 5283: 1020 orders, ...' for the first three users."""
    return ", ".join(f"user {u}: {counts[u]} orders" for u in list(user_ids)[:3]) + ", ..."
