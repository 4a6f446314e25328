"""A CPU-bound task for chapter 04's pools: importable, so a process pool's workers can run it; and that pool.

>>> cpu_work(1000)
2997

A function defined in a notebook cell cannot be sent to a ``spawn``-started worker process (the
worker imports functions by module and name, and a notebook is no module), so the chapter's CPU
work lives here. It is plain Python bytecode: it holds the GIL the whole time it runs.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

#: Iterations of :func:`cpu_work` that take roughly 50 ms on a laptop core (the chapter prints its own figure):
#: long enough that a batch's wall time is mostly the work, not the scheduling around it.
DEFAULT_ITERATIONS = 1_500_000

#: The pool :func:`cpu_pool` made last in this process (shut down when the next one is made).
_POOLS: list[ProcessPoolExecutor] = []


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


def cpu_pool(workers: int = 2) -> ProcessPoolExecutor:
    """A process pool of ``workers`` fresh interpreters (``spawn``), started and warmed up; shut down the previous one.

    >>> pool = cpu_pool(1)
    >>> pool.submit(cpu_work, 10).result()
    24
    >>> pool.shutdown()

    ``spawn`` starts each worker as a new Python (safe in a kernel that runs threads); every worker
    runs one small call before this returns, so timings do not include starting Python. Calling it
    again (a cell run twice) shuts down the pool it made before: one pool per kernel.

    Parameters:
        workers: processes in the pool (1 to 8).
    """
    from perflab.errors import PerflabError

    if not isinstance(workers, int) or not 1 <= workers <= 8:
        raise PerflabError(f"workers must be a whole number from 1 to 8, got {workers!r}")
    while _POOLS:
        _POOLS.pop().shutdown()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(cpu_work, [1] * workers))  # start the workers now
    _POOLS.append(pool)
    return pool
