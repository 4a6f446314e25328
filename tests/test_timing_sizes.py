"""Timing across sizes (perflab.timing.sizes), on a fake clock: an estimate from two sizes, a sweep, crossovers."""

from __future__ import annotations

from typing import Any

import matplotlib
import pandas as pd
import pytest
from conftest import FakeClock

from perflab.errors import PerflabError
from perflab.timing.sizes import Sweep, extrapolate, sweep

matplotlib.use("Agg")


def per_row(clock: FakeClock, fixed: float, each: float) -> Any:
    """A function of rows costing ``fixed`` seconds a call plus ``each`` per row, in fake time."""

    def work(rows: Any) -> None:
        clock.advance(fixed + each * len(rows))

    return work


@pytest.mark.parametrize("rows", [list(range(50_000)), pd.DataFrame({"x": range(50_000)})], ids=["list", "frame"])
def test_a_fixed_cost_is_counted_once_not_scaled(rows: Any) -> None:
    clock = FakeClock()
    estimate = extrapolate(per_row(clock, fixed=0.01, each=1e-5), rows, clock=clock)
    assert estimate.median == pytest.approx(0.01 + 1e-5 * 50_000)  # 0.51 s; scaling 1,000 rows by 50 says 1.0 s
    assert estimate.runs >= 3 and estimate.name == "work (from 1,000 and 5,000 rows)"


def test_sizes_must_grow_within_the_rows() -> None:
    for sizes in [(5_000, 1_000), (0, 10), (1_000, 60_000)]:
        with pytest.raises(PerflabError, match="two growing sizes up to the 50,000 rows"):
            extrapolate(len, list(range(50_000)), sizes)


def test_a_sweep_times_each_way_at_each_size_and_finds_the_crossover() -> None:
    clock = FakeClock()

    def ways_at(n: int) -> dict[str, Any]:
        return {"python": lambda: clock.advance(1e-7 * n), "numpy": lambda: clock.advance(2e-6 + 1e-9 * n)}

    found = sweep(ways_at, [1, 10, 100, 1_000], clock=clock)
    assert found.sizes == (1, 10, 100, 1_000)
    assert found.seconds["python"] == pytest.approx((1e-7, 1e-6, 1e-5, 1e-4))
    assert found.crossover("numpy", "python") == 100 and found.crossover("python", "numpy") == 1
    assert Sweep((1, 2), {"a": (1.0, 1.0), "b": (2.0, 2.0)}).crossover("b", "a") is None


def test_a_crossover_of_an_unknown_name_says_which_exist() -> None:
    with pytest.raises(PerflabError, match=r"no function named 'pandas' in this sweep; use one of \['a'\]"):
        Sweep((1,), {"a": (1.0,)}).crossover("pandas", "a")


def test_the_plot_has_a_line_per_way_on_log_axes() -> None:
    ax = Sweep((1, 10), {"a": (1e-6, 2e-6), "b": (3e-6, 3e-6)}).plot(title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_title() == "t"
