"""Reference solution of chapter 05, compression.

The check ("05-pick-codec") makes fresh scenarios (payload, link speed, CPU budget) and measures
every option; see :mod:`perflab.exercises.ch05`.
"""

from __future__ import annotations

from perflab.compression import CodecRun, best_run, run_codec
from perflab.exercises.ch05 import MENU


def pick_codec(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """05-pick-codec: the codec and level with the least compress + transfer + decompress time, within budget."""
    # Measure each option on a slice: a few tens of milliseconds instead of seconds for the slow levels.
    sample = payload[:100_000]
    scale = len(payload) / max(1, len(sample))
    runs = []
    for codec, level in MENU:
        r = run_codec(sample, codec, level, repeat=2, budget=0.05)
        # Scale up to the whole payload: time and size grow about linearly with the bytes.
        runs.append(CodecRun(codec, level, len(payload), round(r.compressed * scale),
                             r.compress_s * scale, r.decompress_s * scale))
    best = best_run(runs, mbit_per_s, cpu_ms)  # end-to-end time, among those within the CPU budget
    return best.codec, best.level
