"""Checks for ``perflab doctor``: everything the course needs, each OK or with its fix.

>>> from perflab.doctor import run_checks
>>> all(len(line) == 3 for line in run_checks())  # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib.metadata
import re
import sys

from perflab.errors import PerflabError

Check = tuple[bool, str, str]
INSTALL = "run the README's first command (it installs everything into .venv)"
OPEN_COURSE = "python3 tasks.py course"  #: the README's command that opens the course


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def python_check() -> Check:
    v = sys.version_info
    ok = v >= (3, 10)
    return ok, "python", f"{v.major}.{v.minor}.{v.micro}" + ("" if ok else " — perflab needs Python >= 3.10")


def required_packages(dist: str = "perflab") -> list[str]:
    """The names of the packages ``dist`` requires, read from its installed metadata (extras left out).

    >>> "SQLAlchemy" in required_packages()
    True

    Parameters:
        dist: the installed distribution whose requirements are read. Raises ``PackageNotFoundError``.
    """
    names = []
    for requirement in importlib.metadata.requires(dist) or []:
        if "extra" in requirement.partition(";")[2]:
            continue  # optional: postgres, redis, test, dev
        names.append(re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0])
    return names


def package_checks() -> list[Check]:
    try:
        names = required_packages()
    except importlib.metadata.PackageNotFoundError:
        return [(False, "packages", f"perflab is not installed, so its requirements are unknown — {INSTALL}")]
    found = [(name, _version(name)) for name in names]
    missing = [name for name, v in found if v is None]
    if missing:
        return [(False, "packages", f"missing {', '.join(missing)} — {INSTALL}")]
    return [(True, "packages", ", ".join(f"{n} {v}" for n, v in found))]


def jupyter_checks() -> list[Check]:
    lab, widgets, kernel = _version("jupyterlab"), _version("jupyterlab_widgets"), _version("ipykernel")
    return [
        (lab is not None, "jupyterlab", lab or f"not installed — {INSTALL}"),
        (widgets is not None, "widget extension",
         f"jupyterlab_widgets {widgets}" if widgets else "jupyterlab_widgets missing: sliders will not show — "
         "pip install jupyterlab_widgets"),
        (kernel is not None, "python kernel", f"ipykernel {kernel}" if kernel else f"ipykernel missing — {INSTALL}"),
    ]


def database_checks(url: str | None = None) -> list[Check]:
    from perflab import dataset
    from perflab.config import settings
    from perflab.db import describe, make_engine

    try:
        cfg = settings()
        engine = make_engine(url)
    except PerflabError as exc:
        return [(False, "database", str(exc))]
    checks: list[Check] = [(True, "database", f"{engine.dialect.name} at {describe(engine)}")]
    reason = dataset.stale_reason(engine, cfg.scale, cfg.seed)
    if reason is None:
        meta = dataset.recorded(engine) or {}
        checks.append((True, "dataset", f"current: {meta.get('fingerprint')} (scale {cfg.scale:g})"))
    elif reason == "not built yet":
        checks.append((False, "dataset", "not built yet — perflab build (or just open a notebook)"))
    else:
        checks.append((False, "dataset", f"{reason} — perflab build"))
    engine.dispose()
    return checks


def redis_checks() -> list[Check]:
    from perflab.config import settings
    from perflab.urls import hide_secrets, mask_url

    url = settings().redis_url
    if not url:
        return [(True, "redis", "not configured: the caching chapter uses an in-process cache")]
    try:
        import redis
    except ImportError:
        return [(False, "redis", "PERFLAB_REDIS_URL is set but the client is missing — pip install 'perflab[redis]'")]
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        reason = hide_secrets(str(exc), url)
        return [(False, "redis", f"cannot reach {mask_url(url)} ({reason}) — is redis-server running? "
                 "or unset PERFLAB_REDIS_URL")]
    return [(True, "redis", f"reachable at {mask_url(url)}")]


def run_checks(url: str | None = None) -> list[Check]:
    """All checks in order: Python, packages, Jupyter, database and dataset, Redis."""
    return [python_check(), *package_checks(), *jupyter_checks(), *database_checks(url), *redis_checks()]
