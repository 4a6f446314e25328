from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.db import connect, describe, make_engine, normalize_url
from perflab.errors import PerflabError


def test_plain_postgres_urls_get_the_psycopg_driver() -> None:
    assert normalize_url("postgresql://ann@db/shop").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://ann@db/shop").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.sqlite").drivername == "sqlite"


@pytest.mark.parametrize("url, message", [
    ("mysql://root@localhost/shop", "unsupported database 'mysql'"),
    ("not a url", "malformed database URL 'not a url'"),
    ("postgresql+asyncpg://u@h/db", "perflab talks to PostgreSQL through psycopg 3, got driver 'asyncpg'"),
])
def test_bad_urls_are_one_line(url: str, message: str) -> None:
    with pytest.raises(PerflabError) as err:
        normalize_url(url)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_connect_builds_then_reuses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    engine = connect(url, scale=0.01, seed=2, progress=False)
    assert dataset.counts(engine)["users"] == 100
    built_at = dataset.recorded(engine)["built_at"]  # type: ignore[index]
    again = connect(url, scale=0.01, seed=2, progress=False)
    assert dataset.recorded(again)["built_at"] == built_at  # type: ignore[index]


def test_connect_reads_scale_and_seed_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("PERFLAB_SCALE", "0.01")
    monkeypatch.setenv("PERFLAB_SEED", "4")
    engine = connect(progress=False)
    assert dataset.is_current(engine, 0.01, 4)


def test_connect_with_latency_adds_it_to_every_statement(sqlite_path: Path) -> None:
    from perflab.latency import current_latency

    engine = connect(f"sqlite:///{sqlite_path}", scale=0.02, seed=17, latency_ms=1.5)
    assert current_latency(engine) == 1.5


def test_connect_without_ensure_builds_nothing(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'none.sqlite'}", ensure=False)
    assert dataset.recorded(engine) is None


def test_a_missing_data_folder_is_created(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'x.sqlite'}")
    assert (tmp_path / "new" / "deeper").is_dir()
    engine.dispose()


def test_unreachable_postgres_names_host_port_and_the_sqlite_fallback() -> None:
    with pytest.raises(PerflabError) as err:
        make_engine("postgresql://postgres@127.0.0.1:1/test")
    text = str(err.value)
    assert text.startswith("cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)")
    assert "unset it to use SQLite" in text and "\n" not in text


def test_describe_masks_the_password() -> None:
    engine = sa.create_engine("postgresql+psycopg://ann:s3cret@db/shop")
    assert describe(engine) == "postgresql+psycopg://ann:***@db/shop"


@pytest.mark.postgres
def test_wrong_postgres_user_is_one_clear_line(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(username="no_such_role_perflab", password="pw")
    with pytest.raises(PerflabError) as err:
        make_engine(url.render_as_string(hide_password=False))
    text = str(err.value)
    assert "refused the login" in text and "no_such_role_perflab" in text and "pw@" not in text


@pytest.mark.postgres
def test_missing_postgres_database_is_one_clear_line(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(database="perflab_no_such_db")
    with pytest.raises(PerflabError, match='database "perflab_no_such_db" does not exist — create it'):
        make_engine(url.render_as_string(hide_password=False))


@pytest.mark.postgres
def test_schema_sets_the_search_path(pg_engine: Engine, pg_schema: str) -> None:
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_schema()").scalar_one() == pg_schema


@pytest.mark.postgres
def test_connect_on_postgres_ensures_the_dataset(pg_url: str, pg_schema: str) -> None:
    engine = connect(pg_url, schema=pg_schema, scale=0.01, seed=5, progress=False)
    assert dataset.counts(engine)["orders"] == 500
    engine.dispose()


def test_missing_postgres_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` sees when it is not installed
    with pytest.raises(PerflabError) as err:
        make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert "pip install 'perflab[postgres]'" in str(err.value)


def test_schema_names_are_checked_before_they_reach_sql() -> None:
    with pytest.raises(PerflabError, match="PERFLAB_SCHEMA must be"):
        make_engine("postgresql://postgres@127.0.0.1:1/test", schema='x"; DROP TABLE users; --')
