"""An asyncio event loop with virtual time: ``asyncio.sleep(5)`` returns at once, and ``loop.time()`` says 5 s passed.

>>> loop = VirtualTimeLoop()
>>> loop.run_until_complete(asyncio.sleep(5, result="done")), loop.time()
('done', 5.0)
>>> loop.close()

When nothing is ready to run, the loop would wait in ``select`` until the next timer; this one moves its
clock to that timer instead and carries on. Schedules of coroutines that only wait on timers
(``asyncio.sleep``, ``wait_for``) come out exact and take no real time: the tests of chapter 04's check
read them without a single real-time assert. Sockets and threads still work (their readiness is polled).
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

from conftest import FakeClock


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:  # no timer at all: only I/O or another thread can wake the loop
            return list(super().select(None))
        ready = list(super().select(0))
        if not ready and timeout > 0:
            self.clock.advance(timeout)  # jump to the next timer
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is a :class:`FakeClock` that jumps to the next timer when idle."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        super().__init__(selector=_JumpingSelector(self.clock))

    def time(self) -> float:
        return self.clock()
