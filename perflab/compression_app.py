"""The HTTP API of chapter 05: an orders page and some bytes, behind Starlette's ``GZipMiddleware``.

>>> from perflab.servers import serve
>>> with serve("perflab.compression_app:app") as server:  # doctest: +SKIP
...     httpx.get(server.url + "/orders?n=1000", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"]
'gzip'

Routes (the same API twice):

- ``/orders?n=100&first=1``: an orders page as JSON (:func:`perflab.payloads.orders_json`);
- ``/statuses?n=10``: the id and status of the first ``n`` orders, about 30 bytes of JSON each;
- ``/random?size=100000``: random bytes (what encrypted data looks like);
- ``/precompressed?n=1000``: an orders page gzipped beforehand (a ``.gz`` download, a PNG's insides);

under ``/`` with the book's threshold (responses under :data:`THRESHOLD` bytes are sent as they are),
and under ``/always/`` with no threshold, to see what compressing a tiny response costs. Both
compress at gzip level :data:`LEVEL` when the client sends ``Accept-Encoding: gzip``.

The server process reads the course database the notebook uses (the same ``PERFLAB_*`` settings).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from perflab.payloads import orders_json, precompressed, random_bytes, to_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The book's threshold: responses smaller than this are not compressed.
THRESHOLD = 1024
#: The gzip level the middleware uses (the book's, and zlib's default).
LEVEL = 6
#: The largest page or blob the API makes, so a typo cannot ask for gigabytes.
MAX_ORDERS = 20_000
MAX_BYTES = 20_000_000


@functools.cache
def _engine() -> Engine:
    from perflab.db import connect

    return connect()


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high]; anything else is a 400 that says why."""
    raw = request.query_params.get(name, str(default))
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise HTTPException(400, f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


async def orders(request: Request) -> Response:
    n, first = _int(request, "n", 100, 1, MAX_ORDERS), _int(request, "first", 1, 1, 10**9)
    return Response(orders_json(_engine(), n, first), media_type="application/json")


async def statuses(request: Request) -> Response:
    from sqlalchemy import select

    from perflab.schema import Order

    stmt = select(Order.id, Order.status).order_by(Order.id).limit(_int(request, "n", 10, 1, MAX_ORDERS))
    with _engine().connect() as conn:
        rows = [{"id": r.id, "status": r.status} for r in conn.execute(stmt)]
    return Response(to_json(rows), media_type="application/json")


async def random(request: Request) -> Response:
    return Response(random_bytes(_int(request, "size", 100_000, 0, MAX_BYTES)),
                    media_type="application/octet-stream")


async def gzipped(request: Request) -> Response:
    data = precompressed(orders_json(_engine(), _int(request, "n", 1000, 1, MAX_ORDERS)))
    return Response(data, media_type="application/octet-stream")


api = Starlette(routes=[Route("/orders", orders), Route("/statuses", statuses), Route("/random", random),
                        Route("/precompressed", gzipped)])



@contextlib.asynccontextmanager
async def _connect_first(app: Starlette) -> AsyncIterator[None]:
    _engine()  # uvicorn accepts connections only after this: the first request does not pay for connecting
    yield


#: The app uvicorn serves: the API with the book's 1 KB threshold, and under /always/ with none.
app = Starlette(lifespan=_connect_first, routes=[
    Mount("/always", app=GZipMiddleware(api, minimum_size=0, compresslevel=LEVEL)),
    Mount("/", app=GZipMiddleware(api, minimum_size=THRESHOLD, compresslevel=LEVEL)),
])
