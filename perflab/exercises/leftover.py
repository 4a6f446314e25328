"""What a learner's function leaves running after it returns: threads and child processes that outlive the call.

>>> import threading
>>> before = Running.now()
>>> stop = threading.Event()
>>> threading.Thread(target=stop.wait).start()
>>> left_running(before, grace=0.05)
'1 thread'
>>> stop.set()

A timed check stops its clock when the function returns. Work the function hands to a thread or a
process it does not wait for is not timed, and it keeps the processor busy while the check times
whatever comes next (a CPU-spinning thread left behind once made the original look slower and a
copy of the original pass). The check takes a :class:`Running` before each call and asks
:func:`left_running` after it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from perflab.display import plural


@dataclass(frozen=True)
class Running:
    """The Python threads (their idents) and live child processes (their pids) of this process, now."""

    threads: frozenset[int]
    children: frozenset[int]

    @classmethod
    def now(cls) -> Running:
        import psutil

        # every thread running Python code, also one started with _thread (threading.enumerate misses those)
        threads = frozenset(sys._current_frames())
        children = set()
        for child in psutil.Process().children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE:  # ended, not yet reaped: not running
                    children.add(child.pid)
            except psutil.NoSuchProcess:
                pass
        return cls(threads, frozenset(children))


def left_running(before: Running, grace: float = 0.5) -> str | None:
    """What started after ``before`` and still runs ``grace`` seconds later (``'2 threads'``), or None.

    Parameters: ``before`` taken before the call; ``grace`` seconds to let work that is ending end.
    """
    deadline = time.monotonic() + grace
    while True:
        now = Running.now()
        threads, children = now.threads - before.threads, now.children - before.children
        if not threads and not children:
            return None
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    parts = [plural(len(threads), "thread")] if threads else []
    if children:
        parts.append(f"{len(children)} child process" + ("" if len(children) == 1 else "es"))
    return " and ".join(parts)
