"""05-pick-codec, correct in other styles: the whole menu on the whole payload, a hand-timed short list on a slice,
the codec libraries timed directly; all must pass."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable

import brotli
import zstandard

from perflab.compression import best_run, compressor, decompressor, sweep, transfer_seconds
from perflab.exercises.ch05 import MENU


def brute_force(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """Measure every option of the menu on the whole payload."""
    best = best_run(sweep(payload, MENU, repeat=2, budget=0.05), mbit_per_s, cpu_ms)
    return best.codec, best.level


def short_list(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """Time a short list by hand on a 64 KB slice with perflab's codec functions, scaled to the whole payload
    (sending the bytes as they are costs no CPU, whatever a single timing of it says)."""
    sample, options = payload[:65_536], [("identity", 0), ("zstd", 1), ("zstd", 3), ("zstd", 9), ("brotli", 5)]
    scale, costs = len(payload) / len(sample), {}
    for codec, level in options:
        start = time.perf_counter()
        packed = compressor(codec, level)(sample)
        middle = time.perf_counter()
        decompressor(codec)(packed)
        compress_ms, total = (middle - start) * 1e3 * scale, (time.perf_counter() - start) * scale
        if codec == "identity" or compress_ms <= cpu_ms:
            costs[codec, level] = total + transfer_seconds(int(len(packed) * scale), mbit_per_s)
    return min(costs, key=costs.__getitem__)


DIRECT: dict[tuple[str, int], Callable[[bytes], bytes]] = {
    ("gzip", 1): lambda d: gzip.compress(d, 1), ("gzip", 6): lambda d: gzip.compress(d, 6),
    ("brotli", 5): lambda d: brotli.compress(d, quality=5),
    ("zstd", 1): zstandard.ZstdCompressor(level=1).compress, ("zstd", 3): zstandard.ZstdCompressor(level=3).compress,
    ("zstd", 9): zstandard.ZstdCompressor(level=9).compress,
}


def direct(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """Compress the whole payload with each library, no perflab helpers, the faster of two calls (a first call on a
    larger input than before pays for memory); decompressing is counted as much again (pessimistic); identity
    unless something beats it within the budget."""
    best, best_s = ("identity", 0), len(payload) * 8 / (mbit_per_s * 1e6)
    for option, pack in DIRECT.items():
        seconds = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            packed = pack(payload)
            seconds = min(seconds, time.perf_counter() - start)
        total = 2 * seconds + len(packed) * 8 / (mbit_per_s * 1e6)
        if seconds * 1e3 <= cpu_ms and total < best_s:
            best, best_s = option, total
    return best


PICK_CODEC = [brute_force, short_list, direct]
