"""A small "recommendation service": an ASGI app (Starlette) that answers after a delay, for chapter 04.

>>> from perflab.servers import serve
>>> import httpx
>>> with serve("perflab.recommender:app") as service:
...     httpx.get(f"{service.url}/recommendations/7", params={"ms": 5}).json()["products"]
[7, 14, 21]

Routes:

- ``GET /recommendations/{user_id}?ms=200&fail=0``: waits ``ms`` milliseconds (``asyncio.sleep``:
  the service handles other requests meanwhile, as a model server waiting on its GPU would), then
  answers three product ids; ``fail=1`` answers ``503 Service Unavailable`` after the wait instead.
- ``GET /peak``: the most requests that were in progress at the same time since the last ``/peak``
  (then starts counting again) — how a client's concurrency limit shows up on the server.

Serve it with :func:`perflab.servers.serve` (a process of its own, on 127.0.0.1).
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

#: The longest delay a request may ask for, in milliseconds.
MAX_MS = 10_000.0


class _InFlight:
    """Requests in progress now, and the most at once since the last reading."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1

    def read_peak(self) -> int:
        peak, self.peak = self.peak, self.now
        return peak


IN_FLIGHT = _InFlight()


def recommended_products(user_id: int) -> list[int]:
    """The three product ids the service recommends to ``user_id`` (a fixed rule, so answers can be checked).

    >>> recommended_products(7)
    [7, 14, 21]
    """
    return [(user_id * k - 1) % 2000 + 1 for k in (1, 2, 3)]


async def recommendations(request: Request) -> JSONResponse:
    try:
        user_id = int(request.path_params["user_id"])
        ms = float(request.query_params.get("ms", "200"))
    except ValueError:
        return JSONResponse({"error": "user_id must be a whole number and ms a number"}, status_code=400)
    if not 0 <= ms <= MAX_MS:
        return JSONResponse({"error": f"ms must be from 0 to {MAX_MS:g}, got {ms:g}"}, status_code=400)
    IN_FLIGHT.enter()
    try:
        await asyncio.sleep(ms / 1000.0)
    finally:
        IN_FLIGHT.leave()
    if request.query_params.get("fail") == "1":
        return JSONResponse({"error": "the recommendation model is unavailable"}, status_code=503)
    return JSONResponse({"user_id": user_id, "products": recommended_products(user_id)})


async def peak(request: Request) -> JSONResponse:
    return JSONResponse({"peak": IN_FLIGHT.read_peak()})


app = Starlette(routes=[
    Route("/recommendations/{user_id}", recommendations),
    Route("/peak", peak),
])
