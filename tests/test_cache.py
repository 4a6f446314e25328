"""perflab.cache: levels on real Redis and real diskcache, the fallback line, single-flight, jitter, the query cache."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FakeClock
from sqlalchemy.engine import Engine

from perflab.cache import (
    MISS,
    SERIALIZERS,
    CachedLoader,
    DiskLevel,
    MemoryLevel,
    QueryCache,
    RedisLevel,
    TwoLevel,
    all_at_once,
    fill_keys,
    namespace,
    open_second_level,
    private_folder,
    query_key,
    server_time,
)
from perflab.servers import free_port


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[DiskLevel]:
    level = DiskLevel(tmp_path / "l2", prefix="perflab:test:")
    yield level
    level.remove()


@pytest.fixture
def redis_level(redis_url: str) -> Iterator[RedisLevel]:
    level = open_second_level(redis_url, prefix=f"perflab:test-{random.getrandbits(32):x}:")
    assert isinstance(level, RedisLevel), level.note
    yield level
    level.clear()
    level.close()


def test_namespace_is_the_schema_or_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    assert namespace(user="ann") == "perflab:ann:"
    monkeypatch.setenv("PERFLAB_SCHEMA", "student_7")
    assert namespace(user="ann") == "perflab:student_7:"
    assert namespace(user="a b/c*") == "perflab:student_7:"
    monkeypatch.delenv("PERFLAB_SCHEMA")
    assert namespace(user="a b/c*") == "perflab:a_b_c:"


def test_query_key_depends_on_sql_and_parameters_not_their_order() -> None:
    sql = "SELECT * FROM users WHERE id = :id AND country = :c"
    assert query_key(sql, {"id": 1, "c": "PT"}) == query_key(sql, {"c": "PT", "id": 1})
    assert query_key(sql, {"id": 1, "c": "PT"}) != query_key(sql, {"id": 2, "c": "PT"})
    assert query_key(sql.replace("users", "orders"), {"id": 1, "c": "PT"}) != query_key(sql, {"id": 1, "c": "PT"})


@pytest.mark.parametrize("name", sorted(SERIALIZERS))
def test_serializers_round_trip_a_query_result(name: str) -> None:
    rows = [{"id": i, "name": f"user {i}", "score": i / 3, "active": i % 2 == 0, "note": None} for i in range(50)]
    s = SERIALIZERS[name]
    raw = s.dumps(rows)
    assert isinstance(raw, bytes) and s.loads(raw) == rows


def test_memory_level_expires_each_entry_at_its_own_ttl() -> None:
    clock = FakeClock()
    l1 = MemoryLevel(maxsize=10, ttl=60, timer=clock)
    l1.set("a", [1])
    l1.set("b", None, ttl=120)
    clock.advance(61)
    assert l1.get("a") is MISS and l1.get("b") is None  # None is a value, MISS is not
    assert (l1.hits, l1.misses) == (1, 1)
    assert l1.keys() == ["b"] and l1.clear() == 1 and l1.keys() == []


def test_memory_level_evicts_the_least_recently_used() -> None:
    l1 = MemoryLevel(maxsize=2)
    l1.set("a", 1)
    l1.set("b", 2)
    l1.get("a")
    l1.set("c", 3)
    assert l1.get("b") is MISS and l1.get("a") == 1


def test_disk_level_is_shared_by_two_handles_on_one_folder(tmp_path: Path) -> None:
    first = DiskLevel(tmp_path / "shared", prefix="perflab:ann:")
    second = DiskLevel(tmp_path / "shared", prefix="perflab:ann:")
    other_learner = DiskLevel(tmp_path / "shared", prefix="perflab:bob:")
    first.set("k", {"rows": [1, 2]})
    assert second.get("k") == {"rows": [1, 2]}
    assert other_learner.get("k") is MISS and other_learner.keys() == []
    assert second.delete("k") == 1 and first.get("k") is MISS
    first.set("x", 1)
    other_learner.set("x", 2)
    assert first.clear() == 1 and other_learner.get("x") == 2
    for level in (first, second, other_learner):
        level.close()


def test_the_embedded_level_lives_in_a_private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a predictable /tmp path another user could make first: ~/.cache/perflab/<name>, mode 0700."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "perflab").mkdir(parents=True, mode=0o755)  # made readable by an older version
    level = DiskLevel(prefix="perflab:ann:ch10:")
    try:
        assert level.directory == tmp_path / "cache" / "perflab" / "perflab-ann-ch10"
        assert all(p.stat().st_mode & 0o777 == 0o700 for p in (level.directory, level.directory.parent))
    finally:
        level.remove()


def test_a_private_folder_refuses_a_link_planted_in_its_place(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "perflab").symlink_to(elsewhere)
    folder = private_folder("ch10", base=tmp_path / "base")
    try:
        assert elsewhere not in folder.parents and not any(elsewhere.iterdir())
        assert folder.stat().st_mode & 0o777 == 0o700  # a fresh mkdtemp folder instead
    finally:
        folder.rmdir()


def test_disk_level_honours_the_ttl(disk: DiskLevel) -> None:
    disk.set("gone", 1, ttl=-1)  # already expired
    disk.set("kept", 2)
    assert disk.get("gone") is MISS and disk.get("kept") == 2 and disk.keys() == ["kept"]


def test_unset_redis_gives_the_embedded_level_and_says_so(tmp_path: Path) -> None:
    level = open_second_level(None, directory=tmp_path / "l2")
    assert isinstance(level, DiskLevel)
    assert level.note.startswith("Redis is not configured") and "\n" not in level.note
    level.remove()


def test_redis_down_gives_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("PERFLAB_REDIS_URL", f"redis://:s3cret@127.0.0.1:{port}/0")
    level = open_second_level(directory=tmp_path / "l2")
    assert isinstance(level, DiskLevel)
    assert level.note == (f"Redis at redis://:***@127.0.0.1:{port}/0 is not reachable (connection refused) — "
                          "using the embedded diskcache level instead; start Redis or unset PERFLAB_REDIS_URL")
    level.remove()


@pytest.mark.redis
def test_redis_hits_reach_the_server_and_clear_removes_every_key(redis_level: RedisLevel) -> None:
    client = redis_level.client
    before = int(client.info("stats")["keyspace_hits"])
    redis_level.set("product:1", {"id": 1, "name": "Lamp"}, ttl=30)
    for _ in range(5):
        assert redis_level.get("product:1") == {"id": 1, "name": "Lamp"}
    assert int(client.info("stats")["keyspace_hits"]) - before >= 5
    assert 0 < client.pttl(redis_level.prefix + "product:1") <= 30_000
    redis_level.set("product:2", [1])
    assert sorted(redis_level.keys()) == ["product:1", "product:2"]
    assert redis_level.clear() == 2
    assert list(client.scan_iter(match=redis_level.prefix + "*")) == []


@pytest.mark.redis
def test_two_learners_on_one_redis_never_read_each_other(redis_url: str) -> None:
    ann = open_second_level(redis_url, prefix=f"perflab:ann-{random.getrandbits(32):x}:")
    bob = open_second_level(redis_url, prefix=f"perflab:bob-{random.getrandbits(32):x}:")
    try:
        ann.set("k", "ann's")
        bob.set("k", "bob's")
        assert ann.get("k") == "ann's" and bob.get("k") == "bob's"
        assert ann.clear() == 1 and bob.get("k") == "bob's"
    finally:
        for level in (ann, bob):
            level.clear()
            level.close()


@pytest.mark.redis
def test_two_levels_on_redis_serve_from_l1_after_one_l2_hit(redis_level: RedisLevel) -> None:
    cache = TwoLevel(MemoryLevel(), redis_level)
    redis_level.set("k", [1, 2])
    assert cache.get("k") == [1, 2] and cache.served_by == "L2"
    assert cache.get("k") == [1, 2] and cache.served_by == "L1"
    assert cache.delete("k") == 1
    assert cache.get("k") is MISS and cache.served_by == ""


def test_two_levels_write_and_delete_both(disk: DiskLevel) -> None:
    l1 = MemoryLevel()
    cache = TwoLevel(l1, disk, l1_ttl=5)
    cache.set("k", {"a": 1}, ttl=60)
    assert l1.get("k") == {"a": 1} and disk.get("k") == {"a": 1}
    cache.delete("k")
    assert l1.get("k") is MISS and disk.get("k") is MISS


def test_single_flight_sends_one_load_for_fifty_concurrent_misses() -> None:
    def stampede(single_flight: bool) -> int:
        loader = CachedLoader(MemoryLevel(), single_flight=single_flight)
        start = threading.Barrier(50)
        release = threading.Event()

        def load() -> str:
            release.wait(5)  # hold the first loads until every thread has asked
            return "value"

        def request() -> None:
            start.wait()
            assert loader.get("cold", load) == "value"

        threads = [threading.Thread(target=request) for _ in range(50)]
        for t in threads:
            t.start()
        threading.Timer(0.2, release.set).start()
        for t in threads:
            t.join()
        return loader.loads

    assert stampede(single_flight=True) == 1
    assert stampede(single_flight=False) > 1


def test_all_at_once_runs_every_call_together() -> None:
    together = threading.Barrier(20, timeout=10)  # passes only when all 20 calls are inside fn at once
    calls: list[int] = []
    all_at_once(lambda: calls.append(together.wait()), 20)
    assert sorted(calls) == list(range(20))


@pytest.mark.redis
def test_server_time_counts_the_servers_own_calls(redis_level: RedisLevel) -> None:
    assert fill_keys(redis_level, "filler:", 300, ttl=30) == 300
    assert 0 < redis_level.client.pttl(redis_level.prefix + "filler:7") <= 30_000
    with server_time(redis_level.client, "keys") as keys_busy:
        found = redis_level.client.keys(redis_level.prefix + "filler:*")
    with server_time(redis_level.client, "scan") as scan_busy:
        scanned = list(redis_level.scan("filler:*", count=100))
    assert len(found) == len(scanned) == 300
    assert keys_busy.calls >= 1 and keys_busy.seconds > 0 and scan_busy.calls >= 3
    assert redis_level.clear() == 300


def test_jitter_spreads_the_ttls() -> None:
    loader = CachedLoader(MemoryLevel(), ttl=100, jitter=0.2, rng=random.Random(3))
    ttls = [loader.ttl_for_next() for _ in range(1000)]
    assert 80 <= min(ttls) < 85 and 115 < max(ttls) <= 120
    assert CachedLoader(MemoryLevel(), ttl=100).ttl_for_next() == 100
    with pytest.raises(Exception, match="jitter must be between 0 and 1"):
        CachedLoader(MemoryLevel(), jitter=1.5)


def test_query_cache_answers_the_second_call_without_the_database(sqlite_engine: Engine) -> None:
    from perflab.querylog import query_log

    qc = QueryCache(sqlite_engine, MemoryLevel(), ttl=60)
    sql = "SELECT id, name FROM users WHERE id <= :n ORDER BY id"
    with query_log(sqlite_engine) as log:
        first = qc.query(sql, {"n": 3})
        second = qc.query(sql, {"n": 3})
        other = qc.query(sql, {"n": 2})
    assert first == second == qc.run(sql, {"n": 3}) and len(first) == 3 and other == first[:2]
    assert log.count == 2 and qc.loads == 2
    assert qc.invalidate(sql, {"n": 3}) == 1 and qc.level.get(query_key(sql, {"n": 3})) is MISS


@pytest.mark.redis
def test_query_cache_on_redis(sqlite_engine: Engine, redis_level: RedisLevel) -> None:
    qc = QueryCache(sqlite_engine, redis_level, ttl=60)
    sql = "SELECT id, email FROM users WHERE id = :id"
    assert qc.query(sql, {"id": 1}) == qc.query(sql, {"id": 1}) == qc.run(sql, {"id": 1})
    assert qc.loads == 1 and redis_level.hits == 1
    assert redis_level.keys() == [query_key(sql, {"id": 1})]
