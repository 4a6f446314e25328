"""Chapter 01's exercise: the solution and correct alternatives pass, the starter and every cheat fail with a hint.

The check times the learner's report against the original; here a clock that counts executed Python lines
stands in for time, so the outcome is the same on every machine (no timing asserts).
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alternatives import ch01 as alternatives
from cheats import ch01 as cheats
from conftest import LineClock, assert_failed_with_hint, notebook_starters
from sqlalchemy.engine import Engine

import perflab
from perflab.exercises import CheckResult, ch01, check
from perflab.exercises.ch01 import (
    SPEEDUP_FLOOR,
    hot_spot,
    revenue_by_category_reference,
    slow_revenue_by_category,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01-measure-first.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]
# On the small test dataset few orders are pending; delivered and shipped orders give the linear search work.
STATUSES = ("delivered", "shipped")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


def starter(name: str) -> Callable[..., Any]:
    """The learner's function as the committed notebook defines it (the cell tagged exercise-starter)."""
    return notebook_starters(NOTEBOOK)[name]


def check_counting_lines(fn: Callable[..., Any], engine: Engine) -> CheckResult:
    """The check with executed lines for time, in two turns (traced code runs slowly; the order test runs three)."""
    with LineClock() as clock:
        return check("01-slow-report", fn, engine=engine, statuses=STATUSES, rounds=2, clock=clock)


def test_reference_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check_counting_lines(solution.revenue_by_category, engine)
    assert result.ok, result.message
    assert result.details["speedup"] >= SPEEDUP_FLOOR


def test_sql_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    assert check_counting_lines(solution.revenue_by_category_sql, engine).ok


@pytest.mark.parametrize("fn", alternatives.IN_FEW_LINES, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check_counting_lines(fn, engine)
    assert result.ok, result.message


@pytest.mark.parametrize("fn", [fn for fn in alternatives.ALTERNATIVES if fn not in alternatives.IN_FEW_LINES],
                         ids=lambda f: f.__name__)
def test_correct_alternatives_give_the_same_report(engine: Engine, fn: Callable[..., Any]) -> None:
    """Their speed is measured by ``python -m tools.bench.exercises`` (ORM objects run many lines per row)."""
    result = check("01-slow-report", fn, engine=engine, statuses=STATUSES, floor=0)
    assert result.ok, result.message


def test_starter_fails_with_the_symptom(engine: Engine) -> None:
    report = starter("revenue_by_category")
    assert report(engine, STATUSES[0]) == revenue_by_category_reference(engine, STATUSES[0])  # right, only slow
    result = check_counting_lines(report, engine)
    assert result.ok is False
    assert f"at least {SPEEDUP_FLOOR:g}x needed" in result.message
    assert "hint: it is about as slow as the original: profile it" in result.message
    assert "category_of" not in result.message  # the profile is the learner's to run


@pytest.mark.parametrize(("make", "fragment"), cheats.CACHES,
                         ids=["lru_cache", "memo_by_url", "lru_by_url", "memo_by_row_count"])
def test_a_cached_original_fails_every_time(engine: Engine, make: Callable[[], Callable[..., Any]],
                                            fragment: str) -> None:
    cheat = make()
    for turn in range(2):  # the second check finds its cache warm, with another check's report
        result = check_counting_lines(cheat, engine)
        assert result.ok is False and " — hint: " in result.message, result.message
        assert any(f in result.message for f in ("as fast as the original", ": it caches", "on every call")), \
            result.message
        if turn == 0:
            assert fragment in result.message, result.message


@pytest.mark.parametrize(("cheat", "fragment"), cheats.LAZY, ids=lambda c: getattr(c, "__name__", ""))
def test_a_result_computed_after_the_call_is_timed(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    assert_failed_with_hint(check_counting_lines(cheat, engine), fragment)


@pytest.mark.parametrize(("cheat", "fragment"), cheats.BORROWED, ids=lambda c: getattr(c, "__name__", ""))
def test_a_borrowed_answer_or_a_slowed_check_fails(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    assert_failed_with_hint(check_counting_lines(cheat, engine), fragment)
    assert ch01.slow_revenue_by_category is slow_revenue_by_category  # put back


@pytest.mark.parametrize(("make", "fragment"), cheats.REMEMBERED, ids=["remembered_report"])
def test_a_report_remembered_from_the_course_data_fails(engine: Engine, make: Callable[[Engine], Any],
                                                        fragment: str) -> None:
    assert_failed_with_hint(check_counting_lines(make(engine), engine), fragment)


def test_work_left_running_after_the_call_fails_and_so_does_the_next_check(engine: Engine) -> None:
    """The first check names the threads; the second starts with them spinning, while it times the original."""
    spinners = cheats.Spinners(threads=2)
    try:
        first = check_counting_lines(spinners, engine)
        second = check_counting_lines(spinners, engine)
    finally:
        spinners.stop()
    assert_failed_with_hint(first, "(2 threads still running)", "wait for every thread")
    assert_failed_with_hint(second, "other threads or processes of this kernel kept a processor busy", "Restart")


def test_the_original_is_timed_first_then_in_turns(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The original runs before the learner's function has run at all; then the two take turns."""
    calls: list[str] = []

    def original(engine: Engine, status: str = "pending") -> dict[str, int]:
        calls.append("original")
        return slow_revenue_by_category(engine, status)

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        calls.append("learner")
        return alternatives.dict_lookup(engine, status)

    monkeypatch.setattr(ch01, "slow_revenue_by_category", original)
    result = check("01-slow-report", revenue_by_category, engine=engine, statuses=STATUSES[:1], rounds=3, floor=0)
    assert result.ok, result.message
    unseen = len(dict.fromkeys((STATUSES[0], *ch01.CHECKED_STATUSES)))
    assert calls[0] == "original"
    turn = ["learner"] * ch01.LEARNER_CALLS
    assert calls[1:] == ["learner", "original"] * unseen + turn + (["original"] + turn) * 2


def own_copies(engine: Engine) -> set[str]:
    """This process's scratch copies (CI runs two Pythons' tests side by side, on one PostgreSQL server)."""
    ours = os.getpid()
    schemas = {n for n in sa.inspect(engine).get_schema_names() if n.startswith(f"perflab_check_{ours}_")}
    return set(glob.glob(f"{tempfile.gettempdir()}/perflab-check-{ours}-*")) | schemas


def test_the_course_data_is_left_as_it_was_and_the_copy_removed(engine: Engine) -> None:
    before = {status: slow_revenue_by_category(engine, status) for status in STATUSES}
    counts = perflab.counts(engine)
    copies = own_copies(engine)
    assert check_counting_lines(cheats.memo_by_url(), engine).ok is False
    assert check_counting_lines(nbtools.load_solution(NOTEBOOK).revenue_by_category, engine).ok
    assert {status: slow_revenue_by_category(engine, status) for status in STATUSES} == before
    assert perflab.counts(engine) == counts
    assert own_copies(engine) <= copies


@pytest.mark.parametrize(("cheat", "fragment"), cheats.CHANGED_TYPE, ids=lambda c: getattr(c, "__name__", ""))
def test_right_numbers_in_another_container_fail(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    result = check_counting_lines(cheat, engine)
    assert result.ok is False and " — hint: " in result.message, result.message
    assert fragment in result.message and "the same numbers" in result.message, result.message


def test_the_original_is_what_the_notebook_hands_out(engine: Engine) -> None:
    assert slow_revenue_by_category(engine) == starter("revenue_by_category")(engine)
    assert slow_revenue_by_category(engine) == revenue_by_category_reference(engine)


def test_a_changed_report_fails_before_any_timing(engine: Engine) -> None:
    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        return {category: cents // 100 for category, cents in alternatives.dict_lookup(engine, status).items()}

    result = check("01-slow-report", revenue_by_category, engine=engine, statuses=STATUSES)
    assert result.ok is False and " — hint: " in str(result)
    assert "speedup" not in result.details


def test_hot_spot_names_the_learners_own_slow_function() -> None:
    def lookup(key: int, pairs: list[tuple[int, int]]) -> int:
        return next(v for k, v in pairs if k == key)

    def report(pairs: list[tuple[int, int]]) -> int:
        return sum(lookup(k, pairs) for k, _ in pairs)

    assert "goes to lookup (300 calls)" in hot_spot(report, [(i, i) for i in range(300)])


def test_hot_spot_looks_past_the_function_itself_and_counts_one_call() -> None:
    def walk(pairs: list[tuple[int, int]]) -> int:
        return sum(v for k, v in pairs for _ in pairs)

    def report(pairs: list[tuple[int, int]]) -> int:
        return walk(pairs)

    report.__name__ = "revenue_by_category"  # a learner's function named for the notebook: its own name is skipped
    assert "goes to walk (1 call)" in hot_spot(report, [(i, i) for i in range(300)])
