"""perflab: the helper package of a hands-on course on application performance.

>>> import perflab
>>> engine = perflab.connect()  # doctest: +SKIP
>>> perflab.measure(lambda: sum(range(1000)))  # doctest: +SKIP
8.61 µs ± 0.05 µs (median ± IQR/2, 7 runs × 2,000 loops)

Names are loaded on first use, so ``import perflab`` stays fast (no SQLAlchemy, NumPy or IPython
until a notebook asks for them). ``%load_ext perflab`` loads the IPython magics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Measurement",
    "Spans",
    "TooManyQueries",
    "ameasure",
    "check",
    "claim",
    "compare",
    "connect",
    "counts",
    "explain",
    "fingerprint",
    "hint",
    "inject_latency",
    "measure",
    "query_log",
    "settings",
    "verdict",
]

_HOME = {
    "claim": "claims", "verdict": "claims",
    "settings": "config",
    "connect": "db",
    "counts": "dataset", "fingerprint": "dataset",
    "check": "exercises", "hint": "exercises",
    "inject_latency": "latency",
    "explain": "plans",
    "TooManyQueries": "querylog", "query_log": "querylog",
    "Measurement": "timing", "Spans": "timing", "ameasure": "timing", "compare": "timing", "measure": "timing",
}

if TYPE_CHECKING:
    from perflab.claims import claim, verdict
    from perflab.config import settings
    from perflab.dataset import counts, fingerprint
    from perflab.db import connect
    from perflab.exercises import check, hint
    from perflab.latency import inject_latency
    from perflab.plans import explain
    from perflab.querylog import TooManyQueries, query_log
    from perflab.timing import Measurement, Spans, ameasure, compare, measure


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'perflab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"perflab.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext perflab``: register ``%%queries`` and ``%measure`` (IPython is imported only now)."""
    from perflab.magics import load

    load(ipython)
