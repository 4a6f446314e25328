"""Work a learner's function leaves running: threads and child processes that outlive its call, and the processor
time they take from whatever the check times next.

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
:func:`left_running` after it; and it times its own reference calls inside :class:`Elsewhere`, which
measures the processor time the rest of the process took meanwhile (threads left by an earlier call,
or an earlier check, which :func:`left_running` cannot tell from the kernel's own).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from perflab.display import plural
from perflab.growth import children_cpu_seconds


@dataclass(frozen=True)
class Running:
    """The threads running Python code (ident, and OS id where known) and the live child processes (pids), now."""

    threads: frozenset[tuple[int, int | None]]
    children: frozenset[int]

    @classmethod
    def now(cls) -> Running:
        # every thread running Python code, also one started with _thread (threading.enumerate misses those); the
        # OS id tells a new thread from an ended one whose ident it reuses
        native = {thread.ident: thread.native_id for thread in threading.enumerate()}
        threads = frozenset((ident, native.get(ident)) for ident in sys._current_frames())
        return cls(threads, frozenset(child.pid for child in _children()))


def _children() -> list[Any]:
    """The live child processes of this process, at every depth (psutil.Process objects)."""
    import psutil

    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:  # ended, not yet reaped: not running
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


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


@dataclass
class Elsewhere:
    """The processor time the rest of this process (its other threads, its child processes) takes during a block.

    >>> with Elsewhere() as elsewhere:
    ...     _ = sum(range(100_000))
    >>> elsewhere.share < 0.5
    True

    ``share`` is that time over the block's wall time: near 0 while only the block works, 1 for one other
    thread spinning all along. Child processes count, live or ended and waited for (:func:`children_cpu_seconds`,
    read before and after).
    """

    cpu: float = 0.0
    wall: float = 0.0
    _start: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0), repr=False)

    def __enter__(self) -> Elsewhere:
        self._start = (time.perf_counter(), time.process_time(), time.thread_time(), children_cpu_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        wall, process, thread, children = self._start
        in_children = children_cpu_seconds() - children
        self.wall = time.perf_counter() - wall
        self.cpu = (time.process_time() - process) - (time.thread_time() - thread) + max(in_children, 0.0)

    @property
    def share(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0

