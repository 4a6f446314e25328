"""perflab.exercises.lockout: a read through a connection the check never saw waits for the lock, and is reported."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from perflab.exercises.lockout import Lockout, LockUnavailable


def _hidden_sqlite(engine: Engine) -> sqlite3.Connection:
    return sqlite3.connect(str(engine.url.database), check_same_thread=False)


def _hidden_postgres(engine: Engine) -> Any:
    import psycopg

    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, options=f"-c search_path={schema}", autocommit=True)


@pytest.mark.parametrize(("fixture", "hidden"), [("sqlite_engine", _hidden_sqlite),
                                                 pytest.param("pg_dataset_engine", _hidden_postgres,
                                                              marks=pytest.mark.postgres)])
def test_a_read_on_a_connection_opened_before_waits_and_is_reported(
        request: pytest.FixtureRequest, fixture: str, hidden: Any) -> None:
    engine: Engine = request.getfixturevalue(fixture)
    raw = hidden(engine)  # opened before the lock, as a module-level connection would be
    try:
        with Lockout(engine, ("users", "orders")) as lock:
            assert lock.held
            assert lock.run(lambda: 42, limit=1.0) == (42, False)
            count, waited = lock.run(lambda: raw.execute("SELECT count(*) FROM users").fetchone()[0], limit=0.2)
            assert waited and count > 0  # released at the deadline, so the read finished
            assert lock.run(lambda: "again", limit=1.0) == ("again", False)  # the lock is taken anew each time
        assert raw.execute("SELECT count(*) FROM orders").fetchone()[0] > 0  # nothing held after the block
    finally:
        raw.close()


def test_a_transaction_left_open_elsewhere_is_named(sqlite_engine: Engine) -> None:
    other = _hidden_sqlite(sqlite_engine)
    other.execute("BEGIN")
    other.execute("SELECT count(*) FROM users").fetchone()  # a read transaction holds a shared lock
    try:
        with Lockout(sqlite_engine, ("users",), wait=0.1) as lock, pytest.raises(LockUnavailable, match="users"):
            lock.run(lambda: None, limit=1.0)
    finally:
        other.close()


def test_wal_mode_holds_nothing(tmp_path: Path) -> None:
    """In WAL mode a reader never waits for a writer: the lock would prove nothing, so none is taken."""
    import sqlalchemy as sa

    path = tmp_path / "wal.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    engine = sa.create_engine(f"sqlite:///{path}")
    with Lockout(engine, ("users",)) as lock:
        assert not lock.held and lock.run(lambda: 1, limit=1.0) == (1, False)
    engine.dispose()
