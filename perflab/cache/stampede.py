"""Stage a stampede: many threads calling the same function at the same moment.

>>> calls = []
>>> all_at_once(lambda: calls.append(1), 20)
>>> len(calls)
20

A cold key under load: every request that arrives before the first one has stored the value misses
too. :func:`all_at_once` starts ``n`` threads that wait at a barrier until all of them are ready, so
they call ``fn`` together, as requests in the same instant would; it returns when all have finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def all_at_once(fn: Callable[[], Any], n: int = 50) -> None:
    """Call ``fn()`` in ``n`` threads released together; return when every call has finished.

    An exception in a thread is printed by ``threading`` and does not stop the others.
    """
    start = threading.Barrier(n)

    def request() -> None:
        start.wait()  # all threads ask at the same moment
        fn()

    threads = [threading.Thread(target=request) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
