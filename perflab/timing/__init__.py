"""Timing you can trust: ``measure`` one function, ``compare`` several, ``Spans`` to see where the time goes.

>>> from perflab.timing import measure
>>> m = measure(sorted, list(range(1000)), budget=0.05)
>>> m.loops >= 1 and m.median > 0
True

``measure`` (and ``ameasure``, ``measure_many``) live in ``perflab.timing.measure``, ``compare`` and its
``Comparison`` in ``perflab.timing.compare``, ``Spans`` in ``perflab.timing.spans``; this package
re-exports them (and ``format_time`` from ``perflab.display``).
"""

from __future__ import annotations

from perflab.display import format_time
from perflab.timing.compare import Comparison, compare
from perflab.timing.measure import Clock, Measurement, NoisyMeasurement, ameasure, measure, measure_many
from perflab.timing.spans import Span, Spans

__all__ = [
    "Clock",
    "Comparison",
    "Measurement",
    "NoisyMeasurement",
    "Span",
    "Spans",
    "ameasure",
    "compare",
    "format_time",
    "measure",
    "measure_many",
]
