"""The recommendation service, for real under uvicorn: delayed answers, a 503 on demand, the peak of concurrency."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from perflab.recommender import recommended_products
from perflab.servers import serve


@pytest.fixture(scope="module")
def url() -> str:
    with serve("perflab.recommender:app") as service:
        yield service.url


def test_it_answers_three_products(url: str) -> None:
    response = httpx.get(f"{url}/recommendations/7", params={"ms": 1})
    assert response.status_code == 200 and response.json() == {"user_id": 7, "products": recommended_products(7)}


def test_it_fails_on_demand_and_rejects_bad_input(url: str) -> None:
    assert httpx.get(f"{url}/recommendations/7", params={"ms": 1, "fail": 1}).status_code == 503
    assert httpx.get(f"{url}/recommendations/x").status_code == 400
    assert httpx.get(f"{url}/recommendations/7", params={"ms": -1}).status_code == 400


def test_it_reports_the_peak_of_requests_in_flight(url: str) -> None:
    async def five_then_peak() -> int:
        async with httpx.AsyncClient(base_url=url) as client:
            await client.get("/peak")
            await asyncio.gather(*(client.get(f"/recommendations/{u}", params={"ms": 200}) for u in range(5)))
            return int((await client.get("/peak")).json()["peak"])

    assert asyncio.run(five_then_peak()) == 5
