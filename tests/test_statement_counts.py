"""Tests for perflab.statement_counts: a query log as one line per distinct statement shape."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.querylog import query_log
from perflab.statement_counts import show_statements, statement_counts


def naive_page(engine: Engine, n: int) -> None:
    with engine.connect() as conn:
        ids = conn.scalars(sa.text("SELECT id FROM users ORDER BY id LIMIT :n"), {"n": n}).all()
        for uid in ids:
            conn.execute(sa.text("SELECT id FROM orders WHERE user_id = :u"), {"u": uid}).all()


def test_an_n_plus_one_is_one_shape_repeated_n_times(sqlite_engine: Engine) -> None:
    with query_log(sqlite_engine) as log:
        naive_page(sqlite_engine, 7)
    assert statement_counts(log) == [
        ("SELECT id FROM users ORDER BY id LIMIT ?", 1),
        ("SELECT id FROM orders WHERE user_id = ?", 7),
    ]


def test_show_prints_the_total_then_each_shape_once(sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with query_log(sqlite_engine) as log:
        naive_page(sqlite_engine, 3)
    show_statements(log, width=30)
    assert capsys.readouterr().out.splitlines() == [
        "4 statements",
        "    1 × SELECT id FROM users ORDER...",
        "    3 × SELECT id FROM orders WHERE...",
    ]


def test_one_statement_is_singular(sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with query_log(sqlite_engine) as log, sqlite_engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
    show_statements(log)
    assert capsys.readouterr().out.splitlines() == ["1 statement", "    1 × SELECT count(*) FROM orders"]
