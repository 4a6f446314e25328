"""Chapter 05 exercise: measured picks pass, one answer for every case fails, the starter fails with a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import notebook_starters
from sqlalchemy.engine import Engine

from perflab.compression import best_run, compressor, decompressor, sweep, transfer_seconds
from perflab.exercises import CheckResult, check
from perflab.exercises.ch05 import MENU, TOLERANCE, judge, pick_codec_reference, scenarios
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05-compression.ipynb"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert "hint" in str(result) and result.details["hint"]
    assert "\n" not in result.message
    for fragment in fragments:
        assert fragment in result.details["problem"] + result.details["hint"], result.message


def brute_force(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """Another correct style: measure every option of the menu on the whole payload."""
    best = best_run(sweep(payload, MENU, repeat=2, budget=0.05), mbit_per_s, cpu_ms)
    return best.codec, best.level


def short_list(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """Another correct style: time a short list by hand on a 64 KB slice with the codecs' own functions."""
    import time

    sample, options = payload[:65_536], [("identity", 0), ("zstd", 1), ("zstd", 3), ("zstd", 9), ("brotli", 5)]
    scale, costs = len(payload) / len(sample), {}
    for codec, level in options:
        start = time.perf_counter()
        packed = compressor(codec, level)(sample)
        middle = time.perf_counter()
        decompressor(codec)(packed)
        compress_ms, total = (middle - start) * 1e3 * scale, (time.perf_counter() - start) * scale
        if compress_ms <= cpu_ms:
            costs[codec, level] = total + transfer_seconds(int(len(packed) * scale), mbit_per_s)
    return min(costs, key=costs.__getitem__)


def test_the_solution_passes(sqlite_engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check("05-pick-codec", solution.pick_codec, engine=sqlite_engine, seed=11)
    assert result.ok, result.message
    assert "all 5 picks are within 1.25x" in result.message
    assert "datacenter link → identity" in result.message


@pytest.mark.parametrize("style", [brute_force, short_list, pick_codec_reference])
def test_correct_picks_in_other_styles_pass(sqlite_engine: Engine, style: object) -> None:
    result = check("05-pick-codec", style, engine=sqlite_engine, seed=23)
    assert result.ok, result.message


def test_the_notebook_starter_fails_with_a_hint(sqlite_engine: Engine) -> None:
    found = notebook_starters(NOTEBOOK)
    assert set(found) == {"pick_codec"}
    result = check("05-pick-codec", found["pick_codec"], engine=sqlite_engine, seed=5)
    assert_failed_with_hint(result, "picks are over budget or more than 1.25x slower", "busy server: gzip-6",
                            "the same answer for every case cannot be near-best")
    failing = {v.scenario.name for v in result.details["verdicts"] if not v.ok}
    assert {"datacenter link", "busy server"} <= failing
    assert "identity" not in result.details["problem"]  # the best option's time is shown, not its name


def test_no_single_answer_is_near_best_everywhere(sqlite_engine: Engine) -> None:
    cases = scenarios(sqlite_engine, seed=8)
    for option in MENU:
        verdicts = judge([option] * len(cases), cases)
        assert not all(v.ok for v in verdicts), option
    datacenter = next(c for c in cases if c.name == "datacenter link")
    assert datacenter.best().label == "identity"  # 10+ Gbit/s: sending beats any compressing


def test_scenarios_are_fresh_unless_seeded(sqlite_engine: Engine) -> None:
    first, again, other = scenarios(sqlite_engine, 3), scenarios(sqlite_engine, 3), scenarios(sqlite_engine, None)
    assert [s.payload for s in first] == [s.payload for s in again]
    assert [s.payload for s in first] != [s.payload for s in other]
    assert [s.name for s in first] == ["phone link", "datacenter link", "busy server", "encrypted file",
                                       "gzipped download"]


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
    result = check("05-pick-codec", pick_codec_reference, engine=pg_dataset_engine, seed=11)
    assert result.ok, result.message
    assert TOLERANCE == 1.25
