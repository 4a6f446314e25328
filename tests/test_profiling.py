"""perflab.profiling reads real pstats / line_profiler / pyinstrument objects; the figures in them are made up
here (a marshalled pstats file, a LineStats, a pyinstrument Session), so no assert depends on timing."""

from __future__ import annotations

import cProfile
import marshal
import pstats
from pathlib import Path
from types import SimpleNamespace

import pytest
from line_profiler import LineStats
from pyinstrument.session import Session

from perflab.errors import PerflabError
from perflab.profiling import heaviest_branch, hot_functions, hottest_line, without_kernel_folder

# pstats' record: (file, line, name) -> (primitive calls, calls, own seconds, cumulative seconds, callers)
RECORD = {
    ("/app/report.py", 9, "monthly_revenue"): (1, 1, 0.04, 0.62, {}),
    ("/app/report.py", 5, "parse_created"): (20789, 20789, 0.012, 0.54, {}),
    ("/usr/lib/python3/_strptime.py", 309, "_strptime"): (20789, 20789, 0.29, 0.46, {}),
    ("~", 0, "<built-in method select.poll>"): (3, 3, 2.5, 2.5, {}),
    ("~", 0, "<method 'fetchall' of 'sqlite3.Cursor' objects>"): (2, 2, 0.015, 0.015, {}),
    ("/app/models.py", 3, "__init__"): (10, 10, 0.002, 0.002, {}),
    ("/app/views.py", 7, "__init__"): (4, 4, 0.001, 0.001, {}),
}


@pytest.fixture
def stats(tmp_path: Path) -> pstats.Stats:
    path = tmp_path / "run.prof"
    path.write_bytes(marshal.dumps(RECORD))
    return pstats.Stats(str(path))


def test_hot_functions_rank_by_own_time_and_leave_out_builtins(stats: pstats.Stats) -> None:
    hot = hot_functions(stats, n=3)
    assert [(f.name, f.file, f.line, f.calls) for f in hot] == [
        ("_strptime", "_strptime.py", 309, 20789),
        ("monthly_revenue", "report.py", 9, 1),
        ("parse_created", "report.py", 5, 20789),
    ]
    assert (hot[2].own, hot[2].cumulative) == (0.012, 0.54)
    assert str(hot[2]) == "parse_created (report.py:5): 20,789 calls, 12.0 ms own, 540 ms with what it called"


def test_builtins_are_included_on_request_with_readable_names(stats: pstats.Stats) -> None:
    hot = hot_functions(stats, n=None, builtins=True)
    assert hot[0].name == "select.poll" and hot[0].builtin
    assert "'fetchall' of 'sqlite3.Cursor' objects" in {f.name for f in hot}
    assert str(hot[0]).startswith("select.poll (built-in): 3 calls")
    assert str(hot_functions(stats, n=None)[1]).startswith("monthly_revenue (report.py:9): 1 call, ")


def test_functions_sharing_a_name_stay_apart(stats: pstats.Stats) -> None:
    inits = [(f.file, f.calls) for f in hot_functions(stats, n=None) if f.name == "__init__"]
    assert inits == [("models.py", 10), ("views.py", 4)]
    assert len(stats.get_stats_profile().func_profiles) == len(RECORD) - 1  # why not get_stats_profile()


def test_a_real_profile_counts_calls_exactly() -> None:
    def leaf(i: int) -> int:
        return i + 1

    def root() -> int:
        return sum(leaf(i) for i in range(7))

    profile = cProfile.Profile()
    assert profile.runcall(root) == 28
    calls = {f.name: f.calls for f in hot_functions(profile, n=None)}
    assert calls["leaf"] == 7 and calls["root"] == 1
    assert "builtins.sum" not in calls
    assert "builtins.sum" in {f.name for f in hot_functions(profile, n=None, builtins=True)}


@pytest.mark.parametrize("n", [0, -2, 1.5, True])
def test_n_must_be_a_positive_whole_number(stats: pstats.Stats, n: object) -> None:
    with pytest.raises(PerflabError, match=r"n must be a whole number >= 1 or None"):
        hot_functions(stats, n=n)  # type: ignore[arg-type]


def test_what_is_not_a_profile_is_named() -> None:
    with pytest.raises(PerflabError, match=r"expected a cProfile.Profile or a pstats.Stats, got str"):
        hot_functions("profile.out")
    with pytest.raises(PerflabError, match=r"recorded no calls"):
        hot_functions(cProfile.Profile())


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "report.py"
    path.write_text("def report(rows):\n    total = 0\n    for row in rows:\n        total += parse(row)\n")
    return path


def test_hottest_line_reads_the_source_and_converts_units(source: Path) -> None:
    timings = {(str(source), 1, "report"): [(2, 1, 10), (3, 101, 2_000), (4, 100, 90_000)]}
    line = hottest_line(LineStats(timings, 1e-6))
    assert (line.file, line.line, line.text, line.hits) == ("report.py", 4, "total += parse(row)", 100)
    assert line.seconds == pytest.approx(0.09)
    assert line.share == pytest.approx(90_000 / 92_010)
    assert str(line) == "line 4: total += parse(row) (100 hits, 90.0 ms, 98% of the function's time)"


def test_hottest_line_takes_a_profiler_and_asks_which_function(source: Path) -> None:
    timings = {(str(source), 1, "report"): [(2, 1, 10)], (str(source), 1, "other"): [(3, 1, 5)],
               (str(source), 9, "never_ran"): []}
    profiler = SimpleNamespace(get_stats=lambda: LineStats(timings, 1e-6))
    assert hottest_line(profiler, function="other").line == 3
    with pytest.raises(PerflabError, match=r"2 profiled functions .*other, report.*name one"):
        hottest_line(profiler)
    with pytest.raises(PerflabError, match=r"no timed lines for function 'never_ran'"):
        hottest_line(profiler, function="never_ran")
    with pytest.raises(PerflabError, match=r"expected a line_profiler.LineProfiler"):
        hottest_line(object())


def _session(records: list[tuple[list[str], float]]) -> Session:
    total = sum(seconds for _, seconds in records)
    return Session(frame_records=records, start_time=0.0, duration=total, min_interval=0.001,
                   max_interval=0.001, sample_count=len(records), start_call_stack=[records[0][0][0]],
                   target_description="test",
                   cpu_time=total, sys_path=[], sys_prefixes=[])


def test_heaviest_branch_compares_the_children_of_a_function() -> None:
    top, report = "<module>\x00/app/main.py\x001", "monthly_revenue\x00/app/report.py\x009"
    records = [([top, report, "parse_created\x00/app/report.py\x005"], 0.3),
               ([top, report, "all\x00/app/result.py\x00970"], 0.1),
               ([top, report, "parse_created\x00/app/report.py\x005"], 0.2)]
    branch = heaviest_branch(SimpleNamespace(last_session=_session(records)), "monthly_revenue")
    assert branch.function == "parse_created"
    assert branch.seconds == pytest.approx(0.5) and branch.share == pytest.approx(5 / 6)
    assert str(branch) == "parse_created: 500 ms, 83% of its caller"


def test_heaviest_branch_says_what_is_missing() -> None:
    sampler = SimpleNamespace(last_session=_session([(["main\x00/app/main.py\x001"], 0.2)]))
    with pytest.raises(PerflabError, match=r"no calls under 'monthly_revenue'"):
        heaviest_branch(sampler, "monthly_revenue")
    with pytest.raises(PerflabError, match=r"pyinstrument.Profiler that has run"):
        heaviest_branch(SimpleNamespace(last_session=None), "main")


def test_without_kernel_folder_drops_the_callers_folder_only() -> None:
    here = Path(__file__).resolve().parent
    text = f"{here}/test_profiling.py:9(report) and /elsewhere/{here.name}/other.py"
    assert without_kernel_folder(text) == f"test_profiling.py:9(report) and /elsewhere/{here.name}/other.py"
