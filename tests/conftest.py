"""Shared fixtures: a small real SQLite dataset, and PostgreSQL / Redis when their URLs are set.

When ``PERFLAB_TEST_POSTGRES_URL`` or ``PERFLAB_TEST_REDIS_URL`` is set and the server cannot be
reached, the tests that need it fail (CI sets both); when unset, those tests are skipped.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.db import make_engine
from perflab.schema import Base

TEST_SCALE = 0.02
TEST_SEED = 17


class FakeClock:
    """A clock that only moves when told to: timing code is tested with exact figures, never real time.

    ``sleep`` stands in for ``time.sleep`` where the code under test sleeps: it records each request in
    ``sleeps`` and moves the clock on by it, plus ``late`` (the scheduler waking the sleeper up late).
    """

    def __init__(self, start: float = 0.0, late: float = 0.0) -> None:
        self.now = start
        self.late = late
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.late


class LineClock:
    """A clock that counts executed Python lines: a deterministic stand-in for time while tracing."""

    def __init__(self) -> None:
        self.lines = 0

    def __call__(self) -> float:
        return float(self.lines)

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines += 1
        return self._trace

    def __enter__(self) -> LineClock:
        self._previous = sys.gettrace()
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self._previous)


def notebook_starters(notebook: Path, **namespace: Any) -> dict[str, Callable[..., Any]]:
    """The functions the notebook's cells tagged ``exercise-starter`` define, as committed.

    Each cell runs in a fresh namespace holding only ``namespace`` (e.g. ``engine=`` for a cell that
    ends by calling its function).
    """
    from tools.nbtools import read_notebook

    found: dict[str, Callable[..., Any]] = {}
    for cell in read_notebook(notebook).cells:
        if cell.cell_type == "code" and "exercise-starter" in cell.metadata.get("tags", []):
            scope: dict[str, Any] = dict(namespace)
            filename = f"<starter of {notebook.name}>"
            exec(compile(cell.source, filename, "exec"), scope)
            found.update({k: v for k, v in scope.items()
                          if inspect.isfunction(v) and v.__code__.co_filename == filename})
    assert found, f"{notebook.name} has no cell tagged exercise-starter defining a function"
    return found


_SESSION_VERDICTS: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Verdicts shown anywhere in this session (the doctests of perflab/ and tools/ too) are recorded in a
    temporary file, never in the checkout's data/; notebook runs (nbval, without tests/) still record there."""
    folder = tempfile.mkdtemp(prefix="perflab-verdicts-")
    _SESSION_VERDICTS.update(folder=folder, before=os.environ.get("PERFLAB_VERDICTS"))
    os.environ["PERFLAB_VERDICTS"] = os.path.join(folder, "verdicts.jsonl")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = _SESSION_VERDICTS.pop("folder", None), _SESSION_VERDICTS.pop("before", None)
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)  # only the folder pytest_configure made
    if before is None:
        os.environ.pop("PERFLAB_VERDICTS", None)
    else:
        os.environ["PERFLAB_VERDICTS"] = before


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never pick up a developer's PERFLAB_* settings (except the test server URLs), and every
    verdict a test shows is recorded in its own temporary file, never in the checkout's data/."""
    for name in ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA", "PERFLAB_POSTGRES_URL",
                 "PERFLAB_REDIS_URL", "PERFLAB_STRICT", "PERFLAB_CHAPTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERFLAB_VERDICTS", str(tmp_path / "verdicts.jsonl"))


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dataset in a real SQLite file, built once per test session (treat it as read-only)."""
    path = tmp_path_factory.mktemp("sqlite") / "perflab.sqlite"
    dataset.build(sa.create_engine(f"sqlite:///{path}"), TEST_SCALE, TEST_SEED, progress=False)
    return path


@pytest.fixture
def sqlite_engine(sqlite_path: Path) -> Iterator[Engine]:
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def empty_sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the six tables and no rows, for tests that insert their own."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _server_url(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} not set")
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    return _server_url("PERFLAB_TEST_POSTGRES_URL")


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL schema name, dropped after the test."""
    schema = f"perflab_test_{uuid.uuid4().hex[:10]}"
    yield schema
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def pg_engine(pg_url: str, pg_schema: str) -> Iterator[Engine]:
    """An engine whose tables live in a throwaway schema (fails if the server is unreachable)."""
    engine = make_engine(pg_url, schema=pg_schema)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_dataset_url(pg_url: str) -> Iterator[tuple[str, str]]:
    """(url, schema) of a small dataset built once per session on PostgreSQL."""
    schema = f"perflab_test_ds_{uuid.uuid4().hex[:8]}"
    engine = make_engine(pg_url, schema=schema)
    dataset.build(engine, TEST_SCALE, TEST_SEED, progress=False)
    engine.dispose()
    yield pg_url, schema
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def pg_dataset_engine(pg_dataset_url: tuple[str, str]) -> Iterator[Engine]:
    """An engine on the session's small PostgreSQL dataset (treat it as read-only)."""
    url, schema = pg_dataset_url
    engine = make_engine(url, schema=schema)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    url = _server_url("PERFLAB_TEST_REDIS_URL")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"PERFLAB_TEST_REDIS_URL={url} is set but unreachable: {exc}")
    return url


def assert_failed_with_hint(result: Any, *fragments: str) -> None:
    """A check's ❌ with a hint, whose message names each of ``fragments``."""
    assert result.ok is False, result.message
    assert " — hint: " in result.message and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message
