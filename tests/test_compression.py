"""Codecs for real (gzip, brotli, zstd), the end-to-end model, and the compressed cache helpers."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable

import pytest

from perflab.compression import (
    LEVELS,
    CodecRun,
    best_run,
    compress_results,
    compressor,
    decompress_results,
    decompressor,
    end_to_end_table,
    run_codec,
    runs_table,
    sweep,
    transfer_seconds,
)
from perflab.errors import PerflabError
from perflab.payloads import random_bytes, to_json

RNG = random.Random(5)
JSON = to_json([{"id": i, "status": RNG.choice(["paid", "shipped"]), "total_cents": RNG.randint(100, 99_999),
                 "customer": {"name": f"{RNG.choice(['Ana', 'Bo', 'Cy'])} {RNG.choice(['Lee', 'Roy', 'Kim'])}",
                              "country": RNG.choice(["US", "FR", "JP"])}} for i in range(2000)])


@pytest.mark.parametrize("codec", ["gzip", "brotli", "zstd"])
def test_every_level_round_trips_and_shrinks_json(codec: str) -> None:
    sizes = []
    for level in LEVELS[codec]:
        packed = compressor(codec, level)(JSON)
        assert decompressor(codec)(packed) == JSON
        sizes.append(len(packed))
    assert max(sizes) < len(JSON) / 5  # repetitive JSON shrinks a lot at any level
    assert sizes[-1] < sizes[0]  # the highest level beats the lowest


def test_the_formats_are_the_real_ones() -> None:
    assert compressor("gzip", 6)(b"x")[:2] == b"\x1f\x8b"
    assert gzip.decompress(compressor("gzip", 9)(JSON)) == JSON  # readable by any gzip
    assert compressor("zstd", 3)(b"x")[:4] == bytes.fromhex("28b52ffd")
    assert compressor("identity")(b"abc") == b"abc"


def test_random_bytes_do_not_compress() -> None:
    noise = random_bytes(50_000, seed=3)
    for codec in ("gzip", "brotli", "zstd"):
        assert len(compressor(codec)(noise)) >= len(noise)


def test_bad_codecs_and_levels_are_one_line() -> None:
    with pytest.raises(PerflabError, match=r"^unknown codec 'lz4'; use one of 'identity', 'gzip'"):
        compressor("lz4", 1)
    with pytest.raises(PerflabError, match=r"^gzip has levels 1-9, got 11$"):
        compressor("gzip", 11)
    with pytest.raises(PerflabError, match=r"^data must be bytes, got str — encode text first"):
        run_codec("text", "gzip")  # type: ignore[arg-type]
    with pytest.raises(PerflabError, match=r"^bandwidth must be > 0 Mbit/s, got 0"):
        transfer_seconds(100, 0)


def readings(*durations: float) -> Callable[[], float]:
    """A clock whose consecutive (start, end) readings are ``durations`` apart, then the same again."""
    values = iter([t for d in durations for t in (0.0, d)] * 2)
    return lambda: next(values)


def test_run_codec_keeps_the_fastest_run_and_stops_at_the_budget() -> None:
    run = run_codec(JSON, "gzip", 6, repeat=3, budget=10, clock=readings(0.003, 0.001, 0.002))
    assert (run.size, run.compressed) == (len(JSON), len(compressor("gzip", 6)(JSON)))
    assert (run.compress_s, run.decompress_s) == (0.001, 0.001)  # the fastest of 3, 1 and 2 ms
    run = run_codec(JSON, "gzip", 6, repeat=3, budget=0.0025, clock=readings(0.003, 0.001, 0.002))
    assert run.compress_s == 0.003  # 3 ms spent: the budget of 2.5 ms ends the runs after the first
    assert run.decompress_s == 0.001  # ...of decompression too, which starts at the 1 ms reading


def test_the_end_to_end_model() -> None:
    plain = CodecRun("identity", 0, 1_000_000, 1_000_000, 0.0, 0.0)
    packed = CodecRun("gzip", 6, 1_000_000, 125_000, 0.020, 0.002)
    assert transfer_seconds(1_000_000, 8) == 1.0
    assert packed.end_to_end_s(10) == pytest.approx(0.020 + 0.1 + 0.002)
    assert (packed.ratio, packed.label, plain.label) == (8.0, "gzip-6", "identity")
    assert best_run([plain, packed], 10) is packed  # slow link: compress
    assert best_run([plain, packed], 10_000) is plain  # fast link: 0.8 ms to send beats 22 ms of CPU
    assert best_run([plain, packed], 10, cpu_ms=5) is plain  # over the CPU budget
    with pytest.raises(PerflabError, match="no codec compresses within 5 ms"):
        best_run([packed], 10, cpu_ms=5)
    table = end_to_end_table([plain, packed], [10, 1000])
    assert table["total ms"].round(3).tolist() == [800.0, 8.0, 122.0, 23.0]


def test_sweep_and_its_table() -> None:
    runs = sweep(JSON, [("identity", 0), ("gzip", 1), ("brotli", 5), ("zstd", 3)], repeat=1)
    table = runs_table(runs)
    assert table["label"].tolist() == ["identity", "gzip-1", "brotli-5", "zstd-3"]
    assert table.loc[0, "ratio"] == 1.0 and (table.loc[1:, "ratio"] > 5).all()
    assert (table["compress MB/s"] > 0).all()


def test_compressed_results_round_trip_and_are_smaller() -> None:
    rows = json.loads(JSON)
    blob = compress_results(rows)
    assert decompress_results(blob) == rows
    assert len(blob) * 5 < len(JSON) and blob[:2] == b"\x1f\x8b"
