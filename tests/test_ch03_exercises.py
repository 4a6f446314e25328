"""Chapter 03 exercise: the solution and correct alternatives pass, the starter and cheats fail with a hint; costs
are measured, not modelled (SQLite and PostgreSQL).

A clock that counts the Python lines each timed run executes stands in for time (no timing asserts): it traces
only between its two calls around a run, so counting what each option sends runs at full speed. On the small
test dataset the ratios are smaller than at scale 1, hence a tolerance of 2x here instead of the check's 3x.
The check measures only on the course's dataset: the tests configure the test dataset's scale as the course's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alternatives import ch03 as alternatives
from cheats import ch03 as cheats
from conftest import TEST_SCALE, TEST_SEED, LineClock, assert_failed_with_hint, notebook_starters
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.exercises import CheckResult, check
from perflab.exercises.ch03 import (
    PATTERNS,
    STRATEGIES,
    heaviest_customers,
    measure_pattern,
    pick_strategy_reference,
    regular_customers,
    strategy_costs,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-lazy-vs-eager.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _test_dataset_is_the_courses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_SCALE", str(TEST_SCALE))
    monkeypatch.setenv("PERFLAB_SEED", str(TEST_SEED))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


class RunLines(LineClock):
    """A LineClock that counts only from one call to the next: the check calls it before and after each timed run,
    so it traces the runs and nothing else."""

    running = False

    def __call__(self) -> float:
        self.running = not self.running
        sys.settrace(self._trace if self.running else None)
        return float(self.lines)


@contextmanager
def run_lines() -> Iterator[RunLines]:
    clock = RunLines()
    try:
        yield clock
    finally:
        sys.settrace(None)


def pick(fn: Callable[..., Any], /, *, engine: Engine, **kwargs: Any) -> CheckResult:
    """The check, timed by executed lines, one run, 2x tolerance (keywords given win)."""
    with run_lines() as clock:
        kwargs = {"runs": 1, "clock": clock, "tolerance": 2.0, **kwargs}
        return check("03-pick-strategy", fn, engine=engine, **kwargs)


def assert_fails_without_the_answer(result: CheckResult, *fragments: str) -> None:
    assert_failed_with_hint(result, *fragments)
    assert "table" not in result.details and "costs" not in result.details  # they would name the cheapest options
    assert "\n" not in result.message


def name(fn: Any) -> str:
    return str(fn.__name__)


def test_the_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = pick(solution.pick_strategy, engine=engine)
    assert result.ok, result.message
    assert "all 3 picks are the cheapest option or within 2x of it" in result.message
    assert result.details["picks"] == {p: pick_strategy_reference(p) for p in PATTERNS}
    assert set(result.details["table"]["strategy"]) == set(STRATEGIES)


@pytest.mark.parametrize("fn", alternatives.PICKS, ids=name)
def test_correct_alternatives_pass(sqlite_engine: Engine, fn: Callable[[str], str]) -> None:
    result = pick(fn, engine=sqlite_engine)
    assert result.ok, result.message


def test_measuring_before_picking_passes_and_says_so(sqlite_engine: Engine) -> None:
    result = pick(alternatives.measuring(sqlite_engine), engine=sqlite_engine)
    assert result.ok, result.message
    assert "SQL statements to decide" in result.message


def test_the_starter_fails_without_telling_which_picks_are_right(engine: Engine) -> None:
    found = notebook_starters(NOTEBOOK)
    assert set(found) == {"pick_strategy"}
    starter = found["pick_strategy"]
    assert all(starter(p) != pick_strategy_reference(p) for p in PATTERNS)  # no pick of the starter is right
    result = pick(starter, engine=engine)
    assert_fails_without_the_answer(result, "3 of 3 picks cost over 2x the cheapest option",
                                    "top-customers: joined ≈", "rows sent, the page reads 5",
                                    "order-list: lazy ≈", "statements for one page")
    hint = result.details["hint"]
    assert not any(s in hint for s in STRATEGIES)  # the symptoms, not the fix


def test_each_wrong_pick_gets_its_own_symptom(sqlite_engine: Engine) -> None:
    lazy_lists = pick(lambda p: "lazy", engine=sqlite_engine)
    assert_fails_without_the_answer(lazy_lists, "2 of 3 picks", "order-list: lazy", "regulars: lazy",
                                    "hint: order-list: ", "statements for one page; regulars: ")
    eager_header = pick(lambda p: "subquery", engine=sqlite_engine)
    assert_fails_without_the_answer(eager_header, "1 of 3 picks", "top-customers: subquery",
                                    "hint: top-customers: ", "rows sent, the page reads 5")


@pytest.mark.parametrize(("cheat", "fragments"), cheats.CHEATS, ids=[name(c) for c, _ in cheats.CHEATS])
def test_cheats_fail(sqlite_engine: Engine, cheat: Callable[..., CheckResult], fragments: tuple[str, ...]) -> None:
    from perflab.exercises import ch03
    from perflab.latency import current_latency

    options, patterns = ch03._options, dict(ch03.PATTERNS)
    assert_fails_without_the_answer(cheat(sqlite_engine, pick), *fragments)
    assert ch03._options is options and ch03.PATTERNS == patterns and current_latency(sqlite_engine) == 0  # undone


def test_a_dataset_other_than_the_courses_is_refused(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERFLAB_SCALE")  # the course runs at scale 1; the test engine holds a small dataset
    result = pick(cheats.wrong_picks, engine=sqlite_engine)
    assert_fails_without_the_answer(result, "not the course's dataset (scale 1, seed 17)", "built for scale 0.02",
                                    "hint: pass the course's engine")


def test_a_pick_that_looks_dear_once_is_timed_again(sqlite_engine: Engine) -> None:
    """The first timed run (top-customers, lazy: the reference's pick) is disturbed; timed again, it passes."""
    with run_lines() as lines:
        calls = 0

        def disturbed() -> float:
            nonlocal calls
            calls += 1
            return lines() + (1e6 if calls == 2 else 0)

        result = check("03-pick-strategy", alternatives.by_match, engine=sqlite_engine, runs=1, clock=disturbed,
                       tolerance=2.0)
    assert result.ok, result.message
    assert len(result.details["costs"]["top-customers", "lazy"].times_ms) == 2  # one run, and one more


@pytest.mark.parametrize(("answer", "fragments"), [
    ("eager", ("returned 'eager', not one of 'lazy'", "hint: return the name of a strategy as a string")),
    ("noload", ("returned 'noload': 'noload' never loads the related rows", "'selectinload'")),
    (42, ("returned 42, not one of",)),
])
def test_an_answer_that_is_not_a_strategy_fails(sqlite_engine: Engine, answer: Any, fragments: tuple[str, ...]) -> None:
    assert_fails_without_the_answer(check("03-pick-strategy", lambda pattern: answer, engine=sqlite_engine),
                                    *fragments)
    assert_fails_without_the_answer(check("03-pick-strategy", lambda pattern: {}[pattern], engine=sqlite_engine),
                                    "raised KeyError")


def test_costs_are_counted(sqlite_engine: Engine) -> None:
    costs = strategy_costs(sqlite_engine, runs=1)
    assert set(costs) == {(p, s) for p in PATTERNS for s in STRATEGIES}
    assert costs["top-customers", "lazy"].statements == 1 and costs["top-customers", "lazy"].rows == 5
    assert costs["order-list", "joined"].statements == 1 and costs["order-list", "joined"].rows == 200
    assert costs["order-list", "lazy"].statements > 50  # one per distinct customer
    regulars = {s: costs["regulars", s] for s in STRATEGIES}
    assert regulars["joined"].statements == 1 and regulars["selectin"].statements == 4
    assert regulars["joined"].rows > 5 * regulars["selectin"].rows  # items × reviews per user
    assert regulars["selectin"].rows == regulars["lazy"].rows  # the rows the page reads, no more
    # one session per page: a BEGIN and a ROLLBACK around its statements, each priced as a round trip
    assert all(c.round_trips == c.statements + 2 for c in costs.values())
    assert all(c.price_ms == pytest.approx(c.best_ms + c.round_trips) for c in costs.values())


def test_measure_pattern_rejects_unknown_names(sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="unknown access pattern 'home'"):
        measure_pattern(sqlite_engine, "home", "lazy")
    with pytest.raises(PerflabError, match="unknown strategy 'eager'"):
        measure_pattern(sqlite_engine, "order-list", "eager")


def order_counts(engine: Engine, ids: list[int]) -> list[int]:
    with engine.connect() as conn:
        return [conn.execute(sa.text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": u}).scalar_one()
                for u in ids]


def test_the_pages_users(sqlite_engine: Engine) -> None:
    top = order_counts(sqlite_engine, heaviest_customers(sqlite_engine))
    assert len(top) == 5 and top == sorted(top, reverse=True)
    regulars = regular_customers(sqlite_engine)
    assert regulars == sorted(regulars) and all(30 <= n <= 49 for n in order_counts(sqlite_engine, regulars))


def test_the_pages_need_orders(empty_sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="orders table is empty"):
        heaviest_customers(empty_sqlite_engine)
    with pytest.raises(PerflabError, match="no user has 30-49 orders"):
        regular_customers(empty_sqlite_engine)
