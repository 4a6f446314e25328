"""Connect to the course database: the right driver, clear errors, the dataset ensured.

>>> import perflab
>>> engine = perflab.connect()            # SQLite under data/, built on first use  # doctest: +SKIP
>>> slow = perflab.connect(latency_ms=1)  # every statement pays a 1 ms simulated round trip  # doctest: +SKIP

``PERFLAB_DATABASE_URL`` picks the database; a plain ``postgresql://user@host/db`` URL works as
written (perflab selects the psycopg 3 driver). ``PERFLAB_SCHEMA`` keeps one learner's tables in
their own PostgreSQL schema, so a class can share one server.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from perflab.config import parse_schema, settings
from perflab.errors import PerflabError
from perflab.urls import hide_secrets, mask_url, parse_url

_BACKENDS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def normalize_url(url: str) -> URL:
    """Parse a database URL and pick perflab's driver for it.

    >>> normalize_url("postgresql://ann@db/shop").drivername
    'postgresql+psycopg'
    """
    try:
        parsed = parse_url(url)
    except ValueError:
        raise PerflabError(
            f"malformed database URL {mask_url(url)!r} — expected e.g. sqlite:///data/perflab.sqlite "
            "or postgresql://user@host:5432/dbname"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in _BACKENDS:
        raise PerflabError(
            f"unsupported database {backend!r} in {mask_url(url)!r} — perflab runs on sqlite or postgresql"
        )
    if backend == "sqlite":
        return parsed
    if driver and driver != "psycopg":
        raise PerflabError(f"perflab talks to PostgreSQL through psycopg 3, got driver {driver!r} — "
                           "write the URL as postgresql://user@host/db")
    return parsed.set(drivername="postgresql+psycopg")


def make_engine(url: str | None = None, *, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: settings), checked to be reachable; builds nothing.

    Parameters: ``url`` (database URL), ``schema`` (PostgreSQL schema for this learner's tables,
    default ``PERFLAB_SCHEMA``), other keywords go to :func:`sqlalchemy.create_engine`.
    """
    cfg = settings()
    parsed = normalize_url(url or cfg.database_url)
    if parsed.get_backend_name() == "postgresql":
        _require_psycopg()
        engine = sa.create_engine(parsed, **kwargs)
        _use_schema(engine, schema or cfg.schema)
    else:
        _check_sqlite_folder(parsed)
        engine = sa.create_engine(parsed, **kwargs)
    _check_reachable(engine)
    return engine


def connect(url: str | None = None, *, scale: float | None = None, seed: int | None = None,
            latency_ms: float = 0.0, ensure: bool = True, progress: bool | None = None,
            schema: str | None = None, **kwargs: Any) -> Engine:
    """A ready engine on the course dataset, building it first only when it is missing or differs.

    >>> engine = connect()  # doctest: +SKIP
    >>> with engine.connect() as conn:  # doctest: +SKIP
    ...     conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
    10000

    Parameters: ``url`` (default ``PERFLAB_DATABASE_URL`` or the SQLite file under ``data/``),
    ``scale`` / ``seed`` (default ``PERFLAB_SCALE`` / ``PERFLAB_SEED``), ``latency_ms`` (a simulated
    network round trip added to every statement, see :mod:`perflab.latency`), ``ensure`` (False:
    do not check or build the dataset), ``progress`` (build progress bar: None auto, False never),
    ``schema`` (PostgreSQL schema, default ``PERFLAB_SCHEMA``).
    """
    from perflab import dataset

    engine = make_engine(url, schema=schema, **kwargs)
    if ensure:
        dataset.ensure(engine, scale, seed, progress=progress)
    if latency_ms:
        from perflab.latency import inject_latency

        inject_latency(engine, latency_ms)
    return engine


def describe(engine: Engine) -> str:
    """The engine's URL with any password masked, for printing.

    >>> describe(sa.create_engine("postgresql+psycopg://ann:s3cret@db/shop"))
    'postgresql+psycopg://ann:***@db/shop'
    """
    return mask_url(engine.url)


def drop_schemas(engine: Engine, schemas: list[str], *, wait: str = "5s") -> list[str]:
    """Drop PostgreSQL ``schemas`` (names the course made: letters, digits and _) on ``engine``'s server; those dropped.

    >>> drop_schemas(perflab.connect(), ["perflab_check_1f2e3d"])  # doctest: +SKIP
    ['perflab_check_1f2e3d']

    A connection left in a transaction on one (a learner's session never closed) would make DROP wait
    for ever: after ``wait`` (a PostgreSQL interval) that schema is left, for ``perflab reset``.
    """
    dropped = []
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        for schema in schemas:
            try:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait}'")
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{parse_schema(schema)}" CASCADE')
                dropped.append(schema)
            except sa.exc.DBAPIError:
                continue
    finally:
        admin.dispose()
    return dropped


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PerflabError(
            "PostgreSQL needs the psycopg driver — pip install 'perflab[postgres]' (or: pip install 'psycopg[binary]')"
        ) from None


def _use_schema(engine: Engine, schema: str | None) -> None:
    """Point every connection's search_path at ``schema``, creating the schema only if it is missing.

    Checking first matters on a shared server: a learner whose schema the instructor made may not
    have the right to run CREATE SCHEMA at all, even with IF NOT EXISTS.
    """
    schema = parse_schema(schema)  # the name goes into SQL text: only letters, digits and _
    if not schema:
        return

    @sa.event.listens_for(engine, "connect")
    def _set_search_path(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi_conn.commit()


def _check_sqlite_folder(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = os.path.dirname(os.path.abspath(database))
    if not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise PerflabError(f"cannot create the data folder {folder} ({exc.strerror}) — "
                               "set PERFLAB_DATABASE_URL=sqlite:////a/writable/folder/perflab.sqlite") from None


def _check_reachable(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    url = engine.url
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        reason = hide_secrets(reason.split("FATAL:")[-1].strip(), url)
        if "password" in reason or "role" in reason:
            hint = f"check the user and password in PERFLAB_DATABASE_URL ({mask_url(url)})"
            message = f"PostgreSQL at {where} refused the login ({reason})"
        elif "does not exist" in reason:
            hint = "create it (createdb NAME) or fix the database name in PERFLAB_DATABASE_URL"
            message = f"PostgreSQL at {where}: {reason}"
        else:
            hint = "is the server running? set PERFLAB_DATABASE_URL, or unset it to use SQLite"
            message = f"cannot reach PostgreSQL at {where} ({_short(reason)})"
        engine.dispose()
        raise PerflabError(f"{message} — {hint}") from None


def _short(reason: str) -> str:
    for key in ("Connection refused", "timeout", "could not translate host name", "No route to host"):
        if key.lower() in reason.lower():
            return key.lower() if key != "Connection refused" else "connection refused"
    return reason
