"""05-pick-codec, cheats: rules that never look at the payload, or never at the CPU budget; must fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perflab.compression import best_run, sweep
from perflab.exercises.ch05 import MENU


def link_only(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """The link speed decides alone: no compression above 1 Gbit/s, zstd-1 below (the payload and budget unread)."""
    return ("identity", 0) if mbit_per_s > 1000 else ("zstd", 1)


def budget_blind(payload: bytes, mbit_per_s: float, cpu_ms: float) -> tuple[str, int]:
    """The whole menu measured on the payload, the fastest end to end taken, whatever it costs the CPU."""
    best = best_run(sweep(payload, MENU, repeat=2, budget=0.05), mbit_per_s)
    return best.codec, best.level


#: (cheat, the scenarios where it must miss)
PICK_CODEC: list[tuple[Callable[..., Any], set[str]]] = [
    (link_only, {"saturated server", "database backup"}),
    (budget_blind, {"busy server"}),
]
