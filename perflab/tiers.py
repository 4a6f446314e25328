"""The book's §1 tiers for latency (good / acceptable / poor) and throughput (low / medium / high).

>>> print(latency_tier(0.0025))
good (< 100 ms)
>>> print(throughput_tier(1300))
high (> 1,000 requests/s)

The book grades a whole service this way: latency as a user waits for a request, throughput as
requests a second the service completes. A chapter names the tier its measurement falls in, and says
what differs between its setup (one function, one thread, often the database in-process) and a service.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from perflab.errors import PerflabError


@dataclass(frozen=True)
class Tier:
    """A named range of a metric, as the book states it: ``name`` and the range in words.

    >>> str(Tier("acceptable", "100-500 ms"))
    'acceptable (100-500 ms)'
    """

    name: str
    range: str

    def __str__(self) -> str:
        return f"{self.name} ({self.range})"


#: The book's latency tiers, best first: below 100 ms, 100 ms to 500 ms (both included), above 500 ms.
GOOD, ACCEPTABLE, POOR = Tier("good", "< 100 ms"), Tier("acceptable", "100-500 ms"), Tier("poor", "> 500 ms")

#: The book's throughput tiers, lowest first: below 100/s, 100/s to 1,000/s (both included), above 1,000/s.
LOW, MEDIUM, HIGH = (Tier("low", "< 100 requests/s"), Tier("medium", "100-1,000 requests/s"),
                     Tier("high", "> 1,000 requests/s"))


def _value(value: object, what: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise PerflabError(f"{what} must be a finite number >= 0, got {value!r} — e.g. {example}")
    return float(value)


def latency_tier(seconds: float) -> Tier:
    """The book's latency tier for a request that takes ``seconds``.

    >>> latency_tier(0.1).name, latency_tier(0.5).name, latency_tier(0.75).name
    ('acceptable', 'acceptable', 'poor')

    Parameters:
        seconds: the latency in seconds (a p50 or p99 in milliseconds is ``ms / 1000``).
    """
    value = _value(seconds, "seconds", "latency_tier(p99_ms / 1000)")
    return GOOD if value < 0.100 else ACCEPTABLE if value <= 0.500 else POOR


def throughput_tier(per_second: float) -> Tier:
    """The book's throughput tier for a service that completes ``per_second`` requests a second.

    >>> throughput_tier(99).name, throughput_tier(100).name, throughput_tier(1000).name
    ('low', 'medium', 'medium')

    Parameters:
        per_second: requests completed per second.
    """
    value = _value(per_second, "per_second", "throughput_tier(done / seconds)")
    return LOW if value < 100 else MEDIUM if value <= 1000 else HIGH
