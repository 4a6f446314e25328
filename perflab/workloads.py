"""A CPU-bound task for chapter 04's pools: importable, so a process pool's workers can run it.

>>> cpu_work(1000)
2997

A function defined in a notebook cell cannot be sent to a ``spawn``-started worker process (the
worker imports functions by module and name, and a notebook is no module), so the chapter's CPU
work lives here. It is plain Python bytecode: it holds the GIL the whole time it runs.
"""

from __future__ import annotations

#: Iterations of :func:`cpu_work` that take roughly 20 ms on a laptop core (the chapter prints its own figure).
DEFAULT_ITERATIONS = 200_000


def cpu_work(iterations: int = DEFAULT_ITERATIONS) -> int:
    """Pure-Python arithmetic that keeps one core busy (and holds the GIL): a checksum of ``iterations`` steps.

    >>> cpu_work(10)
    24

    Parameters:
        iterations: how many loop steps; the time grows linearly with it.
    """
    total = 0
    for i in range(iterations):
        total += i % 7
    return total
