from __future__ import annotations

import pytest

from perflab.config import default_url, parse_scale, parse_schema, parse_seed, settings
from perflab.errors import PerflabError


def test_defaults_point_at_sqlite_in_the_checkout_data_folder() -> None:
    cfg = settings()
    assert cfg.database_url == default_url()
    assert cfg.database_url.startswith("sqlite:///") and cfg.database_url.endswith("data/perflab.sqlite")
    assert (cfg.backend, cfg.scale, cfg.seed, cfg.strict, cfg.schema) == ("sqlite", 1.0, 17, False, None)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("PERFLAB_SCALE", "0.5")
    monkeypatch.setenv("PERFLAB_SEED", "3")
    monkeypatch.setenv("PERFLAB_STRICT", "1")
    monkeypatch.setenv("PERFLAB_SCHEMA", "ann")
    cfg = settings()
    assert (cfg.backend, cfg.scale, cfg.seed, cfg.strict, cfg.schema) == ("postgresql", 0.5, 3, True, "ann")


@pytest.mark.parametrize("value, message", [
    ("-1", "scale must be > 0, got -1"),
    ("0", "scale must be > 0, got 0"),
    ("abc", "scale must be a number, got 'abc'"),
    ("1000", "scale must be <= 50, got 1000"),
    ("nan", "scale must be > 0, got nan"),
])
def test_bad_scale_is_one_clear_line(value: str, message: str) -> None:
    with pytest.raises(PerflabError) as err:
        parse_scale(value)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_bad_seed_and_schema() -> None:
    assert parse_seed("5") == 5
    with pytest.raises(PerflabError, match="seed must be a whole number >= 0, got '1.5'"):
        parse_seed("1.5")
    with pytest.raises(PerflabError, match="PERFLAB_SCHEMA must be"):
        parse_schema('x"; drop table users; --')
    assert parse_schema("") is None

