"""Tests for perflab.plans (``perflab.explain``): plans on SQLite and PostgreSQL, index use and full scans."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.db import make_engine
from perflab.errors import PerflabError
from perflab.plans import Plan, explain
from perflab.schema import Base, Order, User

WHEN = datetime(2024, 1, 1, 12, 0, 0)
USERS = 2_000
ORDERS_EACH = 10
RARE = "refunded"  # 1 order in 200: selective enough for PostgreSQL to prefer an index on status


def fill(engine: Engine) -> None:
    """2000 users with 10 orders each; statuses mostly 'paid', a few 'refunded'. Statistics analysed."""
    users = [{"id": i, "name": f"user {i}", "email": f"u{i}@example.com", "country": "DE", "created_at": WHEN}
             for i in range(1, USERS + 1)]
    orders = [{"user_id": 1 + n % USERS, "status": RARE if n % 200 == 0 else "paid", "created_at": WHEN,
               "total_cents": n} for n in range(USERS * ORDERS_EACH)]
    with engine.begin() as conn:
        conn.execute(sa.insert(User), users)
        conn.execute(sa.insert(Order), orders)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


@pytest.fixture(scope="module")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """SQLite with the data, shared by this module (tests that change the schema undo it)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('explain') / 'shop.sqlite'}")
    Base.metadata.create_all(engine)
    fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def pg_shop(pg_url: str) -> Iterator[Engine]:
    """PostgreSQL with the data in a throwaway schema, shared by this module."""
    schema = f"perflab_test_explain_{uuid.uuid4().hex[:8]}"
    engine = make_engine(pg_url, schema=schema)
    try:
        Base.metadata.create_all(engine)
        fill(engine)
        yield engine
    finally:
        engine.dispose()
        admin = make_engine(pg_url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue("sqlite_shop" if request.param == "sqlite" else "pg_shop")
    return engine


BY_USER = "SELECT * FROM orders WHERE user_id = :u"
BY_STATUS = "SELECT * FROM orders WHERE status = :s"


def test_filter_on_indexed_foreign_key_uses_the_index(shop: Engine) -> None:
    plan = explain(shop, BY_USER, {"u": 7})
    assert plan.uses_index("ix_orders_user_id"), plan.text
    assert plan.uses_index()
    assert not plan.full_scan("orders"), plan.text
    assert "ix_orders_user_id" in plan.indexes


def test_filter_on_status_is_a_full_scan_until_indexed(shop: Engine) -> None:
    plan = explain(shop, BY_STATUS, {"s": RARE})
    assert plan.full_scan("orders"), plan.text
    assert plan.full_scan()
    assert not plan.uses_index(), plan.text
    with shop.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_status ON orders (status)")
    try:
        indexed = explain(shop, BY_STATUS, {"s": RARE})
        assert indexed.uses_index("ix_orders_status"), indexed.text
        assert indexed.uses_index("IX_ORDERS_STATUS")  # case-insensitive
        assert not indexed.full_scan("orders"), indexed.text
    finally:
        with shop.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_orders_status")
    assert explain(shop, BY_STATUS, {"s": RARE}).full_scan("orders")


def test_a_name_that_needs_quotes_is_reported_as_created(shop: Engine) -> None:
    """PostgreSQL's EXPLAIN prints "IX_Orders_Status" in quotes; the plan names the index as it was created."""
    with shop.begin() as conn:
        conn.exec_driver_sql('CREATE INDEX "IX_Orders_Status" ON orders (status)')
    try:
        plan = explain(shop, BY_STATUS, {"s": RARE})
        assert plan.indexes == ["IX_Orders_Status"], plan.text
        assert plan.uses_index("IX_Orders_Status") and plan.uses_index("ix_orders_status")
        assert "uses index IX_Orders_Status" in plan.summary
    finally:
        with shop.begin() as conn:
            conn.exec_driver_sql('DROP INDEX "IX_Orders_Status"')


@pytest.mark.postgres
def test_postgres_names_with_spaces_and_quotes(pg_shop: Engine) -> None:
    with pg_shop.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "Order ""Log""" (id int PRIMARY KEY, status text)')
        conn.exec_driver_sql('INSERT INTO "Order ""Log""" SELECT g, \'paid\' FROM generate_series(1, 5000) AS g')
        conn.exec_driver_sql('CREATE INDEX "by status ""x""" ON "Order ""Log""" (status)')
        conn.exec_driver_sql('ANALYZE "Order ""Log"""')
    try:
        scan = explain(pg_shop, 'SELECT * FROM "Order ""Log""" AS "L o g" WHERE id > :n', {"n": 0})
        assert scan.scans == [('Order "Log"', "L o g")], scan.text
        assert scan.full_scan('Order "Log"') and scan.full_scan("L o g")
        search = explain(pg_shop, 'SELECT * FROM "Order ""Log""" WHERE status = :s', {"s": "refunded"})
        assert search.indexes == ['by status "x"'], search.text
    finally:
        with pg_shop.begin() as conn:
            conn.exec_driver_sql('DROP TABLE "Order ""Log"""')


def test_select_statements_are_explained_as_sent(shop: Engine) -> None:
    plan = explain(shop, sa.select(Order).where(Order.user_id == 7, Order.created_at >= WHEN))
    assert plan.uses_index("ix_orders_user_id"), plan.text
    assert plan.sql.startswith("SELECT orders.id")  # the statement as sent, without the EXPLAIN prefix


def test_execution_time_only_on_postgres(shop: Engine) -> None:
    plan = explain(shop, BY_USER, {"u": 7})
    if shop.dialect.name == "postgresql":
        assert plan.backend == "postgresql"
        assert plan.execution_ms is not None and plan.execution_ms >= 0
        assert plan.planning_ms is not None
        assert "Execution Time" in plan.text
        assert "executed in" in plan.summary
    else:
        assert plan.backend == "sqlite"
        assert plan.execution_ms is None and plan.planning_ms is None


def test_pages_count_what_the_executed_query_touched_on_postgres(shop: Engine) -> None:
    """20,000 orders: a full scan touches every page of the table, a primary-key lookup a handful."""
    full = explain(shop, "SELECT * FROM orders WHERE total_cents < 0")
    one = explain(shop, "SELECT * FROM orders WHERE id = :id", {"id": 1234})
    if shop.dialect.name != "postgresql":
        assert full.pages is None and one.pages is None
        return
    with shop.connect() as conn:
        table_pages = conn.exec_driver_sql(
            "SELECT pg_relation_size('orders') / current_setting('block_size')::int").scalar_one()
    assert full.full_scan("orders") and one.uses_index()
    assert table_pages > 20
    assert full.pages is not None and table_pages <= full.pages <= table_pages + 5
    assert one.pages is not None and 1 <= one.pages <= 5
    assert explain(shop, "SELECT * FROM orders WHERE id = :id", {"id": 1234}, analyze=False).pages is None


def test_explained_changes_are_rolled_back(shop: Engine) -> None:
    explain(shop, sa.delete(Order).where(Order.user_id == 7))
    with shop.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(Order.user_id == 7)).scalar_one() == ORDERS_EACH


def test_join_uses_primary_key_and_scans_the_driving_table(shop: Engine) -> None:
    plan = explain(shop, "SELECT u.name, o.total_cents FROM orders AS o JOIN users AS u ON u.id = o.user_id "
                         "WHERE o.status = :s", {"s": RARE})
    assert plan.full_scan("orders") or plan.full_scan("o"), plan.text


# ----------------------------------------------------------------------------- SQLite specifics


def test_sqlite_text_is_a_tree(sqlite_shop: Engine) -> None:
    plan = explain(sqlite_shop, "SELECT * FROM orders WHERE user_id = :u ORDER BY total_cents", {"u": 1})
    assert plan.text.splitlines() == [
        "SEARCH orders USING INDEX ix_orders_user_id (user_id=?)",
        "USE TEMP B-TREE FOR ORDER BY",
    ]
    nested_sql = ("SELECT * FROM orders WHERE user_id IN (SELECT id FROM users WHERE country = :c) "
                  "AND total_cents > 5")
    nested = explain(sqlite_shop, nested_sql, {"c": "DE"})
    lines = nested.text.splitlines()
    assert any(line.startswith(("|--", "`--")) for line in lines), nested.text
    assert nested.rows and len(nested.rows[0]) == 4


def test_sqlite_scan_of_a_materialized_cte_is_not_a_table_scan(sqlite_shop: Engine) -> None:
    sql = ("WITH t AS MATERIALIZED (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) "
           "SELECT * FROM users JOIN t ON t.user_id = users.id")
    plan = explain(sqlite_shop, sql)
    assert "SCAN t" in plan.text.splitlines()
    assert not plan.full_scan("t"), plan.text


def test_sqlite_primary_key_lookup(sqlite_shop: Engine) -> None:
    plan = explain(sqlite_shop, sa.select(User).where(User.id == 3))
    assert plan.indexes == ["PRIMARY KEY"]
    assert plan.uses_index() and not plan.full_scan()
    assert str(plan) == "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)"


def test_sqlite_alias_names_the_scan(sqlite_shop: Engine) -> None:
    plan = explain(sqlite_shop, "SELECT * FROM orders AS o WHERE o.status = 'paid'")
    assert plan.full_scan("o") or plan.full_scan("orders")
    assert plan.full_scan()


def test_positional_params_use_driver_placeholders(sqlite_shop: Engine) -> None:
    plan = explain(sqlite_shop, "SELECT * FROM orders WHERE user_id = ?", (5,))
    assert plan.uses_index("ix_orders_user_id")


def test_repr_and_html(sqlite_shop: Engine) -> None:
    plan = explain(sqlite_shop, BY_STATUS, {"s": "paid"})
    assert isinstance(plan, Plan)
    assert repr(plan) == "<Plan (sqlite): full scan of orders>\nSCAN orders"
    page = plan._repr_html_()
    assert "full scan of orders" in page and "<pre>" in page and "color:#b00020" in page
    good = explain(sqlite_shop, BY_USER, {"u": 1})
    assert good.summary == "uses index ix_orders_user_id"
    assert "color:#1b7f3b" in good._repr_html_()


def test_explain_does_not_change_the_engine(sqlite_shop: Engine) -> None:
    explain(sqlite_shop, BY_USER, {"u": 1})
    with sqlite_shop.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM orders WHERE user_id = 1").scalar() == ORDERS_EACH


# ----------------------------------------------------------------------------- errors


def test_bad_sql_type_is_a_one_line_error(sqlite_shop: Engine) -> None:
    with pytest.raises(PerflabError, match="sql must be a SQL string or a SQLAlchemy statement.*got int"):
        explain(sqlite_shop, 42)


def test_bad_params_are_one_line_errors(sqlite_shop: Engine) -> None:
    with pytest.raises(PerflabError, match="params must be a dict"):
        explain(sqlite_shop, BY_USER, 5)  # type: ignore[arg-type]
    with pytest.raises(PerflabError, match="params of a statement must be a dict"):
        explain(sqlite_shop, sa.select(User), (1,))


def test_other_databases_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine("sqlite://")
    monkeypatch.setattr(engine.dialect, "name", "oracle")
    with pytest.raises(PerflabError, match="explain supports SQLite and PostgreSQL, got oracle"):
        explain(engine, "SELECT 1")


@pytest.mark.postgres
def test_postgres_without_analyze_has_no_execution_time(pg_engine: Engine) -> None:
    Base.metadata.create_all(pg_engine)
    plan = explain(pg_engine, BY_USER, {"u": 1}, analyze=False)
    assert plan.execution_ms is None
    assert "actual time" not in plan.text


# ----------------------------------------------------------------------------- the package's name


AFTER_A_CHECK = textwrap.dedent("""
    import sys

    import sqlalchemy as sa

    import perflab
    import perflab.plan_notes

    engine = sa.create_engine(f"sqlite:///{sys.argv[1]}")

    def add_index(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX ix_o_c ON orders (created_at)")

    perflab.check("09-one-index", add_index, engine=engine, floor=0, runs=1)  # imports the plan module
    perflab.plan_notes.execution_ms(engine, "SELECT count(*) FROM orders")  # so does this
    import perflab.plans  # and a learner may
    from perflab.exercises.ch09 import REPORT

    plan = perflab.explain(engine, REPORT, {"start": "2024-03-01", "end": "2024-03-02"})
    print("explain:", callable(perflab.explain), plan.full_scan("orders"))
""")


def test_perflab_explain_stays_callable_once_its_module_is_imported(sqlite_path: Path, tmp_path: Path) -> None:
    """In a fresh kernel: the setup, then straight to the exercise's check (which imports the module that holds
    explain), then perflab.explain as its hint says: the package's function, not a module of the same name."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root, "TMPDIR": str(tmp_path)}  # the unseen dataset goes to tmp_path
    done = subprocess.run([sys.executable, "-c", AFTER_A_CHECK, str(sqlite_path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "explain: True True", done.stdout
