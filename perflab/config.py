"""Settings from the environment, with the SQLite file in the checkout's ``data/`` as the default.

>>> from perflab.config import settings
>>> settings().backend in {"sqlite", "postgresql"}
True

Variables (all optional):

- ``PERFLAB_DATABASE_URL``: where the dataset lives (default: SQLite under ``data/``).
- ``PERFLAB_SCALE``: dataset size, 1.0 by default (0.01 for tests, 5 for PostgreSQL experiments).
- ``PERFLAB_SEED``: random seed of the dataset, 17 by default.
- ``PERFLAB_REDIS_URL``: a Redis server for the caching chapters (default: in-process cache).
- ``PERFLAB_SCHEMA``: PostgreSQL schema holding this learner's tables (shared servers).
- ``PERFLAB_POSTGRES_URL``: a PostgreSQL server to compare against; chapters then show SQLite and
  PostgreSQL side by side (when ``PERFLAB_DATABASE_URL`` already is PostgreSQL, that one is used).
- ``PERFLAB_STRICT``: ``1`` makes a ``verdict`` below its floor raise (CI sets it).
- ``PERFLAB_VERDICTS``: the file every ``verdict`` is appended to (default: ``verdicts.jsonl`` beside
  the SQLite file in ``data/``); chapter 12 and ``perflab report`` read it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError

DEFAULT_SCALE = 1.0
DEFAULT_SEED = 17
MAX_SCALE = 50.0
SQLITE_FILENAME = "perflab.sqlite"
VERDICTS_FILENAME = "verdicts.jsonl"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def data_dir() -> Path:
    """The folder for the default SQLite file: ``data/`` in a checkout, else a user cache folder."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data").is_dir():
        return checkout / "data"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perflab"


def default_url() -> str:
    """The SQLite URL used when ``PERFLAB_DATABASE_URL`` is not set."""
    return f"sqlite:///{data_dir() / SQLITE_FILENAME}"


def parse_scale(value: object) -> float:
    """Check a dataset scale: a number > 0 and <= MAX_SCALE.

    >>> parse_scale("0.5")
    0.5
    """
    try:
        scale = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PerflabError(f"scale must be a number, got {value!r} (e.g. 1 or 0.1)") from None
    if not scale > 0:
        raise PerflabError(f"scale must be > 0, got {value}")
    if scale > MAX_SCALE:
        raise PerflabError(
            f"scale must be <= {MAX_SCALE:g}, got {value} "
            f"(scale 1 is about 350k rows; {MAX_SCALE:g} is already ~17M rows)"
        )
    return scale


def parse_seed(value: object) -> int:
    """Check a seed: a whole number >= 0."""
    try:
        seed = int(str(value))
    except ValueError:
        raise PerflabError(f"seed must be a whole number >= 0, got {value!r}") from None
    if seed < 0:
        raise PerflabError(f"seed must be a whole number >= 0, got {value}")
    return seed


def parse_schema(value: str | None) -> str | None:
    """Check a PostgreSQL schema name (lower-case letters, digits, underscore)."""
    if not value:
        return None
    if not _SCHEMA_NAME.match(value):
        raise PerflabError(
            f"PERFLAB_SCHEMA must be lower-case letters, digits and _ (starting with a letter), got {value!r}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """What perflab reads from the environment, already checked."""

    database_url: str
    scale: float
    seed: int
    redis_url: str | None
    schema: str | None
    strict: bool
    postgres_url: str | None = None
    verdicts_file: Path = Path(VERDICTS_FILENAME)

    @property
    def backend(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]

    @property
    def compare_url(self) -> str | None:
        """The PostgreSQL URL for side-by-side comparisons, or None when there is none."""
        return self.database_url if self.backend.startswith("postgres") else self.postgres_url


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def settings() -> Settings:
    """Read and check the ``PERFLAB_*`` environment variables."""
    env = os.environ
    return Settings(
        database_url=env.get("PERFLAB_DATABASE_URL") or default_url(),
        scale=parse_scale(env.get("PERFLAB_SCALE") or DEFAULT_SCALE),
        seed=parse_seed(env.get("PERFLAB_SEED") or DEFAULT_SEED),
        redis_url=env.get("PERFLAB_REDIS_URL") or None,
        schema=parse_schema(env.get("PERFLAB_SCHEMA")),
        strict=_truthy(env.get("PERFLAB_STRICT")),
        postgres_url=env.get("PERFLAB_POSTGRES_URL") or None,
        verdicts_file=Path(env.get("PERFLAB_VERDICTS") or data_dir() / VERDICTS_FILENAME).expanduser(),
    )

