"""Codecs (gzip, brotli, zstd) at every level, their measured ratio and speed, and the end-to-end model.

>>> run = run_codec(b"abc" * 10_000, "gzip", 6)
>>> run.size, run.compressed < 200, run.label
(30000, True, 'gzip-6')
>>> transfer_seconds(1_250_000, 10)   # 1.25 MB over 10 Mbit/s: computed, not measured
1.0

End-to-end time of a response = compress (measured) + transfer (computed from the bytes and the
bandwidth) + decompress (measured). ``identity`` is "no compression": nothing to compute, every
byte sent.
"""

from __future__ import annotations

import gc
import gzip
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError

if TYPE_CHECKING:
    import pandas as pd

#: The levels each codec offers (identity has one: "no compression").
LEVELS: dict[str, tuple[int, ...]] = {
    "identity": (0,),
    "gzip": tuple(range(1, 10)),
    "brotli": tuple(range(0, 12)),
    "zstd": tuple(range(1, 20)),
}
#: The level each codec uses when none is given (the libraries' defaults).
DEFAULT_LEVEL = {"identity": 0, "gzip": 6, "brotli": 11, "zstd": 3}
#: The link speeds of the chapter, in Mbit/s.
BANDWIDTHS = (10, 100, 1000)


def _check(codec: str, level: int) -> None:
    if codec not in LEVELS:
        raise PerflabError(f"unknown codec {codec!r}; use one of {', '.join(map(repr, LEVELS))}")
    if level not in LEVELS[codec]:
        levels = LEVELS[codec]
        raise PerflabError(f"{codec} has levels {levels[0]}-{levels[-1]}, got {level!r}")


def compressor(codec: str, level: int | None = None) -> Callable[[bytes], bytes]:
    """The function that compresses bytes with ``codec`` at ``level``.

    >>> compressor("zstd", 1)(b"")[:4] == bytes.fromhex("28b52ffd")   # zstd's magic number
    True

    Parameters: ``codec`` (one of LEVELS), ``level`` (one of its levels; None: its default).
    """
    level = DEFAULT_LEVEL.get(codec, 0) if level is None else level
    _check(codec, level)
    if codec == "gzip":
        return lambda data: gzip.compress(data, level, mtime=0)
    if codec == "brotli":
        import brotli

        return lambda data: bytes(brotli.compress(data, quality=level))
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=level).compress
    return bytes


def decompressor(codec: str) -> Callable[[bytes], bytes]:
    """The function that undoes ``codec``.

    >>> decompressor("gzip")(compressor("gzip", 1)(b"hello"))
    b'hello'
    """
    _check(codec, DEFAULT_LEVEL.get(codec, 0))
    if codec == "gzip":
        return gzip.decompress
    if codec == "brotli":
        import brotli

        return lambda data: bytes(brotli.decompress(data))
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress
    return bytes


def transfer_seconds(nbytes: int, mbit_per_s: float) -> float:
    """Seconds to send ``nbytes`` over a link of ``mbit_per_s`` megabits a second (computed, not measured).

    >>> transfer_seconds(125_000, 1000) * 1000   # 125 kB over 1 Gbit/s, in ms
    1.0
    """
    if not mbit_per_s > 0:
        raise PerflabError(f"bandwidth must be > 0 Mbit/s, got {mbit_per_s!r}")
    return nbytes * 8 / (mbit_per_s * 1e6)


@dataclass(frozen=True)
class CodecRun:
    """One codec at one level on one payload: sizes, and the fastest of a few compress / decompress runs."""

    codec: str
    level: int
    size: int
    compressed: int
    compress_s: float
    decompress_s: float

    @property
    def label(self) -> str:
        """``gzip-6``, ``zstd-3``, ``identity``."""
        return self.codec if self.codec == "identity" else f"{self.codec}-{self.level}"

    @property
    def ratio(self) -> float:
        """Original size / compressed size (10.0: a tenth of the bytes)."""
        return self.size / self.compressed if self.compressed else float("inf")

    def mb_per_s(self, seconds: float) -> float:
        """Throughput in MB (10^6 bytes) of original data a second."""
        return self.size / seconds / 1e6 if seconds > 0 else float("inf")

    def end_to_end_s(self, mbit_per_s: float) -> float:
        """Compress (measured) + transfer of the compressed bytes (computed) + decompress (measured)."""
        return self.compress_s + transfer_seconds(self.compressed, mbit_per_s) + self.decompress_s


def _fastest(fn: Callable[[], Any], repeat: int, budget: float, clock: Callable[[], float]) -> float:
    """The shortest of up to ``repeat`` timed calls (fewer if ``budget`` seconds run out), GC off."""
    best = float("inf")
    spent = 0.0
    was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = clock()
            fn()
            took = clock() - start
            best, spent = min(best, took), spent + took
            if spent >= budget:
                break
    finally:
        if was_on:
            gc.enable()
    return best


def run_codec(data: bytes, codec: str, level: int | None = None, *, repeat: int = 3, budget: float = 0.5,
              clock: Callable[[], float] = time.perf_counter) -> CodecRun:
    """Compress and decompress ``data``: the sizes, and the fastest of ``repeat`` runs of each.

    >>> run_codec(b"x" * 1000, "identity").ratio
    1.0

    The round trip is checked (the decompressed bytes must equal ``data``).
    Parameters: ``data``; ``codec`` and ``level`` (None: the codec's default); ``repeat`` runs at most;
    ``budget`` seconds per direction after which no more runs start; ``clock`` (tests pass a fake one).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PerflabError(f"data must be bytes, got {type(data).__name__} — encode text first: text.encode()")
    data = bytes(data)
    level = DEFAULT_LEVEL.get(codec, 0) if level is None else level
    pack, unpack = compressor(codec, level), decompressor(codec)
    packed = pack(data)
    if unpack(packed) != data:  # pragma: no cover - a broken library
        raise PerflabError(f"{codec}-{level} did not give the original bytes back")
    return CodecRun(codec, level, len(data), len(packed),
                    _fastest(lambda: pack(data), repeat, budget, clock),
                    _fastest(lambda: unpack(packed), repeat, budget, clock))


def sweep(data: bytes, options: Iterable[tuple[str, int]], **kwargs: Any) -> list[CodecRun]:
    """:func:`run_codec` for each ``(codec, level)`` in ``options``.

    >>> [r.label for r in sweep(b"abc" * 100, [("identity", 0), ("gzip", 1), ("zstd", 3)])]
    ['identity', 'gzip-1', 'zstd-3']

    Parameters: ``data``, ``options``, and ``run_codec``'s keywords (``repeat``, ``budget``, ``clock``).
    """
    return [run_codec(data, codec, level, **kwargs) for codec, level in options]


def runs_table(runs: Iterable[CodecRun]) -> pd.DataFrame:
    """The runs as a DataFrame: codec, level, sizes, ratio, and compress / decompress speed in MB/s.

    >>> runs_table([CodecRun("gzip", 6, 1000, 100, 0.001, 0.0001)])[["label", "ratio", "compress MB/s"]].values.tolist()
    [['gzip-6', 10.0, 1.0]]
    """
    import pandas as pd

    return pd.DataFrame([{
        "codec": r.codec, "level": r.level, "label": r.label, "bytes": r.size, "compressed": r.compressed,
        "ratio": r.ratio, "compress MB/s": r.mb_per_s(r.compress_s),
        "decompress MB/s": r.mb_per_s(r.decompress_s),
    } for r in runs])


def end_to_end_table(runs: Iterable[CodecRun], bandwidths: Iterable[float] = BANDWIDTHS) -> pd.DataFrame:
    """End-to-end milliseconds of each run at each bandwidth: compress + transfer (computed) + decompress.

    >>> t = end_to_end_table([CodecRun("identity", 0, 125_000, 125_000, 0.0, 0.0)], [10, 1000])
    >>> t[["Mbit/s", "total ms"]].values.tolist()
    [[10.0, 100.0], [1000.0, 1.0]]
    """
    import pandas as pd

    rows = []
    for r in runs:
        for mbit in bandwidths:
            rows.append({"label": r.label, "codec": r.codec, "level": r.level, "Mbit/s": float(mbit),
                         "compress ms": r.compress_s * 1e3,
                         "transfer ms": transfer_seconds(r.compressed, mbit) * 1e3,
                         "decompress ms": r.decompress_s * 1e3, "total ms": r.end_to_end_s(mbit) * 1e3})
    return pd.DataFrame(rows)


def best_run(runs: Iterable[CodecRun], mbit_per_s: float, cpu_ms: float | None = None) -> CodecRun:
    """The run with the shortest end-to-end time at ``mbit_per_s``, among those compressing within ``cpu_ms``.

    >>> fast, slow = CodecRun("zstd", 1, 10**6, 10**5, 0.002, 0.001), CodecRun("identity", 0, 10**6, 10**6, 0, 0)
    >>> best_run([fast, slow], 10).label, best_run([fast, slow], 10_000).label
    ('zstd-1', 'identity')

    Parameters: ``runs``; ``mbit_per_s``, the link; ``cpu_ms``, the most compress time allowed (None: any).
    """
    eligible = [r for r in runs if cpu_ms is None or r.compress_s * 1e3 <= cpu_ms]
    if not eligible:
        raise PerflabError(f"no codec compresses within {cpu_ms} ms — include identity (no compression)")
    return min(eligible, key=lambda r: r.end_to_end_s(mbit_per_s))


def compress_results(data: Any, level: int = 6) -> bytes:
    """A query result (anything JSON can write) as gzipped JSON, to keep in a cache.

    >>> blob = compress_results([{"id": i, "status": "shipped"} for i in range(1000)])
    >>> len(blob) < 3000, decompress_results(blob)[999]
    (True, {'id': 999, 'status': 'shipped'})
    """
    from perflab.payloads import to_json

    return gzip.compress(to_json(data), level, mtime=0)


def decompress_results(blob: bytes) -> Any:
    """The result that :func:`compress_results` packed, back as Python objects."""
    import json

    return json.loads(gzip.decompress(blob))
