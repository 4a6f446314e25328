"""Chapter 02's exercises, cheats: right answers that keep the N+1 out of sight, or fetch every row, and must fail."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cheats import driver_connection
from perflab.db import make_engine
from perflab.exercises import dbapi
from perflab.exercises.ch02 import orders_by_user_reference, product_ratings_reference
from perflab.schema import Product, Review

ONE_USER = "SELECT id FROM orders WHERE user_id = {mark} ORDER BY id"


def _mark(engine: Engine) -> str:
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def raw_connection_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1, sent through the DBAPI connection: no SQLAlchemy event sees it."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        result = {}
        for uid in user_ids:
            cur.execute(ONE_USER.format(mark=_mark(engine)), (uid,))
            result[uid] = [oid for (oid,) in cur.fetchall()]
        return result
    finally:
        raw.close()


def other_engine_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 on a second engine of the same database: a query log on ``engine`` does not see it."""
    url = engine.url.render_as_string(hide_password=False)
    schema = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    other = make_engine(url, schema=schema)
    try:
        with other.connect() as conn:
            return {uid: list(conn.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid})) for uid in user_ids}
    finally:
        other.dispose()


def generator_loop(engine: Engine, user_ids: list[int]) -> Iterator[tuple[int, list[int]]]:
    """The unchanged N+1 as a generator: nothing runs until the caller consumes it."""
    with engine.connect() as conn:
        for uid in user_ids:
            yield uid, list(conn.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid}))


def driver_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 on a connection opened with sqlite3 / psycopg themselves (``sqlite3.connect(path)``)."""
    raw = driver_connection(engine)
    try:
        return {uid: [oid for (oid,) in raw.execute(ONE_USER.format(mark=_mark(engine)), (uid,)).fetchall()]
                for uid in user_ids}
    finally:
        raw.close()


def _loop(engine: Engine, user_ids: list[int], sql: str) -> dict[int, list[int]]:
    with engine.connect() as conn:
        return {uid: list(conn.scalars(sa.text(sql), {"uid": uid})) for uid in user_ids}


def catalog_alias_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 with the table aliased ``pg_o``: it looked like a catalog name to a search for ``pg_...``."""
    return _loop(engine, user_ids, "SELECT pg_o.id FROM orders AS pg_o WHERE pg_o.user_id = :uid ORDER BY pg_o.id")


def catalog_comment_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 with a trailing comment naming a catalog table."""
    return _loop(engine, user_ids, "SELECT id FROM orders WHERE user_id = :uid ORDER BY id /* sqlite_master */")


def every_order_catalog_alias(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One statement reading every order (aliased ``pg_o``: once hidden from the row bound), filtered in Python."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        for uid, oid in conn.execute(sa.text("SELECT pg_o.user_id, pg_o.id FROM orders AS pg_o ORDER BY pg_o.id")):
            if uid in result:
                result[uid].append(oid)
    return result


class LazyPairs:
    """(user id, order ids) pairs that query as they are iterated: an iterable, not an iterator."""

    def __init__(self, engine: Engine, user_ids: list[int]) -> None:
        self.engine, self.user_ids = engine, list(user_ids)

    def __iter__(self) -> Iterator[tuple[int, list[int]]]:
        yield from _loop(self.engine, self.user_ids, ONE_USER.format(mark=":uid")).items()


def lazy_iterable(engine: Engine, user_ids: list[int]) -> LazyPairs:
    """The unchanged N+1 inside an object with ``__iter__``: it runs only when the result is read."""
    return LazyPairs(engine, user_ids)


class LazyOrders(Mapping[int, list[int]]):
    """A mapping whose ``__getitem__`` asks the database for one user's orders."""

    def __init__(self, engine: Engine, user_ids: list[int]) -> None:
        self.engine, self.user_ids = engine, list(user_ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.user_ids)

    def __len__(self) -> int:
        return len(self.user_ids)

    def __getitem__(self, uid: int) -> list[int]:
        return _loop(self.engine, [uid], ONE_USER.format(mark=":uid"))[uid]


def lazy_mapping(engine: Engine, user_ids: list[int]) -> LazyOrders:
    """The unchanged N+1 inside a ``Mapping``: each value is queried when the comparison reads it."""
    return LazyOrders(engine, user_ids)


def in_a_subprocess(engine: Engine, *args: Any, reference: str) -> Any:
    """The reference's answer computed in another process: this one sends no statement at all."""
    schema = None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # current_schema() is a catalog probe: not counted
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    code = ("import json, sys; from perflab.db import make_engine; from perflab.exercises import ch02; "
            f"e = make_engine(sys.argv[1], schema=sys.argv[2] or None); "
            f"print(json.dumps(ch02.{reference}(e, *json.loads(sys.argv[3])), default=str))")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code, engine.url.render_as_string(hide_password=False),
                          schema or "", json.dumps(args)], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": root}).stdout
    return json.loads(out)


def orders_in_a_subprocess(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The right orders from another process (no statement here): the answer does not come from this function."""
    return {int(uid): oids for uid, oids in in_a_subprocess(engine, list(user_ids),
                                                              reference=orders_by_user_reference.__name__).items()}


def switch_off(dbapi_conn: Any) -> None:
    """Switch off the check's counter on a DBAPI connection: no trace callback (SQLite), the driver's own cursor
    classes put back (PostgreSQL)."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.set_trace_callback(None)
    else:
        import psycopg

        dbapi_conn.cursor_factory, dbapi_conn.server_cursor_factory = psycopg.Cursor, psycopg.ServerCursor


def switched_off_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One statement counted, then the connection's counter switched off and the unchanged N+1 through SQLAlchemy."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
        switch_off(conn.connection.dbapi_connection)
        return {uid: list(conn.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid})) for uid in user_ids}


def switched_off_raw_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The counter switched off on a raw connection (SQLAlchemy sees none of its statements), then the N+1."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        switch_off(raw.driver_connection)
        cur = raw.cursor()
        result = {}
        for uid in user_ids:
            cur.execute(ONE_USER.format(mark=_mark(engine)), (uid,))
            result[uid] = [oid for (oid,) in cur.fetchall()]
        return result
    finally:
        raw.close()


def cleared_log_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1, then the check's list of statements emptied from inside the function."""
    result = _loop(engine, user_ids, ONE_USER.format(mark=":uid"))
    for counter in dbapi._ACTIVE:
        del counter.all[1:]
    return result


def streamed_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The unchanged N+1 on server-side cursors (PostgreSQL: DECLARE ... CURSOR, rows fetched in pages)."""
    with engine.connect() as conn:
        streamed = conn.execution_options(stream_results=True)
        return {uid: list(streamed.scalars(sa.text(ONE_USER.format(mark=":uid")), {"uid": uid})) for uid in user_ids}


def one_statement_then_a_subprocess(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One statement here (the check wants at least one), the right orders from another process."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
    return orders_in_a_subprocess(engine, user_ids)


def _reference_orders(args: tuple[str, str | None, list[int]]) -> dict[int, list[int]]:
    url, schema, user_ids = args
    other = make_engine(url, schema=schema)
    try:
        return orders_by_user_reference(other, user_ids)
    finally:
        other.dispose()


def one_statement_then_spawned(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One statement here, the right orders from a multiprocessing worker started with "spawn" (no audit event)."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar() if engine.dialect.name == "postgresql" \
            else None
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_reference_orders, ((engine.url.render_as_string(hide_password=False), schema,
                                               list(user_ids)),))


def _packed(engine: Engine, pairs: str, table: str) -> str:
    aggregate = "group_concat({0}, ',')" if engine.dialect.name == "sqlite" else "string_agg({0}, ',')"
    with engine.connect() as conn:
        return str(conn.execute(sa.text(f"SELECT {aggregate.format(pairs)} FROM {table}")).scalar())


def every_order_in_one_row(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """Every order of the shop packed into one row (group_concat / string_agg), filtered in Python."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for pair in _packed(engine, "user_id || ':' || id", "orders").split(","):
        uid, oid = map(int, pair.split(":"))
        if uid in result:
            result[uid].append(oid)
    return {uid: sorted(oids) for uid, oids in result.items()}


N_PLUS_ONE = ("sent 100 SQL statements", "it sends one query per user")
ANOTHER_PROCESS = ("ran work in another process", "send every statement from your function itself")
REPEATED = ("SQL statements, at most 2 allowed", "ran 100 times", "it sends one query per user")
SWITCHED_OFF = ("switched off the check's statement counter on a connection", "leave set_trace_callback")
UNCOUNTED = ("whose rows the check cannot count", "no temporary view or table, no function defined")
UNWATCHED = ("while a profile function was set", "without a profiler or debugger")

#: (cheat, fragments its ❌ must contain)
ORDERS_PER_USER: list[tuple[Callable[..., Any], tuple[str, ...]]] = [
    (raw_connection_loop, N_PLUS_ONE),
    (other_engine_loop, N_PLUS_ONE),
    (generator_loop, N_PLUS_ONE),
    (driver_loop, N_PLUS_ONE),
    (catalog_alias_loop, N_PLUS_ONE),
    (catalog_comment_loop, N_PLUS_ONE),
    (every_order_catalog_alias, ("rows from the database", "it reads orders of other users")),
    (lazy_iterable, N_PLUS_ONE),
    (lazy_mapping, N_PLUS_ONE),
    (orders_in_a_subprocess, ANOTHER_PROCESS),
    (switched_off_loop, REPEATED),
    (switched_off_raw_loop, SWITCHED_OFF),
    (cleared_log_loop, N_PLUS_ONE),
    (streamed_loop, REPEATED),
    (one_statement_then_a_subprocess, ANOTHER_PROCESS),
    (one_statement_then_spawned, ANOTHER_PROCESS),
]


def every_order_through_a_function(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """Every order, through a SQL function defined on the connection: the check's own connection cannot run it."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        conn.connection.driver_connection.create_function("keep", 1, lambda _: 1)
        for uid, oid in conn.execute(sa.text("SELECT user_id, id FROM orders WHERE keep(user_id) ORDER BY id")):
            if uid in result:
                result[uid].append(oid)
    return result


def every_order_through_a_temp_view(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """Every order, through a temporary view (left in place): the check's own connection does not have it."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TEMP VIEW IF NOT EXISTS every_order AS SELECT user_id, id FROM orders"))
        for uid, oid in conn.execute(sa.text("SELECT user_id, id FROM every_order ORDER BY id")):
            if uid in result:
                result[uid].append(oid)
    return result


def _unwatched_connection(engine: Engine) -> sqlite3.Connection:
    """A sqlite3 connection opened while a profile function is set, past the wrapped sqlite3.connect."""
    before = sys.getprofile()
    sys.setprofile(lambda *_: None)
    try:
        return sqlite3.Connection(str(engine.url.database))
    finally:
        sys.setprofile(before)


def profiled_connection_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """One statement counted, then the N+1 on a connection opened while a profile function was set."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
    raw = _unwatched_connection(engine)
    try:
        return {uid: [oid for (oid,) in raw.execute(ONE_USER.format(mark="?"), (uid,))] for uid in user_ids}
    finally:
        raw.close()


def profiled_thread_loop(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The same in a thread of its own, which sets the profile function there."""
    result: dict[int, list[int]] = {}

    def work() -> None:
        result.update(profiled_connection_loop(engine, user_ids))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return result


#: Cheats that need SQLite (a Python function or a temporary view on the connection, sqlite3.Connection).
ORDERS_PER_USER_SQLITE: list[tuple[Callable[..., Any], tuple[str, ...]]] = [
    (every_order_through_a_function, UNCOUNTED),
    (every_order_through_a_temp_view, UNCOUNTED),
    (profiled_connection_loop, UNWATCHED),
    (profiled_thread_loop, UNWATCHED),
]


def every_review(engine: Engine) -> list[tuple[Any, ...]]:
    """Two statements, right answer: the 30 products, and every review of the shop to pick theirs in Python."""
    with Session(engine) as session:
        products = session.scalars(sa.select(Product).order_by(Product.id).limit(30)).all()
        ratings = defaultdict(list)
        for review in session.scalars(sa.select(Review)):
            ratings[review.product_id].append(review.rating)
        return [(p.id, p.name, len(ratings[p.id]),
                 round(sum(ratings[p.id]) / len(ratings[p.id]), 2) if ratings[p.id] else None) for p in products]


def lazy_generator(engine: Engine) -> Iterator[tuple[Any, ...]]:
    """The unfixed lazy loads, as a generator: the statements run only when the result is read."""
    with Session(engine) as session:
        for p in session.scalars(sa.select(Product).order_by(Product.id).limit(30)).all():
            ratings = [r.rating for r in p.reviews]
            yield (p.id, p.name, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None)


def _ratings(products: list[tuple[int, str]], ratings: Mapping[int, list[int]]) -> list[tuple[Any, ...]]:
    return [(pid, name, len(ratings.get(pid, [])),
             round(sum(ratings[pid]) / len(ratings[pid]), 2) if ratings.get(pid) else None) for pid, name in products]


def driver_lazy_loads(engine: Engine) -> list[tuple[Any, ...]]:
    """The 30 products and one statement per product for its reviews, on a connection opened with the driver."""
    raw = driver_connection(engine)
    try:
        products = raw.execute("SELECT id, name FROM products ORDER BY id LIMIT 30").fetchall()
        one = f"SELECT rating FROM reviews WHERE product_id = {_mark(engine)}"
        return _ratings(products, {pid: [r for (r,) in raw.execute(one, (pid,)).fetchall()] for pid, _ in products})
    finally:
        raw.close()


def every_review_catalog_alias(engine: Engine) -> list[tuple[Any, ...]]:
    """Two statements: the products, and every review of the shop (aliased ``pg_r``, once hidden from the row bound)."""
    with engine.connect() as conn:
        products = [tuple(p) for p in conn.execute(sa.text("SELECT id, name FROM products ORDER BY id LIMIT 30"))]
        ratings: dict[int, list[int]] = defaultdict(list)
        for pid, rating in conn.execute(sa.text("SELECT pg_r.product_id, pg_r.rating FROM reviews AS pg_r")):
            ratings[pid].append(rating)
    return _ratings(products, ratings)


class LazyRatings:
    """The unfixed lazy loads behind ``__iter__``: an iterable, not an iterator, read after the function returned."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return lazy_generator(self.engine)


def lazy_iterable_ratings(engine: Engine) -> LazyRatings:
    return LazyRatings(engine)


def ratings_in_a_subprocess(engine: Engine) -> list[tuple[Any, ...]]:
    """The right ratings from another process (no statement here)."""
    return [tuple(row) for row in in_a_subprocess(engine, reference=product_ratings_reference.__name__)]


def switched_off_lazy_loads(engine: Engine) -> list[tuple[Any, ...]]:
    """The unfixed lazy loads, after the session's connection had its counter switched off."""
    with Session(engine) as session:
        products = session.scalars(sa.select(Product).order_by(Product.id).limit(30)).all()
        switch_off(session.connection().connection.dbapi_connection)
        return [(p.id, p.name, len(p.reviews),
                 round(sum(r.rating for r in p.reviews) / len(p.reviews), 2) if p.reviews else None) for p in products]


def streamed_lazy_loads(engine: Engine) -> list[tuple[Any, ...]]:
    """One statement per product for its reviews, each on a server-side cursor (PostgreSQL)."""
    with engine.connect() as conn:
        products = [tuple(p) for p in conn.execute(sa.text("SELECT id, name FROM products ORDER BY id LIMIT 30"))]
        streamed = conn.execution_options(stream_results=True)
        one = sa.text("SELECT rating FROM reviews WHERE product_id = :pid")
        return _ratings(products, {pid: list(streamed.scalars(one, {"pid": pid})) for pid, _ in products})


def every_review_in_one_row(engine: Engine) -> list[tuple[Any, ...]]:
    """The 30 products, and every review of the shop packed into one row (group_concat / string_agg)."""
    with engine.connect() as conn:
        products = [tuple(p) for p in conn.execute(sa.text("SELECT id, name FROM products ORDER BY id LIMIT 30"))]
    ratings: dict[int, list[int]] = defaultdict(list)
    for pair in _packed(engine, "product_id || ':' || rating", "reviews").split(","):
        pid, rating = map(int, pair.split(":"))
        ratings[pid].append(rating)
    return _ratings(products, ratings)


def one_statement_then_subprocess_ratings(engine: Engine) -> list[tuple[Any, ...]]:
    """One statement here, the right ratings from another process."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()
    return ratings_in_a_subprocess(engine)


def every_review_through_a_function(engine: Engine) -> list[tuple[Any, ...]]:
    """The products, and every review through a SQL function defined on the connection."""
    with engine.connect() as conn:
        conn.connection.driver_connection.create_function("keep", 1, lambda _: 1)
        products = [tuple(p) for p in conn.execute(sa.text("SELECT id, name FROM products ORDER BY id LIMIT 30"))]
        ratings: dict[int, list[int]] = defaultdict(list)
        for pid, rating in conn.execute(sa.text("SELECT product_id, rating FROM reviews WHERE keep(id)")):
            ratings[pid].append(rating)
    return _ratings(products, ratings)


THIRTY_LOADS = ("sent 31 SQL statements", "one statement ran 30 times", "it sends one query per product")

LOADER_OPTION: list[tuple[Callable[..., Any], tuple[str, ...]]] = [
    (every_review, ("it reads reviews of other products too",)),
    (lazy_generator, ("it sends one query per product",)),
    (driver_lazy_loads, ("sent 31 SQL statements", "it sends one query per product")),
    (every_review_catalog_alias, ("it reads reviews of other products too",)),
    (lazy_iterable_ratings, ("sent 31 SQL statements", "it sends one query per product")),
    (ratings_in_a_subprocess, ANOTHER_PROCESS),
    (switched_off_lazy_loads, THIRTY_LOADS),
    (streamed_lazy_loads, THIRTY_LOADS),
    (one_statement_then_subprocess_ratings, ANOTHER_PROCESS),
]

#: Cheats that pack a whole table into one row: caught where the table is much more than the rows needed, as on the
#: course's dataset (on the tests' small one, 100 users are half the users, 30 products three quarters).
PACKED: list[tuple[str, Callable[..., Any], tuple[str, ...]]] = [
    ("02-orders-per-user", every_order_in_one_row,
     ("characters of data from the database (in 1 row)", "it reads orders of other users")),
    ("02-loader-option", every_review_in_one_row,
     ("characters of data from the database", "it reads reviews of other products too")),
]

LOADER_OPTION_SQLITE: list[tuple[Callable[..., Any], tuple[str, ...]]] = [
    (every_review_through_a_function, UNCOUNTED),
]
