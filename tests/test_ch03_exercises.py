"""Chapter 03 exercise: the reference passes, the starter fails with a hint; costs are measured, not modelled.

A clock that counts executed Python lines stands in for time (no timing asserts); on the small test dataset
the ratios are smaller than at scale 1, hence a tolerance of 2x here instead of the check's 3x.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import LineClock, notebook_starters
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.exercises import CheckResult, check
from perflab.exercises.ch03 import (
    PATTERNS,
    STRATEGIES,
    heaviest_customers,
    measure_pattern,
    pick_strategy_reference,
    strategy_costs,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-lazy-vs-eager.ipynb"


def pick(fn: Callable[..., Any], engine: Engine) -> CheckResult:
    with LineClock() as clock:
        return check("03-pick-strategy", fn, engine=engine, runs=1, clock=clock, tolerance=2.0)


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert "hint" in str(result) and result.details["hint"]
    assert "table" not in result.details and "costs" not in result.details  # they would name the cheapest options
    assert "\n" not in result.message
    for fragment in fragments:
        assert fragment in result.message, result.message


def test_the_solution_passes(sqlite_engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = pick(solution.pick_strategy, sqlite_engine)
    assert result.ok, result.message
    assert "all 3 picks are the cheapest option or within 2x of it" in result.message
    assert result.details["picks"] == {p: pick_strategy_reference(p) for p in PATTERNS}


def test_the_notebook_starter_fails_with_a_hint(sqlite_engine: Engine) -> None:
    found = notebook_starters(NOTEBOOK)
    assert set(found) == {"pick_strategy"}
    result = pick(found["pick_strategy"], sqlite_engine)
    assert_failed_with_hint(result, "1 of 3 picks cost more than 2x the cheapest", "profile: joined", "vs the cheapest",
                            "hint: profile: does this page read user.orders at all?")


def test_all_lazy_fails_on_the_eager_patterns(sqlite_engine: Engine) -> None:
    result = pick(lambda pattern: "lazy", sqlite_engine)
    assert_failed_with_hint(result, "order-list: lazy", "heavy-customers: lazy", "count the statements")


def test_a_strategy_that_is_not_an_option_fails(sqlite_engine: Engine) -> None:
    assert_failed_with_hint(check("03-pick-strategy", lambda pattern: "eager", engine=sqlite_engine),
                            "returned 'eager'", "'selectin'")
    assert_failed_with_hint(check("03-pick-strategy", lambda pattern: {}[pattern], engine=sqlite_engine),
                            "raised KeyError")


def test_costs_are_counted(sqlite_engine: Engine) -> None:
    costs = {(c.pattern, c.strategy): c for c in strategy_costs(sqlite_engine)}
    assert set(costs) == {(p, s) for p in PATTERNS for s in STRATEGIES}
    assert costs["profile", "lazy"].statements == 1 and costs["profile", "lazy"].rows == 1
    assert costs["order-list", "joined"].statements == 1 and costs["order-list", "joined"].rows == 200
    assert costs["order-list", "lazy"].statements > 50  # one per distinct customer
    heavy = {s: costs["heavy-customers", s] for s in STRATEGIES}
    assert heavy["joined"].statements == 1 and heavy["subquery"].statements == 3
    assert heavy["joined"].values > 2 * heavy["selectin"].values  # the JOIN repeats user and order columns
    assert all(c.model_ms == c.seconds * 1000 + c.statements for c in costs.values())


def test_measure_pattern_rejects_unknown_names(sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="unknown access pattern 'home'"):
        measure_pattern(sqlite_engine, "home", "lazy")
    with pytest.raises(PerflabError, match="unknown strategy 'eager'"):
        measure_pattern(sqlite_engine, "profile", "eager")


def test_heaviest_customers_are_ordered_by_order_count(sqlite_engine: Engine) -> None:
    ids = heaviest_customers(sqlite_engine, 3)
    with sqlite_engine.connect() as conn:
        counts = [conn.execute(sa.text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": u}).scalar()
                  for u in ids]
    assert len(ids) == 3 and counts == sorted(counts, reverse=True)


def test_heaviest_customers_needs_orders(empty_sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="orders table is empty"):
        heaviest_customers(empty_sqlite_engine)


@pytest.mark.postgres
def test_pick_strategy_on_postgres(pg_dataset_engine: Engine) -> None:
    assert pick(pick_strategy_reference, pg_dataset_engine).ok
    starter = notebook_starters(NOTEBOOK)["pick_strategy"]
    assert_failed_with_hint(pick(starter, pg_dataset_engine), "profile: joined")
