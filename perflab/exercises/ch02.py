"""Exercise checks of chapter 02: the N+1 query problem."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.errors import PerflabError
from perflab.exercises import CheckResult, check_query_count, check_result, exercise, passed, require
from perflab.exercises.dbapi import SentStatements
from perflab.exercises.unseen import UNSEEN_HINT, both_datasets
from perflab.exercises.values import conform

if TYPE_CHECKING:
    from sqlalchemy import Engine


def orders_by_user_reference(engine: Engine, user_ids: Iterable[int]) -> dict[int, list[int]]:
    """Reference solution of 02-orders-per-user: every user id mapped to its sorted order ids, in one query.

    >>> orders_by_user_reference(engine, [1, 2])  # doctest: +SKIP
    {1: [12, 480], 2: []}
    """
    from sqlalchemy import select

    from perflab.schema import Order

    ids = list(dict.fromkeys(int(u) for u in user_ids))
    result: dict[int, list[int]] = {u: [] for u in ids}
    if not ids:
        return result
    stmt = select(Order.user_id, Order.id).where(Order.user_id.in_(ids)).order_by(Order.user_id, Order.id)
    with engine.connect() as conn:
        for user_id, order_id in conn.execute(stmt):
            result[user_id].append(order_id)
    return result


def sample_user_ids(engine: Engine, n: int = 100) -> list[int]:
    """``n`` user ids spread evenly over the users table (the same ones on every run)."""
    from sqlalchemy import select

    from perflab.schema import User

    with engine.connect() as conn:
        ids = list(conn.scalars(select(User.id).order_by(User.id)))
    if not ids:
        raise PerflabError("the users table is empty — build the dataset first: perflab.db.connect() or "
                           "`perflab build`")
    if len(ids) <= n:
        return ids
    return [ids[i * len(ids) // n] for i in range(n)]


_ONE_PER_USER = "it sends one query per user: ask the database once for the orders of all these users"

#: A function may fetch this many times the characters in every column of the rows it needs. On the course's data
#: a correct answer that loads whole rows fetches up to 2.1x (a joinedload repeats each parent's columns on every
#: child row); a whole table packed into one row (``group_concat``, ``string_agg``) 5.6x (reviews) and 25x (orders).
CHARS_FACTOR = 3


def returned_chars(fn: Callable[[], Any]) -> tuple[Any, int]:
    """What ``fn()`` returns, and the characters its statements fetched (see :class:`SentStatements`)."""
    with SentStatements() as sent:
        value = fn()
    return value, sent.chars() or 0


def users_and_orders(engine: Engine, user_ids: Sequence[int]) -> None:
    """Fetch every column of these users and of their orders: the widest rows a correct answer needs."""
    from sqlalchemy import select

    from perflab.schema import Order, User

    with engine.connect() as conn:
        conn.execute(select(User).where(User.id.in_(user_ids))).all()
        conn.execute(select(Order).where(Order.user_id.in_(user_ids))).all()


@exercise(
    "02-orders-per-user",
    hints=(
        _ONE_PER_USER,
        "SELECT user_id, id FROM orders WHERE user_id IN (...) ORDER BY user_id, id — in SQLAlchemy "
        "select(Order.user_id, Order.id).where(Order.user_id.in_(user_ids)); start from {uid: [] for uid in "
        "user_ids} so users without orders map to [].",
    ),
    reference=orders_by_user_reference,
)
def _check_orders_per_user(learner_fn: Callable[..., Any], *, engine: Engine,
                           user_ids: Sequence[int] | None = None, max_queries: int = 2) -> CheckResult:
    """orders_by_user(engine, user_ids) -> {user_id: sorted order ids}, in 1 or 2 SQL statements.

    Runs on the course's dataset (100 users, or ``user_ids``) and on an unseen one; statements are
    counted at the DBAPI level (a raw connection or another engine counts too), the rows sent back
    may not exceed the users' orders plus one row per user, and their characters :data:`CHARS_FACTOR`
    times every column of those users and orders.
    """
    name = fn_name(learner_fn)
    counted = None
    asked = 0
    for db, where in both_datasets(engine):
        ids = list(user_ids) if user_ids is not None and not where else sample_user_ids(db)
        expected = orders_by_user_reference(db, ids)
        asked = asked or len(ids)
        counted = check_query_count(
            partial(learner_fn, db, list(ids)), db, max_queries, name=name, repeat_hint=_ONE_PER_USER,
            min_queries=min(1, len(ids)),  # the answer comes from the database (none asked: nothing to ask)
            max_rows=len(ids) + sum(map(len, expected.values())),
            max_chars=CHARS_FACTOR * returned_chars(partial(users_and_orders, db, ids))[1],
            rows_hint="it reads orders of other users too: let the database pick the orders of these users",
        )
        if "value" not in counted.details:  # the function raised
            return counted
        got = conform(counted.details["value"], expected)
        missing_hint = ("every user id asked for must be a key, users without orders map to []"
                        if isinstance(got, Mapping) and len(got) < len(expected) else UNSEEN_HINT if where else None)
        require(check_result(got, expected, ordered=True, what=f"{name}(engine, user_ids){where}", hint=missing_hint))
        require(counted)
    assert counted is not None
    n = counted.details["count"]
    return passed(f"{name} returns the right orders for {asked} users in {n} SQL statement{'' if n == 1 else 's'} "
                  "(no N+1), on the course's data and on an unseen dataset", **counted.details)


# ---------------------------------------------------------------------------------------------------------
# 02-loader-option

#: How many products (lowest ids first) ``product_ratings`` reports.
RATED_PRODUCTS = 30


def product_ratings_reference(engine: Engine, limit: int = RATED_PRODUCTS) -> list[tuple[int, str, int, float | None]]:
    """Reference solution of 02-loader-option: (id, name, reviews, average rating) of the first products.

    >>> product_ratings_reference(engine)[:1]  # doctest: +SKIP
    [(1, 'Compact Lamp', 3, 4.33)]

    One ORM query for the products plus one ``selectinload`` query for all their reviews.
    Parameters: ``limit``, how many products (lowest ids first).
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload

    from perflab.schema import Product

    stmt = select(Product).order_by(Product.id).limit(limit).options(selectinload(Product.reviews))
    result: list[tuple[int, str, int, float | None]] = []
    with Session(engine) as session:
        for product in session.scalars(stmt):
            ratings = [review.rating for review in product.reviews]
            average = round(sum(ratings) / len(ratings), 2) if ratings else None
            result.append((product.id, product.name, len(ratings), average))
    return result


#: Averages may differ by this much: SQL's ROUND(AVG(...), 2) rounds 3.625 up, Python's round() to even.
AVERAGE_TOLERANCE = 0.01

_FIND_IT = "it sends one query per product: find it with %%queries (which statement runs once per product?)"


@exercise(
    "02-loader-option",
    hints=(
        _FIND_IT,
        "Each `product.reviews` is a lazy load (one SELECT per product). Load the reviews together with the "
        "products: add .options(selectinload(Product.reviews)) to the select (from sqlalchemy.orm import "
        "selectinload).",
        "joinedload(Product.reviews) works too (one statement), but then call .unique() on the result before "
        "iterating: the JOIN returns each product once per review.",
    ),
    reference=product_ratings_reference,
)
def _check_loader_option(learner_fn: Callable[..., Any], *, engine: Engine, max_queries: int = 2) -> CheckResult:
    """product_ratings(engine) -> [(id, name, reviews, average rating)], in 1 or 2 SQL statements.

    Runs on the course's dataset and on an unseen one; statements are counted at the DBAPI level, the
    rows sent back may not exceed the products plus their reviews (and 30 spare for a JOIN), their
    characters :data:`CHARS_FACTOR` times what the reference's whole ORM objects hold, averages may
    differ by :data:`AVERAGE_TOLERANCE`, and rows may be lists or tuples.
    """
    name = fn_name(learner_fn)
    counted = None
    for db, where in both_datasets(engine):
        expected, chars = returned_chars(partial(product_ratings_reference, db))
        reviews = sum(n for _, _, n, _ in expected)
        counted = check_query_count(
            partial(learner_fn, db), db, max_queries, name=name, repeat_hint=_FIND_IT, show_sql=False,
            min_queries=1, max_rows=2 * len(expected) + reviews, max_chars=CHARS_FACTOR * chars,
            rows_hint=f"it reads reviews of other products too: load only the reviews of these {len(expected)} "
                      "products",
        )
        if "value" not in counted.details:  # the function raised
            return counted
        require(check_result(counted.details["value"], expected, ordered=True, what=f"{name}(engine){where}",
                             tolerance=AVERAGE_TOLERANCE, hint=UNSEEN_HINT if where else None))
        require(counted)
    assert counted is not None
    n = counted.details["count"]
    return passed(f"{name} returns the same ratings for {RATED_PRODUCTS} products in {n} SQL statement"
                  f"{'' if n == 1 else 's'} (no lazy loads; averages within {AVERAGE_TOLERANCE:g}), on the course's "
                  "data and on an unseen dataset", **counted.details)
