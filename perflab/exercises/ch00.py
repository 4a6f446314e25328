"""Exercise checks of chapter 00: the warm-up (welcome and setup)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name, plural
from perflab.exercises import CheckResult, check_query_count, check_result, exercise, failed, passed, require
from perflab.exercises.unseen import UNSEEN_HINT, both_datasets
from perflab.exercises.values import conform, materialize, plain, short_repr

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


def _read_now(learner_fn: Callable[..., Any], db: Engine) -> Any:
    """The learner's answer with each item read as a number now, while its statements are still counted.

    An item that only asks the database when it is read (``int()``, ``==``) asks it here, not after counting
    stopped; items that are not numbers (rows, text) stay as they are, for the ❌ to name.
    """
    value = plain(materialize(learner_fn(db)))  # NumPy and pandas containers too: their items are read here
    if not isinstance(value, (list, tuple)):
        return value
    return type(value)(_as_number(u) for u in value)


def _as_number(item: Any) -> Any:
    if type(item) in (int, str, bool, float, tuple, list, dict) or item is None:
        return item  # plain values: nothing of the learner's runs when they are read later
    try:
        number = int(item)
    except (TypeError, ValueError, ArithmeticError):
        return item
    return int.__int__(number) if isinstance(number, int) else item


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
#: At most this many characters (the values' text) may come back: five ids and their counts are a few dozen;
#: every order's user id squeezed into one row (``group_concat``) is hundreds of thousands.
MAX_CHARS = 1_000

_SYMPTOM = ("these are not the five users with the most orders: look at the order counts of the users it "
            "returns")
_FETCHES = "it fetches every order's user and counts in Python: let the database count, sort and keep five"
_ALL_GROUPS = "it sends back every user's count: keep five in the database"


def _rows_hint(result: CheckResult) -> CheckResult:
    """A ❌ for too many rows says what came back: every order (counted in Python) or every user's group."""
    if result.ok or "rows" not in result.details:
        return result
    biggest = max(result.details["statements"], key=lambda s: s.rows or 0)
    if not re.search(r"\bGROUP\s+BY\b", biggest.sql, re.IGNORECASE):
        return result
    return failed(result.details["problem"], _ALL_GROUPS,
                  **{k: v for k, v in result.details.items() if k not in ("problem", "hint")})


def _wrong_answer(got: Any, expected: Sequence[int], counts: dict[int, int], what: str) -> CheckResult:
    """The ❌ for a wrong list of users: what is wrong with it, without giving the right ids away."""
    if not isinstance(got, (list, tuple)):
        return check_result(got, expected, what=what, hint=f"return a list of {TOP_N} user ids, most orders first")
    if any(isinstance(u, (tuple, list, dict)) for u in got):
        width = next(len(u) for u in got if isinstance(u, (tuple, list, dict)))
        return failed(f"{what} returns rows of {plural(width, 'value')}, not user ids: return the user ids only",
                      "keep the user id of each row: [row.user_id for row in rows], or conn.scalars(...)")
    try:
        ids = [int(u) for u in got]
    except (TypeError, ValueError):
        return failed(f"{what} should return user ids (numbers), got {short_repr(got)}",
                      "return the user_id column of the five users, most orders first")
    if len(ids) != TOP_N or len(set(ids)) != len(ids):
        return failed(f"{what} should list {TOP_N} different users, got {short_repr(got)}", _SYMPTOM)
    fifth = counts[expected[-1]]  # a user tied with the fifth is as right as the fifth
    right = sum(counts.get(u, 0) >= fifth for u in ids)
    if right == TOP_N:
        return failed(f"{what} returns the {TOP_N} users with the most orders, but not most orders first",
                      "look at the order counts of the users it returns: they should go down")
    return failed(f"{what} returns {right} of the {TOP_N} users with the most orders", _SYMPTOM)


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
    its statements are counted at the DBAPI level, on any connection (catalog probes left out: pandas'
    ``read_sql`` sends some), and what comes back is bounded: at most :data:`MAX_ROWS` rows and
    :data:`MAX_CHARS` characters (the database counts, not Python).
    """
    name = fn_name(learner_fn)
    what = f"{name}(engine)"
    counted = None
    for db, where in both_datasets(engine):
        counted = require(_rows_hint(check_query_count(
            partial(_read_now, learner_fn, db), db, max_queries, name=name, min_queries=1, max_rows=MAX_ROWS,
            max_chars=MAX_CHARS, hint="one statement can count, sort and keep five: let the database do all three",
            rows_hint=_FETCHES,
        )))
        got, expected, counts = counted.details["value"], top_customers_reference(db), order_counts(db)
        got = conform(got, expected)
        if not _same_up_to_ties(got, expected, counts):
            if where and check_result(got, top_customers_reference(engine), ordered=True).ok:
                require(failed(f"{what} gives the course's answer{where}, not that dataset's", UNSEEN_HINT))
            require(_wrong_answer(got, expected, counts, what + where))
    assert counted is not None
    n = counted.details["count"]
    top = counts_text(top_customers_reference(engine), order_counts(engine))
    return passed(f"{name} finds the {TOP_N} busiest customers ({top}) in {n} SQL statement"
                  f"{'' if n == 1 else 's'}, on the course's data and on an unseen dataset", **counted.details)


def counts_text(user_ids: Sequence[int], counts: dict[int, int]) -> str:
    """'user 5283: 1020 orders, ...' for the first three users."""
    return ", ".join(f"user {u}: {counts[u]} orders" for u in list(user_ids)[:3]) + ", ..."
