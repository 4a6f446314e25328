"""Tests for perflab.backend: labels follow the engine's dialect, host and injected latency."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from perflab.backend import describe_backend
from perflab.latency import inject_latency


def test_sqlite_is_in_process(sqlite_engine: Engine) -> None:
    assert describe_backend(sqlite_engine) == "SQLite in-process"


def test_injected_latency_is_named_and_can_be_left_out(sqlite_engine: Engine) -> None:
    with inject_latency(sqlite_engine, 2.5):
        assert describe_backend(sqlite_engine) == "SQLite in-process + 2.5 ms injected latency"
        assert describe_backend(Session(sqlite_engine), latency=False) == "SQLite in-process"
    assert describe_backend(sqlite_engine) == "SQLite in-process"


def test_postgresql_urls_without_connecting() -> None:
    assert describe_backend(sa.create_engine("postgresql+psycopg://u:secret@10.0.0.5/shop")) == "PostgreSQL over TCP"
    assert describe_backend(sa.create_engine("postgresql+psycopg://u@/shop")) == "PostgreSQL over a Unix socket"


def test_a_real_postgresql_engine_is_never_called_sqlite(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    label = describe_backend(pg_engine)
    assert label == "PostgreSQL over TCP" and "SQLite" not in label
