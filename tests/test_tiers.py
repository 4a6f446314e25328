from __future__ import annotations

import math

import pytest

from perflab.errors import PerflabError
from perflab.tiers import latency_tier, throughput_tier


@pytest.mark.parametrize(
    ("seconds", "name"),
    [(0.0, "good"), (0.0999, "good"), (0.1, "acceptable"), (0.5, "acceptable"), (0.5001, "poor"), (30, "poor")],
)
def test_latency_tiers_follow_the_book_at_their_edges(seconds: float, name: str) -> None:
    assert latency_tier(seconds).name == name


@pytest.mark.parametrize(
    ("per_second", "name"),
    [(0, "low"), (99.9, "low"), (100, "medium"), (1000, "medium"), (1000.5, "high"), (1e6, "high")],
)
def test_throughput_tiers_follow_the_book_at_their_edges(per_second: float, name: str) -> None:
    assert throughput_tier(per_second).name == name


def test_a_tier_prints_its_name_and_range() -> None:
    assert str(latency_tier(0.2)) == "acceptable (100-500 ms)"
    assert str(throughput_tier(50)) == "low (< 100 requests/s)"


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "fast", None, True])
def test_a_value_that_is_not_a_finite_number_says_so(bad: object) -> None:
    with pytest.raises(PerflabError, match=r"must be a finite number >= 0, got"):
        latency_tier(bad)  # type: ignore[arg-type]
    with pytest.raises(PerflabError, match=r"throughput_tier\(done / seconds\)"):
        throughput_tier(bad)  # type: ignore[arg-type]
