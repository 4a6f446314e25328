from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from perflab.doctor import (
    check_line,
    database_checks,
    package_checks,
    redis_checks,
    required_packages,
    run_checks,
    summary,
)


def test_all_checks_ok_on_a_built_dataset(sqlite_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_SCALE", "0.02")
    checks = run_checks(f"sqlite:///{sqlite_path}")
    assert all(ok for ok, _, _ in checks), [c for c in checks if not c[0]]


def test_the_summary_is_one_line_per_check_with_the_data_folder_shortened(
        sqlite_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_SCALE", "0.02")
    monkeypatch.setattr("perflab.config.data_dir", lambda: sqlite_path.parent)  # the data folder: the dataset's
    monkeypatch.chdir(sqlite_path.parent)
    url = f"sqlite:///{sqlite_path}"
    lines = summary(url, short_paths=True).splitlines()
    assert lines == [check_line(c).replace(str(sqlite_path.parent), ".") for c in run_checks(url)]
    assert "OK   database              sqlite at sqlite:///./perflab.sqlite" in lines
    assert str(sqlite_path.parent) in summary(url)  # in full unless asked


def test_other_scale_says_rebuild(sqlite_path: Path) -> None:
    (ok, name, detail), = [c for c in database_checks(f"sqlite:///{sqlite_path}") if c[1] == "dataset"]
    assert not ok and "built for scale 0.02" in detail and detail.endswith("perflab build")


def test_unreachable_database_is_a_fix_line() -> None:
    (ok, name, detail), = database_checks("postgresql://postgres@127.0.0.1:1/test")
    assert (ok, name) == (False, "database") and "cannot reach PostgreSQL at 127.0.0.1:1" in detail


@pytest.mark.redis
def test_redis_reachable(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_REDIS_URL", redis_url)
    assert redis_checks() == [(True, "redis", f"reachable at {redis_url}")]


def test_redis_unreachable_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_REDIS_URL", "redis://127.0.0.1:1/0")
    (ok, name, detail), = redis_checks()
    assert not ok and "is redis-server running? or unset PERFLAB_REDIS_URL" in detail


def test_packages_come_from_the_installed_metadata_without_extras() -> None:
    names = required_packages()
    assert {"SQLAlchemy", "numpy", "pandas", "filelock", "tqdm"} <= set(names)
    assert not {"psycopg", "redis", "pytest", "mypy"} & set(names), "extras are optional"
    (ok, name, detail), = package_checks()
    assert ok and name == "packages" and f"SQLAlchemy {importlib.metadata.version('SQLAlchemy')}" in detail


def test_a_missing_required_package_is_a_fix_line(monkeypatch: pytest.MonkeyPatch) -> None:
    requires = ["numpy>=1.26", "no_such_package_perflab[extra]>=1; python_version >= '3'", 'redis>=5; extra == "redis"']
    monkeypatch.setattr(importlib.metadata, "requires", lambda dist: requires)
    assert required_packages() == ["numpy", "no_such_package_perflab"]
    (ok, name, detail), = package_checks()
    assert not ok and detail.startswith("missing no_such_package_perflab — run the README's first command")


@pytest.mark.redis
def test_redis_password_is_masked(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with_password = redis_url.replace("redis://", "redis://:Zq7s3cret@", 1)
    monkeypatch.setenv("PERFLAB_REDIS_URL", with_password)
    (ok, _, detail), = redis_checks()
    assert ok and detail == f"reachable at {with_password.replace('Zq7s3cret', '***')}"


def test_deleted_rows_are_a_fix_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from perflab import dataset

    monkeypatch.setenv("PERFLAB_SCALE", "0.01")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    dataset.build(engine, 0.01, 17, progress=False)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM reviews WHERE id > 10")
    (ok, _, detail), = [c for c in database_checks(f"sqlite:///{tmp_path / 'x.sqlite'}") if c[1] == "dataset"]
    assert not ok and detail == ("reviews has 10 rows where the build recorded 300 (rows were deleted or added since)"
                                 " — perflab build")


def test_workshop_preflight_unreachable_server_is_a_fix_line() -> None:
    from perflab.doctor import workshop_checks

    checks = workshop_checks("postgresql://postgres@127.0.0.1:1/perflab", ["ann"], None)
    assert [c[:2] for c in checks] == [(False, "shared server"), (True, "redis")]
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in checks[0][2]


def test_workshop_preflight_unreachable_redis_is_a_fix_line() -> None:
    from perflab.doctor import _workshop_redis

    (ok, name, detail), = _workshop_redis("redis://:Zq7s3cret@127.0.0.1:1/0")
    assert not ok and "is redis-server running?" in detail and "Zq7s3cret" not in detail


@pytest.mark.postgres
@pytest.mark.redis
def test_workshop_preflight_sees_each_learner_and_their_dataset(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    import uuid

    from perflab import dataset
    from perflab.db import make_engine
    from perflab.doctor import workshop_checks
    from workshop import learners

    ready, missing, unbuilt = learners.learner_names(3, f"doc{uuid.uuid4().hex[:6]}_")
    created = learners.create(pg_url, [ready, unbuilt], tmp_path, redis_url)
    try:
        engine = make_engine(learners.learner_url(pg_url, created[0]), schema=ready)  # as the learner
        dataset.build(engine, 0.01, 17, progress=False)
        engine.dispose()
        checks = {name: (ok, detail) for ok, name, detail in
                  workshop_checks(pg_url, [ready, missing, unbuilt], redis_url, scale=0.01, seed=17)}
    finally:
        learners.drop(pg_url, [ready, unbuilt], tmp_path, redis_url)
    assert checks["shared server"][0] and checks["schema creatable"] == (
        True, "the instructor's role can create (and drop) a schema")
    assert checks[f"learner {ready}"] == (True, f"role and schema {ready}, dataset current (scale 0.01)")
    assert not checks[f"learner {missing}"][0] and "workshop setup" in checks[f"learner {missing}"][1]
    assert checks[f"learner {unbuilt}"] == (False, "dataset not built yet — python3 tasks.py workshop setup --build "
                                                   "(or the learner's chapter 00)")
    assert checks["redis"][0] and checks["redis users"] == (
        False, f"no Redis user for {missing} (Redis restarted?) — python3 tasks.py workshop setup --users N --pg URL "
               "--redis URL")
