"""The load-test wrapper: locust's final statistics read back, bad input refused, a real short run stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.loadtest import LoadResult, load_test, locust_missing, percentile, read_stats
from perflab.processes import running
from perflab.servers import serve


def test_percentiles_follow_locusts_histogram() -> None:
    histogram = {5.0: 60, 10.0: 36, 300.0: 3, 900.0: 1}
    assert [percentile(histogram, q) for q in (0.5, 0.95, 0.98, 1.0)] == [5.0, 10.0, 300.0, 900.0]
    assert percentile({}, 0.5) != percentile({}, 0.5)  # NaN: no request, no percentile


def test_read_stats_adds_every_entry_and_divides_by_the_run(tmp_path: Path) -> None:
    entries = [{"name": "/a", "response_times": {"10": 8, "200": 2}, "num_requests": 10, "num_failures": 1},
               {"name": "/b", "response_times": {"10": 10}, "num_requests": 10, "num_failures": 0}]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    stats = read_stats(path, seconds=4)
    assert stats == {"requests": 20, "failures": 1, "rps": 5.0, "p50_ms": 10.0, "p95_ms": 200.0, "p99_ms": 200.0,
                     "unfinished": 0, "by_path": {"/a": 10, "/b": 10}}


def test_throughput_is_over_the_time_the_completed_requests_covered(tmp_path: Path) -> None:
    entries = [{"response_times": {"900": 3}, "num_requests": 3, "num_failures": 0,
                "start_time": 100.0, "last_request_timestamp": 102.5},
               {"response_times": {"900": 2}, "num_requests": 2, "num_failures": 0,
                "start_time": 100.5, "last_request_timestamp": 101.0}]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    assert read_stats(path, seconds=4)["rps"] == 2.0  # 5 requests from 100.0 to 102.5, not over the 4 s run


def test_requests_never_finished_count_at_the_runs_length_and_the_start_is_the_runs(tmp_path: Path) -> None:
    entries = [{"name": "/a", "response_times": {"10": 17, "900": 1}, "num_requests": 18, "num_failures": 0,
                "start_time": 101.0, "last_request_timestamp": 104.0}]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    stats = read_stats(path, seconds=2, unfinished={"/b": 2}, start=100.0)
    assert stats["p95_ms"] == 2000.0 and stats["p50_ms"] == 10.0 and stats["unfinished"] == 2
    assert stats["requests"] == 18 and stats["rps"] == 4.5 and stats["by_path"] == {"/a": 18}
    result = LoadResult("/a /b", 4, 18, 0, 4.5, 10.0, 2000.0, 2000.0, 2, stats["by_path"])
    assert result.idle_paths() == ["/b"] and "by_path" not in result.row()


def test_a_run_where_nothing_finished_is_all_unfinished(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("[]", encoding="utf-8")
    stats = read_stats(path, seconds=2, unfinished={"/a": 4})
    assert stats["requests"] == 0 and stats["rps"] == 0 and stats["p50_ms"] == stats["p99_ms"] == 2000.0


def test_paths_with_spaces_or_no_slash_are_refused() -> None:
    if locust_missing():
        pytest.skip(locust_missing())
    for bad in ([], ["/a b"], ["fast/1"]):
        with pytest.raises(PerflabError, match="path must be"):
            load_test("http://127.0.0.1:1", bad, users=1, seconds=1)


def test_an_empty_run_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(PerflabError, match="no request"):
        read_stats(path, seconds=1)


@pytest.mark.parametrize(("users", "seconds", "message"), [(0, 2, "users must be"), (2, 0.5, "seconds must be"),
                                                           (2, 600, "seconds must be")])
def test_bad_input_is_refused_before_anything_starts(users: int, seconds: float, message: str) -> None:
    if locust_missing():
        pytest.skip(locust_missing())
    with pytest.raises(PerflabError, match=message):
        load_test("http://127.0.0.1:1", "/", users=users, seconds=seconds)


def test_a_short_run_counts_requests_and_leaves_nothing_running() -> None:
    if locust_missing():
        pytest.skip(locust_missing())
    with serve("perflab.servers:hello_app") as server:
        result = load_test(server.url, "/", users=2, seconds=1)
        several = load_test(server.url, ["/", "/?page=2"], users=2, seconds=1)
    assert isinstance(result, LoadResult) and result.requests > 0 and result.failures == 0
    assert result.p50_ms <= result.p95_ms <= result.p99_ms and result.users == 2 and result.path == "/"
    assert several.path == "/ /?page=2" and several.requests > 0 and several.failures == 0
    # At most one request per user can be in flight at the stop (a race with locust's own stop), none for long.
    assert result.unfinished <= result.users and several.unfinished <= several.users and not several.idle_paths()
    assert not [c for c in running() if c.name == "locust"] and not server.alive
