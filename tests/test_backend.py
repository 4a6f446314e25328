"""perflab.backend: labels that say which database a measurement ran on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from perflab.backend import describe_backend
from perflab.latency import inject_latency


def test_sqlite_is_in_this_process(sqlite_engine: Engine) -> None:
    assert describe_backend(sqlite_engine) == "SQLite in this process"
    with Session(sqlite_engine) as session:
        assert describe_backend(session) == "SQLite in this process"


def test_injected_latency_is_named(sqlite_engine: Engine) -> None:
    with inject_latency(sqlite_engine, 1.5, sleep=lambda s: None):
        assert describe_backend(sqlite_engine) == "SQLite in this process, +1.5 ms a statement"
    assert describe_backend(sqlite_engine) == "SQLite in this process"


def test_server_label_never_shows_password_or_database() -> None:
    label = describe_backend(sa.create_engine("postgresql+psycopg://alice:s3cret@db.internal:6543/shop"))
    assert label == "PostgreSQL at db.internal:6543"
    assert describe_backend(sa.create_engine("postgresql+psycopg:///shop")) == "PostgreSQL at a local socket"


@pytest.mark.postgres
def test_postgresql_is_not_called_in_process(pg_dataset_engine: Engine) -> None:
    label = describe_backend(pg_dataset_engine)
    assert label.startswith("PostgreSQL at ") and "in this process" not in label
    assert pg_dataset_engine.url.host in label
