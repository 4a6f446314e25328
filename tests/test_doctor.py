from __future__ import annotations

from pathlib import Path

import pytest

from perflab.doctor import database_checks, redis_checks, run_checks


def test_all_checks_ok_on_a_built_dataset(sqlite_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_SCALE", "0.02")
    checks = run_checks(f"sqlite:///{sqlite_path}")
    assert all(ok for ok, _, _ in checks), [c for c in checks if not c[0]]


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
