"""Chapter 05 exercise: measured picks pass; one answer for every case, or a rule blind to the payload or the CPU
budget, fails; the starter fails with a hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alternatives import ch05 as alternatives
from cheats import ch05 as cheats
from conftest import notebook_starters
from sqlalchemy.engine import Engine

from perflab.exercises import CheckResult, check, hint
from perflab.exercises.ch05 import MENU, TOLERANCE, database_pages, judge, pick_codec_reference, scenarios
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05-compression.ipynb"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert "hint" in str(result) and result.details["hint"]
    assert "\n" not in result.message
    for fragment in fragments:
        assert fragment in result.details["problem"] + result.details["hint"], result.message


def test_the_solution_passes(sqlite_engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check("05-pick-codec", solution.pick_codec, engine=sqlite_engine, seed=11)
    assert result.ok, result.message
    assert "all 7 picks are within 1.25x" in result.message
    assert "datacenter link → identity" in result.message
    assert "saturated server → identity" in result.message


def the_reference(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    return pick_codec_reference(payload, mbit_per_s, cpu_ms)


@pytest.mark.parametrize("style", [*alternatives.PICK_CODEC, the_reference], ids=lambda f: f.__name__)
def test_correct_picks_in_other_styles_pass(sqlite_engine: Engine, style: Any) -> None:
    result = check("05-pick-codec", style, engine=sqlite_engine, seed=23)
    assert result.ok, result.message


@pytest.mark.parametrize(("cheat", "misses"), cheats.PICK_CODEC, ids=[c.__name__ for c, _ in cheats.PICK_CODEC])
def test_rules_blind_to_the_payload_or_the_budget_fail(sqlite_engine: Engine, cheat: Any, misses: set[str]) -> None:
    result = check("05-pick-codec", cheat, engine=sqlite_engine, seed=23)
    assert_failed_with_hint(result, "measure the options", "keep within the CPU budget")
    assert misses <= {v.scenario.name for v in result.details["verdicts"] if not v.ok}
    assert "over the" in result.message  # budget misses are named first


def test_the_imported_reference_is_named_not_passed(sqlite_engine: Engine) -> None:
    result = check("05-pick-codec", pick_codec_reference, engine=sqlite_engine, seed=23)
    assert_failed_with_hint(result, "pick_codec_reference is the course's reference solution", "write your own")


def test_the_notebook_starter_fails_with_a_hint(sqlite_engine: Engine) -> None:
    found = notebook_starters(NOTEBOOK)
    assert set(found) == {"pick_codec"}
    result = check("05-pick-codec", found["pick_codec"], engine=sqlite_engine, seed=5)
    assert_failed_with_hint(result, "picks are over budget or more than 1.25x slower", "busy server: gzip-6",
                            "the same answer for every case cannot be near-best", "the CPU budget")
    failing = {v.scenario.name for v in result.details["verdicts"] if not v.ok}
    assert {"datacenter link", "busy server", "database backup", "saturated server"} <= failing
    assert "identity" not in result.details["problem"]  # the best option's time is shown, not its name


def test_the_first_hint_names_what_the_scenarios_vary() -> None:
    """No longer "on a fast link compressing costs more than it saves": the database backup says otherwise."""
    first = hint("05-pick-codec", 1)
    assert "fast link" not in first
    for word in ("link", "payload", "CPU budget", "compress + transfer + decompress"):
        assert word in first, first


def test_no_single_answer_is_near_best_everywhere(sqlite_engine: Engine) -> None:
    cases = scenarios(sqlite_engine, seed=8)
    for option in MENU:
        verdicts = judge([option] * len(cases), cases)
        assert not all(v.ok for v in verdicts), option
    by_name = {c.name: c for c in cases}
    assert by_name["datacenter link"].best().label == "identity"  # 10+ Gbit/s: sending beats any compressing
    assert by_name["saturated server"].best().label == "identity"  # nothing else fits the budget
    backup = by_name["database backup"]
    assert backup.mbit_per_s > 1000 and backup.best().label != "identity"  # yet compressing wins above 1 Gbit/s
    identity = backup.measure("identity", 0).end_to_end_s(backup.mbit_per_s)
    assert identity > 1.5 * TOLERANCE * backup.best().end_to_end_s(backup.mbit_per_s)
    busy = by_name["busy server"]
    unconstrained = min(busy.runs.values(), key=lambda r: r.end_to_end_s(busy.mbit_per_s))
    assert unconstrained.compress_s * 1e3 > 1.5 * busy.cpu_ms  # the budget rules the otherwise-best option out


def test_database_pages_are_one_order_per_page_then_zeros(sqlite_engine: Engine) -> None:
    blob = database_pages(sqlite_engine, 3, first_id=10)
    pages = [blob[i:i + 4096] for i in range(0, len(blob), 4096)]
    assert len(blob) == 3 * 4096 and [p[:9] for p in pages] == [b'{"id":10,', b'{"id":11,', b'{"id":12,']
    assert all(p.endswith(b"\0" * 1000) for p in pages)


def test_scenarios_are_fresh_unless_seeded(sqlite_engine: Engine) -> None:
    first, again, other = scenarios(sqlite_engine, 3), scenarios(sqlite_engine, 3), scenarios(sqlite_engine, None)
    assert [s.payload for s in first] == [s.payload for s in again]
    assert [s.payload for s in first] != [s.payload for s in other]
    assert [s.name for s in first] == ["phone link", "datacenter link", "busy server", "encrypted file",
                                       "gzipped download", "database backup", "saturated server"]


def test_over_budget_and_malformed_answers_fail(sqlite_engine: Engine) -> None:
    assert_failed_with_hint(check("05-pick-codec", lambda p, m, c: ("brotli", 9), engine=sqlite_engine, seed=4),
                            "busy server: brotli-9 compresses in", "over the")
    assert_failed_with_hint(check("05-pick-codec", lambda p, m, c: "zstd", engine=sqlite_engine, seed=4),
                            "returned 'zstd', not a (codec, level) pair")
    assert_failed_with_hint(check("05-pick-codec", lambda p, m, c: ("gzip", 12), engine=sqlite_engine, seed=4),
                            "gzip has levels 1-9, got 12")
    assert_failed_with_hint(check("05-pick-codec", lambda p, m, c: 1 / 0, engine=sqlite_engine, seed=4),
                            "raised ZeroDivisionError")


@pytest.mark.postgres
def test_the_solution_passes_on_postgres(pg_dataset_engine: Engine) -> None:
    result = check("05-pick-codec", the_reference, engine=pg_dataset_engine, seed=11)
    assert result.ok, result.message
    assert TOLERANCE == 1.25
