"""perflab.plan_notes: real plans from SQLite and PostgreSQL, read line by line; the database's own time."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from perflab.indexes import scratch_index, scratch_table
from perflab.plan_notes import execution_ms, read_plan
from perflab.plans import explain


def test_sqlite_scan_search_covering_and_temp_btree(sqlite_engine: Engine) -> None:
    scan = read_plan(explain(sqlite_engine, "SELECT * FROM orders WHERE status = :s", {"s": "paid"}))
    assert scan.splitlines() == ["SCAN orders", "    → reads every row of orders and tests each one: a full table scan"]
    search = read_plan(explain(sqlite_engine, "SELECT * FROM orders WHERE user_id = :u", {"u": 3}))
    assert "USING INDEX ix_orders_user_id" in search and "reads only those rows of orders" in search
    covering = read_plan(explain(sqlite_engine, "SELECT id FROM orders WHERE user_id = :u", {"u": 3}))
    assert "COVERING INDEX" in covering and "orders itself is never read" in covering
    grouped = read_plan(explain(sqlite_engine, "SELECT status FROM orders GROUP BY status"))
    assert "→ builds a temporary sorted structure (for group by)" in grouped


@pytest.mark.postgres
def test_postgres_plan_lines_are_explained(pg_dataset_engine: Engine) -> None:
    with scratch_table(pg_dataset_engine, "orders") as copy:
        sql = f"SELECT * FROM {copy} WHERE user_id = :u AND created_at > :d"
        params = {"u": 3, "d": "2020-01-01"}
        seq = read_plan(explain(pg_dataset_engine, sql, params))
        for fragment in ("Seq Scan on scratch_orders", "→ reads every row of the table (a sequential scan)",
                         "; estimated cost", "; really ", "→ rows read and thrown away", "→ 8 KB pages touched",
                         "→ time the server spent running the query"):
            assert fragment in seq, seq
        with scratch_index(pg_dataset_engine, copy, "user_id", "created_at"):
            indexed = read_plan(explain(pg_dataset_engine, sql, params))
        assert "→ the condition the index answers" in indexed, indexed


@pytest.mark.postgres
def test_execution_ms_on_postgres_is_the_servers_figure(pg_dataset_engine: Engine) -> None:
    ms = execution_ms(pg_dataset_engine, "SELECT count(*) FROM orders WHERE status = :s", {"s": "paid"}, runs=3)
    assert 0 < ms < 10_000


def test_execution_ms_on_sqlite_runs_the_bound_statement(sqlite_engine: Engine) -> None:
    ms = execution_ms(sqlite_engine, "SELECT count(*) FROM orders WHERE user_id = :u AND status = :s",
                      {"u": 3, "s": "paid"}, runs=3)
    assert ms > 0
