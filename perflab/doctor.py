"""Checks for ``perflab doctor``: everything the course needs, each OK or with its fix.

>>> from perflab.doctor import run_checks
>>> all(len(line) == 3 for line in run_checks())  # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from collections.abc import Sequence
from typing import Any

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


def check_line(check: Check) -> str:
    """One check as ``perflab doctor`` prints it: OK or FIX, its name, what was found or the fix.

    >>> check_line((False, "redis", "cannot reach it"))
    'FIX  redis                 cannot reach it'
    """
    ok, name, detail = check
    return f"{'OK ' if ok else 'FIX'}  {name:<22}{detail}"


def summary(url: str | None = None, *, short_paths: bool = False) -> str:
    """The checks of ``perflab doctor`` (:func:`run_checks`), one line each, as a terminal shows them.

    >>> print(summary(short_paths=True))  # doctest: +SKIP
    OK   python                3.11.7
    ...
    OK   database              sqlite at sqlite:///../data/perflab.sqlite

    Parameters:
        url: the database (default: ``PERFLAB_DATABASE_URL`` or the SQLite file in ``data/``).
        short_paths: show the data folder relative to the current directory (e.g. ``../data`` from a
            notebook), so a saved notebook does not show the folders of the machine that ran it.
    """
    text = "\n".join(check_line(check) for check in run_checks(url))
    return _relative_data_dir(text) if short_paths else text


def _relative_data_dir(text: str) -> str:
    import os

    from perflab.config import data_dir

    folder = str(data_dir())
    relative = os.path.relpath(folder)
    if relative.startswith(os.pardir + os.sep + os.pardir):  # far from here (a cache folder): home as ~
        relative = folder.replace(os.path.expanduser("~"), "~", 1)
    return text.replace(folder, relative)


#: Connections one learner holds at the peak of a chapter (02, 04, 10; measured: workshop/README.md, Sizing).
CONNECTIONS_PER_LEARNER = 7


def workshop_checks(server_url: str, learners: Sequence[str], redis_url: str | None = None,
                    scale: float | None = None, seed: int | None = None) -> list[Check]:
    """Pre-flight of a workshop hub: the shared server, a schema it can create, each learner, Redis.

    >>> workshop_checks("postgresql://postgres@127.0.0.1:1/perflab", ["ann"])[0][:2]
    (False, 'shared server')

    Parameters:
        server_url: the shared PostgreSQL database, as the instructor's role (it reads every learner's schema).
        learners: the learners' names: each is a role owning the schema of that name.
        redis_url: the shared Redis, or None when the caching chapter uses in-process caches.
        scale, seed: the dataset every learner should have (default: PERFLAB_SCALE, PERFLAB_SEED).
    """
    from perflab.config import settings
    from perflab.db import describe, make_engine

    cfg = settings()
    scale, seed = scale or cfg.scale, cfg.seed if seed is None else seed
    try:
        engine = make_engine(server_url, schema=None)
    except PerflabError as exc:
        return [(False, "shared server", str(exc)), *_workshop_redis(redis_url, learners)]
    try:
        checks = [_server_capacity(engine, describe(engine), len(learners)), _schema_creatable(engine)]
        checks += [_learner_check(engine, name, scale, seed) for name in learners]
    finally:
        engine.dispose()
    return checks + _workshop_redis(redis_url, learners)


def _server_capacity(engine: Any, shown: str, learners: int) -> Check:
    import sqlalchemy as sa

    with engine.connect() as conn:
        limit = int(conn.execute(sa.text("SHOW max_connections")).scalar_one())
        used = int(conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    need = learners * CONNECTIONS_PER_LEARNER
    detail = f"{shown}: {used} of {limit} connections in use; {learners} learners need about {need}"
    if used + need > limit:
        return False, "shared server", f"{detail} — raise max_connections to {used + need + 10} and restart PostgreSQL"
    return True, "shared server", detail


def _schema_creatable(engine: Any) -> Check:
    import secrets

    import sqlalchemy as sa

    scratch = f"perflab_doctor_{secrets.token_hex(4)}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{scratch}"'))  # a name made here: letters, digits and _
            conn.execute(sa.text(f'DROP SCHEMA "{scratch}"'))
    except sa.exc.DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return False, "schema creatable", f"{first} — connect as a role that may CREATE SCHEMA and CREATE ROLE"
    return True, "schema creatable", "the instructor's role can create (and drop) a schema"


def _learner_check(engine: Any, name: str, scale: float, seed: int) -> Check:
    import sqlalchemy as sa

    from perflab import dataset

    label = f"learner {name}"
    with engine.connect() as conn:
        owner = conn.execute(sa.text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :n"),
                             {"n": name}).scalar()
        login = conn.execute(sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()
    if not login or owner != name:
        return False, label, "no login role owning a schema of that name — python3 tasks.py workshop setup"
    with engine.connect() as conn:
        conn.execute(sa.text(f'SET search_path TO "{name}"'))  # checked above: the schema exists
        reason = dataset.stale_reason(conn, scale, seed)
    if reason is not None:
        return False, label, f"dataset {reason} — python3 tasks.py workshop setup --build (or the learner's chapter 00)"
    return True, label, f"role and schema {name}, dataset current (scale {scale:g})"


def _workshop_redis(url: str | None, learners: Sequence[str] = ()) -> list[Check]:
    if not url:
        return [(True, "redis", "not configured: each kernel caches in process (chapter 10 says so)")]
    from perflab.urls import hide_secrets, mask_url

    try:
        import redis
    except ImportError:
        return [(False, "redis", "a Redis URL is set but the client is missing — pip install 'perflab[redis]'")]
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        used = client.info("memory")["used_memory_human"]
        missing = [name for name in learners if not client.acl_getuser(name)]
    except redis.RedisError as exc:
        return [(False, "redis", f"cannot reach {mask_url(url)} ({hide_secrets(str(exc), url)}) — "
                 "is redis-server running?")]
    checks: list[Check] = [(True, "redis", f"reachable at {mask_url(url)}, {used} in use")]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        checks.append((False, "redis users", f"no Redis user for {shown} (Redis restarted?) — "
                       "python3 tasks.py workshop setup --users N --pg URL --redis URL"))
    elif learners:
        checks.append((True, "redis users", f"one per learner ({len(learners)}), keys under perflab:<name>: only"))
    return checks
