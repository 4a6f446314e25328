from __future__ import annotations

import math

import numpy as np
import pytest

from perflab.claims import CLAIMS, SUMMARY, Claim, claim, clear_scorecard, scorecard, verdict
from perflab.errors import PerflabError, StrictCheckFailed


@pytest.fixture(autouse=True)
def _fresh_scorecard() -> None:
    clear_scorecard()


# The "Performance Wins" table of the chapter, row by row.
WINS = [
    ("index", 10, 100, "x faster"),
    ("n_plus_one", 10, 50, "x faster"),
    ("caching", 50, 100, "x faster"),
    ("async", 2, 5, "x faster"),
    ("compression", 5, 10, "x less bandwidth"),
    ("object_pooling", 2, 3, "x less GC"),
    ("batching", 10, 50, "x faster"),
]

# Figures stated inside the sections: (key, value, section number, text the book uses).
SECTION_FIGURES = [
    ("async_parallel", 1.75, "§5", "43%"),
    ("gzip_json", 10, "§6", "90%"),
    ("find_duplicates", 400, "§7", "400x"),
    ("set_lookup", 5000, "§7", "5000x"),
    ("explain_index", 200, "§9", "200x"),
    ("batch_insert", 40, "§9", "40x"),
    ("query_cache", 100, "§9", "100x"),
    ("case_study", 14, "§11", "14x"),
]


@pytest.mark.parametrize(("key", "low", "high", "unit"), WINS)
def test_every_performance_wins_row_is_a_claim(key: str, low: float, high: float, unit: str) -> None:
    c = claim(key)
    assert (c.low, c.high, c.unit, c.section) == (low, high, unit, SUMMARY)


@pytest.mark.parametrize(("key", "value", "section", "book"), SECTION_FIGURES)
def test_section_figures_are_single_value_claims(key: str, value: float, section: str, book: str) -> None:
    c = claim(key)
    assert c.low == c.high == value
    assert c.section.startswith(section + " ")
    assert book in (c.book or c.figure)


def test_all_claims_are_well_formed() -> None:
    for key, c in CLAIMS.items():
        assert c.key == key
        assert 0 < c.low <= c.high
        assert c.unit.startswith("x ")
        assert c.section == SUMMARY or c.section.startswith("§")
        assert c.text and c.topic
    assert len(CLAIMS) >= len(WINS) + len(SECTION_FIGURES) + len(SECTION_4_CLAIMS)


def test_claim_is_frozen() -> None:
    with pytest.raises(AttributeError):
        claim("index").low = 1  # type: ignore[misc]


def test_claim_figure() -> None:
    assert claim("n_plus_one").figure == "10-50x faster"
    assert claim("find_duplicates").figure == "400x faster"
    assert claim("compression").figure == "5-10x less bandwidth"


def test_unknown_claim_lists_valid_keys() -> None:
    with pytest.raises(PerflabError) as err:
        claim("n_plus_1")
    message = str(err.value)
    assert "n_plus_1" in message and "did you mean 'n_plus_one'" in message
    assert all(key in message for key, *_ in WINS)
    assert "\n" not in message


def test_bad_claim_range_is_refused() -> None:
    with pytest.raises(PerflabError, match="low <= high"):
        Claim("x", "x", 5, 2, "x faster", "§0", "x")


def test_verdict_within(capsys: pytest.CaptureFixture[str]) -> None:
    v = verdict("n_plus_one", 31.0)
    line = "book: fix N+1 10-50x faster · measured here 31x ✅ (within the claim)"
    assert capsys.readouterr().out == line + "\n"
    assert repr(v) == str(v) == line
    assert (v.status, v.ok, v.ok_floor, v.floor, v.measured) == ("within", True, True, None, 31.0)
    assert v.claim is claim("n_plus_one")
    assert "within the claim" in v._repr_html_()


def test_verdict_above() -> None:
    v = verdict("n_plus_one", 120)
    assert v.status == "above"
    assert repr(v) == "book: fix N+1 10-50x faster · measured here 120x ✅ (better than the book)"


def test_verdict_below_is_honest_and_does_not_raise_above_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_STRICT", "1")
    v = verdict("n_plus_one", 4.2, floor=3)
    assert (v.status, v.ok, v.ok_floor) == ("below", False, True)
    assert repr(v) == ("book: fix N+1 10-50x faster · measured here 4.2x — "
                       "the book's claim does not hold here ❌ (below 10x; above this notebook's floor 3x)")


def test_verdict_below_without_floor() -> None:
    v = verdict("n_plus_one", 4.2)
    assert repr(v).endswith("measured here 4.2x — the book's claim does not hold here ❌ (below 10x)")


def test_verdict_below_floor_not_strict_only_reports() -> None:
    v = verdict("index", 2.0, floor=3)
    assert (v.status, v.ok_floor) == ("below", False)
    assert "below this notebook's floor 3x" in repr(v)


def test_verdict_below_floor_strict_raises_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PERFLAB_STRICT", "1")
    with pytest.raises(StrictCheckFailed) as err:
        verdict("index", 2.0, floor=3)
    message = str(err.value)
    assert "'index'" in message and "2.0x" in message and "floor 3x" in message
    assert "\n" not in message
    assert isinstance(err.value, AssertionError)
    assert "does not hold" in capsys.readouterr().out  # the verdict line is shown before the error
    assert len(scorecard()) == 1


def test_strict_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    verdict("index", 2.0, floor=3)
    monkeypatch.setenv("PERFLAB_STRICT", "true")
    with pytest.raises(StrictCheckFailed):
        verdict("index", 2.0, floor=3)


def test_slower_than_baseline_is_said() -> None:
    v = verdict("async", 0.8, floor=1.5)
    assert "the 'fast' way was slower here" in repr(v)
    assert "0.8x" in repr(v)


def test_point_claims_have_a_tolerance() -> None:
    assert verdict("case_study", 14).status == "within"
    assert verdict("case_study", 12).status == "within"  # within a factor 1.25 of 14
    assert verdict("case_study", 10).status == "below"
    assert verdict("case_study", 20).status == "above"
    assert "close to the book's figure" in repr(verdict("find_duplicates", 380))


def test_rounding_never_hides_a_miss() -> None:
    v = verdict("n_plus_one", 9.96)
    assert v.status == "below"
    assert "measured here 9.96x" in repr(v)


def test_context_is_appended() -> None:
    v = verdict("n_plus_one", 31, context="SQLite + 1 ms injected latency")
    assert repr(v).endswith("(within the claim) · SQLite + 1 ms injected latency")


def test_custom_claim_and_numpy_values() -> None:
    mine = Claim("mine", "my trick", 3, 6, "x faster", "§0 Demo", "A claim made up for a test.")
    v = verdict(mine, np.float64(4.5), floor=np.int64(2))
    assert v.status == "within" and v.floor == 2.0 and isinstance(v.measured, float)


@pytest.mark.parametrize("bad", ["12", None, True, 0, -3.0, math.nan, math.inf])
def test_bad_measurement_is_a_one_line_error(bad: object) -> None:
    with pytest.raises(PerflabError) as err:
        verdict("index", bad)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert len(scorecard()) == 0


def test_bad_floor_is_an_error() -> None:
    with pytest.raises(PerflabError, match="floor"):
        verdict("index", 20, floor=-1)


def test_unknown_key_in_verdict() -> None:
    with pytest.raises(PerflabError, match="unknown claim"):
        verdict("indexes", 20)


def test_scorecard_records_every_verdict_in_order() -> None:
    verdict("n_plus_one", 31, floor=5, context="sqlite")
    verdict("index", 2.0, floor=3)
    table = scorecard()
    assert table["key"].tolist() == ["n_plus_one", "index"]
    assert table["status"].tolist() == ["within", "below"]
    assert table["ok_floor"].tolist() == [True, False]
    assert table.loc[0, "context"] == "sqlite"
    assert table.loc[0, "book"] == "10-50x faster"


def test_scorecard_with_unmeasured_claims() -> None:
    verdict("n_plus_one", 31)
    table = scorecard(include_unmeasured=True)
    assert len(table) == len(CLAIMS)
    rest = table[table["key"] != "n_plus_one"]
    assert set(rest["status"]) == {"not measured"}
    assert rest["measured"].isna().all()


def test_empty_scorecard_has_columns() -> None:
    table = scorecard()
    assert len(table) == 0
    assert {"key", "measured", "floor", "status", "ok_floor"} <= set(table.columns)


def test_claims_module_does_not_import_ipython_or_pandas_at_import() -> None:
    import subprocess
    import sys

    code = ("import sys, perflab.claims; "
            "print(any(m in sys.modules for m in ('IPython', 'pandas', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_verdict_in_ipython_is_shown_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    assert ip is not None
    published: list[dict[str, str]] = []
    monkeypatch.setattr(ip.display_pub, "publish", lambda data, *a, **k: published.append(data))
    ip.user_ns["verdict"] = verdict
    result = ip.run_cell("v = verdict('n_plus_one', 31)\nv", store_history=True)
    assert result.success
    # shown once by verdict itself (text and HTML); the automatic display of `v` is skipped
    assert len(published) == 1
    assert published[0]["text/plain"].endswith("(within the claim)")
    assert "perflab-result" in published[0]["text/html"]
    assert ip.run_cell("v", store_history=True).success  # a later cell shows it again
    assert len(published) == 2


def test_rounding_never_hides_a_hit_above() -> None:
    v = verdict("n_plus_one", 50.4)
    assert v.status == "above"
    assert "measured here 50.4x" in repr(v)


# §4 gives pros and cons without figures: two open-ended claims, and "single query" as the book's own 1001 → 1.
SECTION_4_CLAIMS = [
    ("lazy_saves_memory", 1, math.inf, "Saves memory"),
    ("lazy_initial_load", 1, math.inf, "Faster initial load"),
    ("eager_single_query", 1001, 1001, "Single query"),
]


@pytest.mark.parametrize(("key", "low", "high", "book"), SECTION_4_CLAIMS)
def test_section_4_pros_and_cons_are_claims(key: str, low: float, high: float, book: str) -> None:
    c = claim(key)
    assert (c.low, c.high, c.book) == (low, high, book)
    assert c.section.startswith("§4 ")


def test_open_ended_claim_figure_and_band() -> None:
    c = claim("lazy_saves_memory")
    assert c.is_open and not c.is_point
    assert c.figure == ">1x less memory than eager"
    assert c.band == (1, math.inf)
    assert not claim("n_plus_one").is_open


def test_open_ended_claim_holds_for_any_ratio_above_its_low_end() -> None:
    assert verdict("lazy_initial_load", 1.05).status == "within"
    assert verdict("lazy_initial_load", 1e6).status == "within"
    assert "(within the claim)" in repr(verdict("lazy_saves_memory", 37))


def test_open_ended_claim_verdict_says_there_is_no_figure() -> None:
    line = repr(verdict("bounded_cache", 13, floor=3))
    assert line.startswith("book: a cache with a size limit: less memory than a cache that never evicts "
                           "(no figure: any ratio above 1x) · measured here 13x ✅")
    assert ">1x" not in line


def test_claim_that_goes_the_other_way_says_so_in_its_own_terms() -> None:
    v = verdict("lazy_saves_memory", 0.73, context="1000 users")
    assert v.status == "below" and not v.ok
    assert "does not hold here ❌ (below 1x; the other way round here)" in repr(v)
    assert "slower" not in repr(v)  # a memory claim is not about speed


def test_single_query_claim_with_two_statements_is_reported_as_a_miss() -> None:
    v = verdict("eager_single_query", 1001 / 2, floor=400)
    assert (v.status, v.ok_floor) == ("below", True)
    assert "measured here 500x" in repr(v) and "below 801x" in repr(v)
