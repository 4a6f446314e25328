"""Tests for perflab.queries: the query log, statement shapes and N+1 detection."""

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
from sqlalchemy.orm import Session, joinedload, selectinload

from perflab.errors import PerflabError
from perflab.queries import QueryLog, Statement, Suspect, TooManyQueries, query_log, shape_of, short_sql
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
    assert "likely N+1" in suspect.message
    assert suspect.message.startswith("SELECT ... FROM orders WHERE")


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
    for name, method in (("before_cursor_execute", log._before), ("after_cursor_execute", log._after),
                         ("handle_error", log._error)):
        assert not event.contains(shop, name, method)
    with shop.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert log.count == 0


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
    import perflab.queries

    monkeypatch.setattr(perflab.queries, "_FOLD_AT", 3)
    with query_log(shop, keep=5) as log, shop.connect() as conn:
        for i in range(8):
            conn.exec_driver_sql("SELECT ?", (i,))
        assert len(log._pending) < 3  # folded along the way
        assert log.count == 8
        conn.exec_driver_sql("SELECT ?", (8,))
    assert log.count == 9
    assert [s.params for s in log.statements] == [(0,), (1,), (2,), (3,), (4,)]
    assert log.dropped == 4
    assert log.suspects()[0].distinct_params == 9


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
    assert message.startswith("21 statements ran, expected at most 2; SELECT ... FROM orders WHERE")
    assert "ran 20 times — likely N+1" in message
    assert isinstance(info.value, AssertionError) and isinstance(info.value, PerflabError)


def test_max_queries_passes_when_within(shop: Engine) -> None:
    with query_log(shop, max_queries=2) as log:
        load_users(shop, selectinload(User.orders))
    assert log.count == 2


def test_fail_on_n_plus_one(shop: Engine) -> None:
    with pytest.raises(TooManyQueries, match=r"^N\+1 suspected: SELECT \.\.\. FROM orders .* ran 20 times"):
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
    assert "same parameters every time" in suspect.hint


def test_insert_per_row_gets_a_write_hint(shop: Engine) -> None:
    with query_log(shop) as log, shop.begin() as conn:
        for n in range(5):
            conn.execute(sa.insert(Order).values(user_id=1, status="new", created_at=WHEN, total_cents=n))
    (suspect,) = log.suspects()
    assert suspect.shape.startswith("INSERT INTO orders")
    assert "executemany" in suspect.hint


def test_suspects_threshold(shop: Engine) -> None:
    with query_log(shop, min_repeats=3) as log, shop.connect() as conn:
        for i in range(3):
            conn.exec_driver_sql("SELECT ?", (i,))
        conn.exec_driver_sql("SELECT 1, 2")
    assert [s.count for s in log.suspects()] == [3]
    assert log.suspects(min_repeats=4) == []
    assert sorted(s.count for s in log.suspects(min_repeats=1)) == [1, 3]
    assert isinstance(log.suspects()[0], Suspect)


def test_report_text_and_html(shop: Engine) -> None:
    with query_log(shop) as log:
        load_users(shop)
    text = str(log)
    assert text.splitlines()[0].startswith("21 statements in ")
    assert text.splitlines()[0].endswith(", 1 N+1 suspect")
    assert "N+1 suspects:" in text
    assert "... 1 more" in text
    assert repr(log).startswith("<QueryLog: 21 statements in ")
    page = log._repr_html_()
    assert "<table>" in page and "N+1 suspects" in page
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
