"""An ``AsyncEngine`` on the course database: the same data as a sync engine, through an async driver.

>>> import asyncio, sqlalchemy as sa
>>> sync = sa.create_engine("sqlite://")
>>> async def one():
...     engine = async_engine(sync)
...     async with engine.connect() as conn:
...         value = (await conn.exec_driver_sql("SELECT 1")).scalar()
...     await engine.dispose()
...     return value
>>> asyncio.run(one())
1

The driver follows the backend: ``sqlite+aiosqlite`` on SQLite (each connection runs SQLite in a
thread of its own and hands results back to the event loop), ``postgresql+psycopg_async`` on
PostgreSQL (psycopg 3's asyncio mode: a query waits on the socket without blocking the loop).
``PERFLAB_SCHEMA`` is honoured on PostgreSQL, as by :func:`perflab.connect`.

Injected latency (``latency_ms``, or :func:`perflab.inject_latency` later) is awaited on an
AsyncEngine, so ``asyncio.gather`` overlaps the round trips as it would over a network (see
:mod:`perflab.latency`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError
from perflab.latency import engine_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

#: The async driver for each backend perflab runs on.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg_async"}


def async_url(engine: Any) -> Any:
    """The URL of ``engine``'s database with the async driver (password kept: pass it to create_async_engine).

    >>> import sqlalchemy as sa
    >>> async_url(sa.create_engine("postgresql+psycopg://ann@db/shop")).drivername
    'postgresql+psycopg_async'

    Parameters:
        engine: an Engine (or a Connection/Session/AsyncEngine bound to one).
    """
    target = engine_of(engine)
    backend = target.dialect.name
    if backend not in ASYNC_DRIVERS:
        raise PerflabError(f"no async driver for {backend!r} — perflab runs on {' or '.join(ASYNC_DRIVERS)}")
    return target.url.set(drivername=ASYNC_DRIVERS[backend])


def async_engine(engine: Any = None, *, latency_ms: float = 0.0, **kwargs: Any) -> AsyncEngine:
    """An AsyncEngine on the same database as ``engine`` (default: :func:`perflab.connect`'s).

    >>> import sqlalchemy as sa
    >>> async_engine(sa.create_engine("sqlite://")).dialect.driver
    'aiosqlite'

    Dispose of it when done (``await engine.dispose()``): its pool holds open connections.

    Parameters:
        engine: the sync engine whose database to use; None connects with the course settings
            (building the dataset if needed).
        latency_ms: a simulated round trip, awaited before every statement, BEGIN and ROLLBACK.
        kwargs: passed to :func:`sqlalchemy.ext.asyncio.create_async_engine` (e.g. ``pool_size``,
            ``max_overflow``, ``pool_timeout``).
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    if engine is None:
        from perflab.db import connect

        engine = connect()
    sync = engine_of(engine)
    url = async_url(sync)
    if sync.dialect.name == "postgresql":
        schema = _search_path(sync)
        if schema:
            options = kwargs.setdefault("connect_args", {})
            options.setdefault("options", f"-c search_path={schema}")
    try:
        created = create_async_engine(url, **kwargs)
    except ImportError as exc:  # pragma: no cover - aiosqlite / greenlet are dependencies
        raise PerflabError(f"the async driver is missing ({exc}) — pip install aiosqlite greenlet") from None
    if latency_ms:
        from perflab.latency import inject_latency

        inject_latency(created, latency_ms)
    return created


def _search_path(engine: Any) -> str | None:
    """The schema a sync PostgreSQL engine's connections use (its first search_path entry)."""
    with engine.connect() as conn:
        path = conn.exec_driver_sql("SELECT current_schema()").scalar()
    return str(path) if path and path != "public" else None
