"""The dashboard of chapter 11 as an HTTP API: the slow version and the fixed one side by side.

>>> from perflab.servers import serve
>>> with serve("perflab.dashboard_app:app", env=app_env(latency_ms=1)) as server:  # doctest: +SKIP
...     httpx.get(f"{server.url}/fast/5074").json()["user"]["id"]
5074

Routes:

- ``GET /slow/{user_id}``: :func:`perflab.dashboard.dashboard` with no fix (the book's "before");
- ``GET /fast/{user_id}``: every fix (:data:`perflab.dashboard.FAST`), recommendations cached in this
  process for five minutes (a ``MemoryLevel``; with several workers each keeps its own).

The server process reads the course database the notebook uses (the same ``PERFLAB_*`` settings) through
an ``AsyncEngine``, with ``PERFLAB_DASHBOARD_LATENCY_MS`` injected per round trip (default 0).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.exc import NoResultFound
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from perflab.cache import MemoryLevel
from perflab.dashboard import FAST, Fixes, dashboard

#: The environment variable that sets the injected latency of the server's database, in milliseconds.
LATENCY_VARIABLE = "PERFLAB_DASHBOARD_LATENCY_MS"
#: Connections the server's pool may open: four parts per page, for several pages at once.
POOL_SIZE = 20

_STATE: dict[str, Any] = {}


def app_env(latency_ms: float = 0.0) -> dict[str, str]:
    """This process's environment, with the server's injected latency set (for ``serve(..., env=...)``).

    >>> app_env(1)[LATENCY_VARIABLE]
    '1'
    """
    return {**os.environ, LATENCY_VARIABLE: f"{latency_ms:g}"}


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    from perflab.asyncdb import async_engine

    latency = float(os.environ.get(LATENCY_VARIABLE, "0") or 0)
    db = async_engine(latency_ms=latency, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=60)
    async with db.connect() as conn:  # connect before the first request, not during it
        await conn.exec_driver_sql("SELECT 1")
    _STATE.update(db=db, cache=MemoryLevel(maxsize=10_000))
    try:
        yield
    finally:
        await db.dispose()
        _STATE.clear()


async def _page(request: Request, fixes: Fixes) -> JSONResponse:
    raw = request.path_params["user_id"]
    if not raw.isdigit():
        return JSONResponse({"error": f"user_id must be a whole number, got {raw!r}"}, status_code=400)
    try:
        page = await dashboard(_STATE["db"], int(raw), fixes, cache=_STATE["cache"])
    except NoResultFound:
        return JSONResponse({"error": f"no user {raw}"}, status_code=404)
    return JSONResponse(page)


async def slow(request: Request) -> JSONResponse:
    """The dashboard with none of the fixes."""
    return await _page(request, Fixes())


async def fast(request: Request) -> JSONResponse:
    """The dashboard with every fix."""
    return await _page(request, FAST)


#: The app uvicorn serves.
app = Starlette(lifespan=_lifespan, routes=[Route("/slow/{user_id}", slow), Route("/fast/{user_id}", fast)])
