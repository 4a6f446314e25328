"""Memory measurement: the peak memory Python allocates while a function runs (``tracemalloc``).

>>> peak_kib(bytearray, 1_000_000) > 900
True

``tracemalloc`` sees every allocation made by Python code and by C code through Python's allocator
(SQLAlchemy rows, ORM objects, lists, strings); it does not see memory a C library takes for itself
(SQLite's page cache, a driver's buffers).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any


def peak_kib(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> float:
    """Peak memory (KiB) that Python allocates while ``fn(*args, **kwargs)`` runs, above what it held before.

    >>> peak_kib(list, range(100_000)) > 300
    True

    If tracemalloc is already tracing (you started it), it keeps tracing and only its peak is reset.

    Parameters:
        fn, args, kwargs: the call to measure.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn(*args, **kwargs)
        return (tracemalloc.get_traced_memory()[1] - before) / 1024
    finally:
        if not was_tracing:
            tracemalloc.stop()
