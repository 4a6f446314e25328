"""Tests for perflab.querylog: the query log, statement shapes, and N+1 findings with their fixes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from conftest import FakeClock
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload, subqueryload

from perflab.errors import PerflabError
from perflab.querylog import QueryLog, Statement, Suspect, TooManyQueries, query_log, shape_of, short_sql
from perflab.querylog.shapes import values_of
from perflab.schema import Base, Order, User

WHEN = datetime(2024, 1, 1, 12, 0, 0)


def add_users(engine: Engine, users: int = 20, orders_each: int = 3) -> None:
    with Session(engine) as session:
        session.add_all(
            User(id=i, name=f"user {i}", email=f"u{i}@example.com", country="DE", created_at=WHEN,
                 orders=[Order(status="paid", created_at=WHEN, total_cents=100 * i + k)
                         for k in range(orders_each)])
            for i in range(1, users + 1)
        )
        session.commit()


@pytest.fixture
def shop(empty_sqlite_engine: Engine) -> Engine:
    """SQLite: 20 users with 3 orders each."""
    add_users(empty_sqlite_engine)
    return empty_sqlite_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_shop(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """20 users with 3 orders each, on SQLite and (marked postgres) PostgreSQL."""
    if request.param == "sqlite":
        engine: Engine = request.getfixturevalue("empty_sqlite_engine")
    else:
        engine = request.getfixturevalue("pg_engine")
        Base.metadata.create_all(engine)
    add_users(engine)
    yield engine


def load_users(engine: Engine, option: object = None) -> int:
    """Load every user and touch ``.orders``; return the number of orders seen."""
    with Session(engine) as session:
        query = sa.select(User).order_by(User.id)
        if option is not None:
            query = query.options(option)  # type: ignore[arg-type]
        users = session.scalars(query).unique().all()
        return sum(len(user.orders) for user in users)


# ----------------------------------------------------------------------------- exact counts


def test_lazy_loading_loop_is_n_plus_1(any_shop: Engine) -> None:
    with query_log(any_shop) as log:
        assert load_users(any_shop) == 60
    assert log.count == 21
    assert len(log.statements) == 21
    (suspect,) = log.suspects()
    assert suspect.count == 20
    assert suspect.distinct_params == 20
    assert "FROM orders WHERE" in suspect.shape
    assert suspect.kind == "lazy load" and suspect.attribute == "User.orders"
    assert suspect.message.startswith("`User.orders` lazy-loaded 20 times (from test_querylog.py:")


def test_selectinload_is_two_statements(any_shop: Engine) -> None:
    with query_log(any_shop) as log:
        assert load_users(any_shop, selectinload(User.orders)) == 60
    assert log.count == 2
    assert log.suspects() == []
    assert "IN (?, ...)" in log.statements[1].shape


def test_joinedload_is_one_statement(any_shop: Engine) -> None:
    with query_log(any_shop) as log:
        assert load_users(any_shop, joinedload(User.orders)) == 60
    assert log.count == 1
    assert "JOIN orders" in log.statements[0].sql


def test_rowcount_is_what_the_driver_reports(any_shop: Engine) -> None:
    with query_log(any_shop) as log, any_shop.begin() as conn:
        conn.execute(sa.select(User.id).where(User.id <= 5)).all()
        conn.execute(sa.update(Order).where(Order.user_id == 1).values(status="shipped"))
    select, update = log.statements
    if any_shop.dialect.name == "sqlite":
        assert select.rowcount is None  # SQLite reports -1 for a SELECT: unknown until fetched
    else:
        assert select.rowcount == 5  # psycopg knows the rows returned
    assert update.rowcount == 3


# ----------------------------------------------------------------------------- what is recorded


def test_core_text_and_driver_sql_are_recorded_with_params(shop: Engine) -> None:
    with query_log(shop) as log, shop.connect() as conn:
        conn.execute(sa.select(User.name).where(User.id == 3)).one()
        conn.execute(sa.text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": 4}).scalar()
        conn.exec_driver_sql("SELECT ?", (5,)).scalar()
    assert log.count == 3
    core, txt, raw = log.statements
    assert isinstance(core, Statement)
    assert core.params == (3,)
    assert txt.params == (4,)
    assert txt.sql == "SELECT count(*) FROM orders WHERE user_id = ?"
    assert raw.sql == "SELECT ?" and raw.params == (5,)
    assert all(s.duration >= 0 and s.error is None and not s.executemany for s in log.statements)


def test_executemany_is_one_statement(shop: Engine) -> None:
    rows = [{"user_id": 1, "status": "new", "created_at": WHEN, "total_cents": n} for n in range(50)]
    with query_log(shop) as log, shop.begin() as conn:
        conn.execute(sa.insert(Order), rows)
    assert log.count == 1
    (statement,) = log.statements
    assert statement.executemany
    assert len(statement.params) == 50
    assert statement.rowcount == 50
    assert log.suspects() == []


def test_failed_statement_is_recorded_with_its_error(shop: Engine) -> None:
    with query_log(shop) as log, shop.connect() as conn:
        with pytest.raises(sa.exc.OperationalError):
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    (statement,) = log.statements
    assert statement.error == "OperationalError"
    assert "[OperationalError]" in log.report()


def test_listeners_are_removed_on_exit(shop: Engine) -> None:
    log = query_log(shop)
    with log:
        assert log.active
        assert event.contains(shop, "before_cursor_execute", log._before)
    assert not log.active
    for name, method in log._listeners():
        assert not event.contains(shop, name, method)
    assert len(Session(shop).dispatch.do_orm_execute) == 0  # the ORM listener goes with the last log
    with shop.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert log.count == 0 and log.round_trips == 0


def test_session_and_connection_are_accepted(shop: Engine) -> None:
    with Session(shop) as session:
        with query_log(session) as log:
            session.get(User, 1)
    assert log.count == 1
    with shop.connect() as conn:
        with query_log(conn) as log:
            conn.exec_driver_sql("SELECT 1")
    assert log.count == 1


def test_a_wrong_target_is_a_one_line_error() -> None:
    with pytest.raises(PerflabError, match="must be a SQLAlchemy Engine.*got str"):
        query_log("sqlite://")


@pytest.mark.parametrize("kwargs", [{"max_queries": -1}, {"min_repeats": 1}, {"keep": -5}])
def test_bad_thresholds_are_rejected(shop: Engine, kwargs: dict[str, int]) -> None:
    with pytest.raises(PerflabError):
        query_log(shop, **kwargs)  # type: ignore[arg-type]


def test_keep_limits_stored_statements_not_the_count(shop: Engine) -> None:
    with query_log(shop, keep=3) as log, shop.connect() as conn:
        for i in range(7):
            conn.exec_driver_sql("SELECT ?", (i,))
    assert log.count == 7
    assert len(log.statements) == 3
    assert log.dropped == 4
    assert log.suspects()[0].count == 7


def test_records_are_folded_in_batches(shop: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import perflab.querylog.log

    monkeypatch.setattr(perflab.querylog.log, "_FOLD_AT", 3)
    with query_log(shop, keep=5) as log, shop.connect() as conn:
        for i in range(8):
            conn.exec_driver_sql("SELECT ?", (i,))
        assert len(log._pending) < 3  # folded along the way
        assert log.count == 8
        conn.exec_driver_sql("SELECT ?", (8,))
    assert log.count == 9
    assert [s.params for s in log.statements] == [(0,), (1,), (2,), (3,), (4,)]
    assert log.dropped == 4
    assert log.suspects()[0].distinct_params == 8  # the ninth came from another line: a group of its own


def test_fake_clock_gives_exact_times(shop: Engine) -> None:
    clock = FakeClock()
    with query_log(shop, clock=clock) as log, shop.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert log.statements[0].duration == 0.0
    assert log.total_time == 0.0
    assert log.statements[0].start == 0.0


def test_statements_from_other_threads_are_recorded(shop: Engine) -> None:
    def one_query(i: int) -> None:
        with shop.connect() as conn:
            conn.execute(sa.select(User.name).where(User.id == i)).one()

    with query_log(shop) as log:
        threads = [threading.Thread(target=one_query, args=(i,)) for i in range(1, 9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert log.count == 8
    assert sorted(s.params[0] for s in log.statements) == list(range(1, 9))


def test_asyncio_to_thread_batches_are_recorded(shop: Engine) -> None:
    def one_query(i: int) -> str:
        with shop.connect() as conn:
            return str(conn.execute(sa.select(User.name).where(User.id == i)).scalar_one())

    async def batch() -> list[str]:
        return await asyncio.gather(*(asyncio.to_thread(one_query, i) for i in range(1, 6)))

    with query_log(shop) as log:
        names = asyncio.run(batch())
    assert names == [f"user {i}" for i in range(1, 6)]
    assert log.count == 5
    assert log.suspects()[0].count == 5


# ----------------------------------------------------------------------------- thresholds


def test_max_queries_raises_one_line_error_at_exit(shop: Engine) -> None:
    with pytest.raises(TooManyQueries) as info:
        with query_log(shop, max_queries=2):
            load_users(shop)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("21 statements ran, expected at most 2; `User.orders` lazy-loaded 20 times")
    assert isinstance(info.value, AssertionError) and isinstance(info.value, PerflabError)


def test_max_queries_passes_when_within(shop: Engine) -> None:
    with query_log(shop, max_queries=2) as log:
        load_users(shop, selectinload(User.orders))
    assert log.count == 2


def test_fail_on_n_plus_one(shop: Engine) -> None:
    with pytest.raises(TooManyQueries, match=r"^N\+1 suspected: `User.orders` lazy-loaded 20 times"):
        with query_log(shop, fail_on_n_plus_one=True):
            load_users(shop)
    with query_log(shop, fail_on_n_plus_one=True) as log:
        load_users(shop, joinedload(User.orders))
    assert log.count == 1


def test_an_exception_in_the_block_is_not_masked(shop: Engine) -> None:
    with pytest.raises(KeyError):
        with query_log(shop, max_queries=0):
            load_users(shop)
            raise KeyError("mine")


def test_decorator_records_the_latest_call(shop: Engine) -> None:
    log = query_log(shop)

    @log
    def report(limit: int) -> int:
        with shop.connect() as conn:
            for i in range(limit):
                conn.exec_driver_sql("SELECT ?", (i,))
        return limit

    assert report(3) == 3
    assert log.count == 3
    assert report(2) == 2
    assert log.count == 2
    assert report.__name__ == "report"


def test_decorator_with_threshold_and_async_function(shop: Engine) -> None:
    @query_log(shop, max_queries=1)
    async def two_queries() -> None:
        def work() -> None:
            with shop.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
                conn.exec_driver_sql("SELECT 2")

        await asyncio.to_thread(work)

    with pytest.raises(TooManyQueries, match="^2 statements ran, expected at most 1"):
        asyncio.run(two_queries())


def test_nested_use_of_one_log_keeps_recording(shop: Engine) -> None:
    log = query_log(shop)
    with log, shop.connect() as conn:
        with log:
            conn.exec_driver_sql("SELECT 1")
        assert log.active
        conn.exec_driver_sql("SELECT 2")
    assert log.count == 2 and not log.active


# ----------------------------------------------------------------------------- suspects and report


def test_same_parameters_every_time_gets_a_different_hint(shop: Engine) -> None:
    with query_log(shop) as log, shop.connect() as conn:
        for _ in range(6):
            conn.execute(sa.select(User.name).where(User.id == 1)).one()
    (suspect,) = log.suspects()
    assert suspect.distinct_params == 1
    assert suspect.kind == "repeated query"
    assert suspect.hint == "repeated query: run once or cache (same parameters every time)"


def test_insert_per_row_gets_a_write_hint(shop: Engine) -> None:
    with query_log(shop) as log, shop.begin() as conn:
        for n in range(5):
            conn.execute(sa.insert(Order).values(user_id=1, status="new", created_at=WHEN, total_cents=n))
    (suspect,) = log.suspects()
    assert suspect.shape.startswith("INSERT INTO orders")
    assert suspect.kind == "per-row write"
    assert suspect.hint == ("one statement per row: send all rows in one executemany (a list of parameter sets) "
                            "or one bulk statement")


def test_suspects_threshold(shop: Engine) -> None:
    with query_log(shop, min_repeats=3) as log, shop.connect() as conn:
        for i in range(3):
            conn.exec_driver_sql("SELECT ?", (i,))
        conn.exec_driver_sql("SELECT 1, 2")
    assert [s.count for s in log.suspects()] == [3]
    assert log.suspects(min_repeats=4) == []
    assert sorted(s.count for s in log.suspects(min_repeats=1)) == [1, 3]
    assert isinstance(log.suspects()[0], Suspect)
    # the fields notebooks and exercises read are still there
    first = log.suspects()[0]
    assert (first.shape, first.count, first.short) == ("SELECT ?", 3, "SELECT ?")
    assert first.total_time >= 0 and first.message.endswith(first.hint)


def test_report_text_and_html(shop: Engine) -> None:
    with query_log(shop) as log:
        load_users(shop)
    text = str(log)
    assert text.splitlines()[0].startswith("21 statements (+ BEGIN, ROLLBACK) in ")
    assert text.splitlines()[0].endswith(", 1 finding")
    assert text.splitlines()[1].startswith("  ! `User.orders` lazy-loaded 20 times")
    assert "... 1 more" in text
    assert repr(log).startswith("<QueryLog: 21 statements (+ BEGIN, ROLLBACK) in ")
    page = log._repr_html_()
    assert "<table>" in page and "Findings" in page and "lazy-loaded 20 times" in page
    assert "<script" not in page
    assert isinstance(log, QueryLog)


def test_html_is_escaped(shop: Engine) -> None:
    with query_log(shop) as log, shop.connect() as conn:
        conn.exec_driver_sql("SELECT '<b>x</b>'")
    assert "<b>x</b>" not in log._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in log._repr_html_()


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ("SELECT * FROM t WHERE a = 42 AND b = 'x''y'", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t WHERE a = -1.5e3", "SELECT * FROM t WHERE a = -?"),
        ("SELECT users_1.id, t2.x FROM t2 JOIN users AS users_1 ON t2.a = 1",
         "SELECT users_1.id, t2.x FROM t2 JOIN users AS users_1 ON t2.a = ?"),
        ("SELECT * FROM t WHERE id IN (?, ?, ?)", "SELECT * FROM t WHERE id IN (?, ...)"),
        ("SELECT * FROM t WHERE id IN (1, 2, 3, 4)", "SELECT * FROM t WHERE id IN (?, ...)"),
        ("SELECT * FROM t WHERE id in (__[POSTCOMPILE_id_1])", "SELECT * FROM t WHERE id IN (?, ...)"),
        ("SELECT * FROM t WHERE id IN (%(p_1)s::INTEGER, %(p_2)s::INTEGER)",
         "SELECT * FROM t WHERE id IN (?, ...)"),
        ("SELECT * FROM t WHERE %(param_1)s::INTEGER = t.user_id", "SELECT * FROM t WHERE ? = t.user_id"),
        ("SELECT * FROM t WHERE a = :a AND b::text = $1", "SELECT * FROM t WHERE a = ? AND b::text = ?"),
        ("SELECT *\n  FROM   t\n WHERE a = %s", "SELECT * FROM t WHERE a = ?"),
        ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)", "INSERT INTO t (a, b) VALUES (?, ?), ..."),
        ("SELECT 1 /* note 7 */ -- trailing 8", "SELECT ?"),
    ],
)
def test_shape_of(sql: str, shape: str) -> None:
    assert shape_of(sql) == shape


@pytest.mark.parametrize(
    ("sql", "roles", "literals", "longest"),
    [
        ("SELECT id FROM t WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?",
         {0: "value", 1: "limit", 2: "offset"}, (), 0),
        ("SELECT id FROM t WHERE id > %(after)s::INTEGER AND b IN (%(b_1_1)s::VARCHAR(40), %(b_1_2)s::VARCHAR(40)) "
         "LIMIT %(n)s", {"after": "bound", "b_1_1": "list", "b_1_2": "list", "n": "limit"}, (), 2),
        ("SELECT id FROM t WHERE a = 'x''y' AND b IN (1, 2, 3) AND c <> 4 /* 5 */ -- 6\n FETCH FIRST 10 ROWS ONLY",
         {}, (("value", "'x''y'"), ("list", "1"), ("list", "2"), ("list", "3"), ("bound", "4"), ("limit", "10")), 3),
        ("SELECT t2.id FROM t2 WHERE t2.a = $2 AND t2.b = :name AND t2.c IN ($1)",
         {1: "value", "name": "value", 0: "list"}, (), 1),
        ("SELECT '?' FROM t WHERE a IN (?) AND b = ?", {0: "list", 1: "value"}, (("value", "'?'"),), 1),
    ],
)
def test_values_of_tells_what_each_value_does(sql: str, roles: dict[object, str],
                                              literals: tuple[tuple[str, str], ...], longest: int) -> None:
    found = values_of(sql)
    assert (found.roles, found.literals, found.longest_list) == (roles, literals, longest)


def test_values_of_a_long_in_list_reads_every_value_as_the_list() -> None:
    sql = "SELECT id FROM t WHERE user_id IN (" + ", ".join(f"%(user_id_1_{i})s::INTEGER" for i in range(500)) + ")"
    found = values_of(sql)
    assert found.longest_list == 500 and set(found.roles.values()) == {"list"} and len(found.roles) == 500


def test_lists_of_different_lengths_share_a_shape() -> None:
    two, four = "SELECT * FROM t WHERE id IN (?, ?)", "SELECT * FROM t WHERE id IN (?, ?, ?, ?)"
    assert shape_of(two) == shape_of(four)


def test_short_sql_elides_long_select_lists_only() -> None:
    long_select = "SELECT orders.id, orders.user_id, orders.status, orders.created FROM orders WHERE id = ?"
    assert short_sql(long_select) == "SELECT ... FROM orders WHERE id = ?"
    assert short_sql("SELECT count(*) FROM orders") == "SELECT count(*) FROM orders"
    nested = ("SELECT anon_1.id FROM (SELECT orders.id AS id, orders.user_id AS user_id, "
              "orders.status AS status FROM orders) AS anon_1")
    assert short_sql(nested) == "SELECT anon_1.id FROM (SELECT ... FROM orders) AS anon_1"
    tricky = "SELECT 'a FROM b', orders.id, orders.user_id, orders.status FROM orders"
    assert short_sql(tricky) == "SELECT ... FROM orders"
    assert short_sql("SELECT 1") == "SELECT 1"
    assert short_sql("UPDATE t SET a = 1 WHERE " + "x = 1 AND " * 40 + "y = 2", width=50).endswith("...")
    assert len(short_sql("UPDATE t SET a = 1 WHERE " + "x = 1 AND " * 40, width=50)) <= 50


# ----------------------------------------------------------------------------- findings, on the test dataset
#
# Each test asserts the exact one-line finding, fix included, on SQLite and PostgreSQL. The learner's
# line in a message is the line of the helper below that touched the attribute or sent the SQL.

HERE = "test_querylog.py"
MANY_TO_ONE_HINT = ("`selectinload(Order.user)` (many-to-one: `joinedload(Order.user)` is as good: one JOIN, "
                    "each Order row just gains its User's columns)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def data(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset (read-only), on SQLite and (marked postgres) PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_dataset_engine"
    engine: Engine = request.getfixturevalue(name)
    return engine


def touch(objects: list[object], attribute: str) -> list[object]:
    return [getattr(obj, attribute) for obj in objects]  # the line the findings point at


TOUCH_LINE = touch.__code__.co_firstlineno + 1


def first_orders_of_distinct_users(session: Session, n: int) -> list[Order]:
    first = sa.select(sa.func.min(Order.id)).group_by(Order.user_id)
    return list(session.scalars(sa.select(Order).where(Order.id.in_(first)).order_by(Order.id).limit(n)))


def test_many_to_one_lazy_load_names_the_relationship(data: Engine) -> None:
    with Session(data) as session, query_log(data) as log:
        orders = first_orders_of_distinct_users(session, 60)
        touch(orders, "user")
    assert log.count == 61
    (finding,) = log.suspects()
    assert finding.message == f"`Order.user` lazy-loaded 60 times (from {HERE}:{TOUCH_LINE}) → {MANY_TO_ONE_HINT}"
    assert (finding.kind, finding.attribute, finding.where) == ("lazy load", "Order.user", f"{HERE}:{TOUCH_LINE}")


def test_one_to_many_lazy_load_chapter_02(data: Engine) -> None:
    with Session(data) as session, query_log(data) as log:
        users = session.scalars(sa.select(User).order_by(User.id).limit(100)).all()
        touch(list(users), "orders")
    (finding,) = log.suspects()
    assert finding.message == (
        f"`User.orders` lazy-loaded 100 times (from {HERE}:{TOUCH_LINE}) → `selectinload(User.orders)` "
        "(one-to-many: joinedload would repeat each User's columns on every Order row)"
    )


def read_products(orders: list[Order]) -> int:
    products = 0
    for order in orders:
        for item in order.items:  # ITEMS
            products += item.product is not None  # PRODUCT
    return products


ITEMS_LINE = read_products.__code__.co_firstlineno + 3


def test_two_level_n_plus_one_is_two_named_findings(data: Engine) -> None:
    with Session(data) as session, query_log(data) as log:
        orders = list(session.scalars(sa.select(Order).order_by(Order.id).limit(20)))
        read_products(orders)
        distinct_products = len({item.product_id for order in orders for item in order.items})
    items, products = sorted(log.suspects(), key=lambda s: s.attribute or "")
    assert items.message == (
        f"`Order.items` lazy-loaded 20 times (from {HERE}:{ITEMS_LINE}) → `selectinload(Order.items)` "
        "(one-to-many: joinedload would repeat each Order's columns on every OrderItem row)"
    )
    assert products.message == (
        f"`OrderItem.product` lazy-loaded {distinct_products} times (from {HERE}:{ITEMS_LINE + 1}) → "
        "`selectinload(Order.items).selectinload(OrderItem.product)` (many-to-one: "
        "`joinedload(OrderItem.product)` is as good: one JOIN, each OrderItem row just gains its Product's columns)"
    )
    assert distinct_products >= 5


def test_selectinload_batches_over_500_parents_are_never_a_finding(data: Engine) -> None:
    with Session(data) as session, query_log(data, min_repeats=2) as log:
        orders = session.scalars(sa.select(Order).options(selectinload(Order.items))).all()
        items = sum(len(order.items) for order in orders)
    assert len(orders) > 500 and items > 0
    batches = -(-len(orders) // 500)  # SQLAlchemy sends one IN query per 500 parents
    assert batches >= 2
    assert log.count == 1 + batches
    assert [s.load.kind if s.load else None for s in log.statements] == [None] + ["batch"] * batches
    assert log.suspects() == []
    assert log.suspects(min_repeats=2) == []


def test_subqueryload_over_500_parents_is_never_a_finding(data: Engine) -> None:
    with Session(data) as session, query_log(data, min_repeats=2) as log:
        orders = session.scalars(sa.select(Order).options(subqueryload(Order.items))).all()
        assert len(orders) > 500 and sum(len(order.items) for order in orders) > 0
    assert [s.load.kind if s.load else None for s in log.statements] == [None, "batch"]
    assert log.suspects() == []


def test_joinedload_is_no_finding(data: Engine) -> None:
    with Session(data) as session, query_log(data, min_repeats=2) as log:
        orders = first_orders_of_distinct_users(session, 60)
        session.expunge_all()
        rows = session.scalars(sa.select(Order).options(joinedload(Order.user)).where(
            Order.id.in_([o.id for o in orders]))).all()
        touch(list(rows), "user")
    assert log.count == 2
    assert log.suspects() == []


def test_repeated_identical_query_is_not_an_n_plus_one(data: Engine) -> None:
    with data.connect() as conn, query_log(data) as log:
        for _ in range(6):
            conn.execute(sa.select(User.name).where(User.id == 1)).one()  # SAME
    (finding,) = log.suspects()
    line = test_repeated_identical_query_is_not_an_n_plus_one.__code__.co_firstlineno + 3
    assert finding.message == (f"SELECT users.name FROM users WHERE users.id = ? ran 6 times (from {HERE}:{line}) "
                               "→ repeated query: run once or cache (same parameters every time)")
    assert (finding.kind, finding.distinct_params) == ("repeated query", 1)


ORDERS_OF = sa.text("SELECT id, total_cents FROM orders WHERE user_id = :u ORDER BY id")
PER_ROW = "→ N+1: one query per row; fetch all the rows in one query (WHERE ... IN (...) or a JOIN)"


def raw_loop_a(conn: sa.Connection, ids: range) -> None:
    for i in ids:
        conn.execute(ORDERS_OF, {"u": i}).all()


def raw_loop_b(conn: sa.Connection, ids: range) -> None:
    for i in ids:
        conn.execute(ORDERS_OF, {"u": i}).all()


def test_raw_sql_loop_from_two_call_sites_is_two_findings(data: Engine) -> None:
    with data.connect() as conn, query_log(data) as log:
        raw_loop_a(conn, range(1, 11))
        raw_loop_b(conn, range(11, 17))
    a, b = log.suspects()
    shape = "SELECT id, total_cents FROM orders WHERE user_id = ? ORDER BY id"
    assert a.message == f"{shape} ran 10 times (from {HERE}:{raw_loop_a.__code__.co_firstlineno + 2}) {PER_ROW}"
    assert b.message == f"{shape} ran 6 times (from {HERE}:{raw_loop_b.__code__.co_firstlineno + 2}) {PER_ROW}"


def fstring_loop(conn: sa.Connection, ids: range) -> None:
    for i in ids:
        conn.execute(sa.text(f"SELECT id, total_cents FROM orders WHERE user_id = {i} ORDER BY id")).all()


def test_raw_sql_loop_with_values_written_into_the_sql_is_per_row_not_repeated(data: Engine) -> None:
    """An f-string loop sends different statements with no parameters: an N+1, not one query repeated."""
    with data.connect() as conn, query_log(data) as log:
        fstring_loop(conn, range(1, 7))
    (finding,) = log.suspects()
    shape = "SELECT id, total_cents FROM orders WHERE user_id = ? ORDER BY id"
    assert finding.message == f"{shape} ran 6 times (from {HERE}:{fstring_loop.__code__.co_firstlineno + 2}) {PER_ROW}"
    assert (finding.kind, finding.distinct_params) == ("per-row query", 6)


def test_pages_written_into_the_sql_are_still_pages(data: Engine) -> None:
    with data.connect() as conn, query_log(data) as log:
        for page in range(6):
            conn.execute(sa.text(f"SELECT id FROM orders ORDER BY id LIMIT 50 OFFSET {50 * page}")).all()
        after = 0
        for _ in range(6):
            page = sa.text(f"SELECT id FROM orders WHERE id > {after} ORDER BY id LIMIT 20")
            after = conn.execute(page).scalars().all()[-1]
    assert log.count == 12 and log.suspects() == []


def in_batches(conn: sa.Connection, ids: list[int], size: int) -> int:
    query = sa.select(Order.id).where(Order.user_id.in_(sa.bindparam("ids", expanding=True)))
    return sum(len(conn.execute(query, {"ids": ids[i:i + size]}).all()) for i in range(0, len(ids), size))


def test_a_loop_over_in_batches_is_the_fix_but_one_id_per_in_is_per_row(data: Engine) -> None:
    """Hand-written IN batching in chunks (what selectinload does) is no finding; chunks of one id are an N+1."""
    ids = list(range(1, 121))
    with data.connect() as conn, query_log(data) as log:
        batched = in_batches(conn, ids, 25)  # 5 statements: 4 of 25 ids and one of 20
    assert log.count == 5 and log.suspects() == []
    with data.connect() as conn, query_log(data) as log:
        assert in_batches(conn, ids[:6], 1) > 0
    (finding,) = log.suspects()
    assert finding.message == (f"SELECT orders.id FROM orders WHERE orders.user_id IN (?, ...) ran 6 times "
                               f"(from {HERE}:{in_batches.__code__.co_firstlineno + 2}) {PER_ROW}")
    assert batched > 0


def test_paginated_loops_are_told_apart_from_per_row_loops(data: Engine) -> None:
    offset = sa.text("SELECT id FROM orders ORDER BY id LIMIT :n OFFSET :o")
    keyset = sa.text("SELECT id FROM orders WHERE id > :after ORDER BY id LIMIT 50")
    per_row = sa.text("SELECT id FROM orders WHERE user_id = :u ORDER BY id DESC LIMIT 3")
    row_by_row = sa.text("SELECT id FROM orders WHERE id > :after ORDER BY id LIMIT 1")
    with data.connect() as conn, query_log(data) as log:
        for page in range(8):
            conn.execute(offset, {"n": 50, "o": 50 * page}).all()
        after = 0
        for _ in range(8):
            after = conn.execute(keyset, {"after": after}).scalars().all()[-1]
        for user_id in range(1, 9):
            conn.execute(per_row, {"u": user_id}).all()
        after = 0
        for _ in range(8):
            after = conn.execute(row_by_row, {"after": after}).scalar_one()
    found = {s.shape: s.kind for s in log.suspects()}
    assert found == {
        "SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ?": "per-row query",
        "SELECT id FROM orders WHERE id > ? ORDER BY id LIMIT ?": "per-row query",  # a page of 1 is a row
    }


def test_loop_of_executemany_is_told_to_send_one_call(any_shop: Engine) -> None:
    with any_shop.begin() as conn, query_log(any_shop) as log:
        for batch in range(6):
            conn.execute(sa.insert(Order), [{"user_id": 1, "status": "new", "created_at": WHEN,
                                             "total_cents": 10 * batch + k} for k in range(10)])
    (finding,) = log.suspects()
    line = test_loop_of_executemany_is_told_to_send_one_call.__code__.co_firstlineno + 3
    assert finding.message == ("INSERT INTO orders (user_id, status, created_at, total_cents) VALUES (?, ?, ?, ?) "
                               f"ran 6 times (from {HERE}:{line}) → one executemany per batch of 10 rows: "
                               "send them all in one call")
    assert finding.kind == "executemany loop"


def test_loop_of_single_row_inserts_keeps_its_hint(any_shop: Engine) -> None:
    with any_shop.begin() as conn, query_log(any_shop) as log:
        for n in range(5):
            conn.execute(sa.insert(Order).values(user_id=1, status="new", created_at=WHEN, total_cents=n))
    (finding,) = log.suspects()
    assert finding.kind == "per-row write"
    assert finding.message.endswith(" ran 5 times (from test_querylog.py:"
                                    f"{test_loop_of_single_row_inserts_keeps_its_hint.__code__.co_firstlineno + 3})"
                                    " → one statement per row: send all rows in one executemany "
                                    "(a list of parameter sets) or one bulk statement")


def test_deferred_attribute_loaded_on_access(shop: Engine) -> None:
    from sqlalchemy.orm import defer

    with Session(shop) as session:
        orders = session.scalars(sa.select(Order).options(defer(Order.status)).limit(6)).all()
        with query_log(shop) as log:
            touch(list(orders), "status")
    (finding,) = log.suspects()
    assert finding.kind == "attribute load" and finding.attribute == "Order.status"
    assert finding.message.startswith(f"`Order.status` loaded on access 6 times (from {HERE}:{TOUCH_LINE}) → "
                                      "load it with the query: `undefer(Order.status)`")


def test_transactions_are_round_trips_not_statements(shop: Engine) -> None:
    with query_log(shop) as log:
        with shop.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
        with shop.connect() as conn:
            conn.exec_driver_sql("SELECT 2")
    assert log.count == 2
    assert log.transactions == {"BEGIN": 2, "COMMIT": 1, "ROLLBACK": 1}
    assert log.round_trips == 6
    assert log.summary().startswith("2 statements (+ 2× BEGIN, COMMIT, ROLLBACK) in ")


def test_async_engine_is_recorded(tmp_path: object) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/a.sqlite")

    async def main() -> list[int]:
        async def one(i: int) -> int:
            async with engine.connect() as conn:
                return int((await conn.execute(sa.text("SELECT :i"), {"i": i})).scalar_one())

        with query_log(engine) as log:
            values = await asyncio.gather(*(one(i) for i in range(6)))
        await engine.dispose()
        assert log.count == 6 and log.transactions == {"BEGIN": 6, "ROLLBACK": 6}
        return values

    assert asyncio.run(main()) == list(range(6))


def test_a_lazy_load_under_a_lazy_load_chains_the_fix(shop: Engine) -> None:
    with Session(shop) as session, query_log(shop) as log:
        users = session.scalars(sa.select(User).order_by(User.id)).all()
        for user in users:
            for order in user.orders:
                order.items  # noqa: B018 - the lazy load is the point
    hints = {s.attribute: s.hint.split(" ")[0] for s in log.suspects()}
    assert hints == {"User.orders": "`selectinload(User.orders)`",
                     "Order.items": "`selectinload(User.orders).selectinload(Order.items)`"}


def test_a_lazy_load_under_a_joinedload_extends_the_learners_option(data: Engine) -> None:
    """Items of orders the query JOINed: keep the joinedload and chain the fix onto it, don't swap it."""
    with Session(data) as session, query_log(data) as log:
        users = session.scalars(sa.select(User).options(joinedload(User.orders)).order_by(User.id).limit(10))
        for user in users.unique():
            for order in user.orders:
                order.items  # noqa: B018 - the lazy load is the point
    (finding,) = log.suspects()
    assert finding.hint.split(" ")[0] == "`joinedload(User.orders).selectinload(Order.items)`"


def test_a_lazy_load_under_two_eager_levels_chains_each_option_as_written(data: Engine) -> None:
    with Session(data) as session, query_log(data) as log:
        query = sa.select(User).options(selectinload(User.orders).joinedload(Order.items)).order_by(User.id).limit(5)
        for user in session.scalars(query).unique():
            read_products(user.orders)
    (finding,) = log.suspects()
    assert finding.attribute == "OrderItem.product"
    assert finding.hint.split(" ")[0] == (
        "`selectinload(User.orders).joinedload(Order.items).selectinload(OrderItem.product)`")


def test_a_lazy_load_on_objects_of_a_query_of_their_own_chains_nothing(shop: Engine) -> None:
    with Session(shop) as session, query_log(shop) as log:
        for order in session.scalars(sa.select(Order).order_by(Order.id)).all():
            order.user  # noqa: B018 - the lazy load is the point
    (finding,) = log.suspects()
    assert finding.hint.split(" ")[0] == "`selectinload(Order.user)`"


def test_a_statement_is_placed_on_the_innermost_learner_line_whatever_path_the_same_sql_took_before() -> None:
    """The learner's line is cached per SQL by stack depth; another path to the same SQL must not reuse it.

    ``text()`` reaches the driver through more SQLAlchemy frames than ``exec_driver_sql``. Sent first from
    a plain line, it leaves a depth at which, on the shorter path, an outer learner frame sits right above
    a library frame (``cached_property.__get__``), and that frame is not where the statement came from.
    """
    from functools import cached_property

    engine = sa.create_engine("sqlite://")

    class Report:
        @cached_property
        def inner(self) -> object:
            return conn.exec_driver_sql("SELECT 42").all()  # the statement's line

        @cached_property
        def middle(self) -> object:
            return self.inner

        @cached_property
        def outer(self) -> object:
            return self.middle

    inner_line = Report.inner.func.__code__.co_firstlineno + 2
    with engine.connect() as conn, query_log(engine) as log:
        conn.execute(sa.text("SELECT 42")).all()  # the same SQL, first from this line by the longer path
        assert Report().outer == [(42,)]
    sites = [s.site for s in log.statements if s.sql == "SELECT 42"]
    assert len(sites) == 2 and sites[1] is not None
    assert (sites[1].function, sites[1].lineno) == ("inner", inner_line)
    engine.dispose()
