"""03-pick-strategy, cheats: wrong picks made to look right by changing what the check measures; each must fail.

Each cheat is a function of the test's engine and the test's way of calling the check (``check(fn, engine=...)``),
returning the CheckResult: some hand the check a different engine, some a function that changes the surroundings
of the measurement while it answers. Each undoes what it changed once the check has answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

import perflab.exercises.ch03 as ch03
from perflab.exercises import CheckResult
from perflab.exercises.ch03 import pick_strategy_reference
from perflab.latency import inject_latency, remove_latency

Check = Callable[..., CheckResult]

#: The old starter of the chapter (joined everywhere), with only its first pick fixed: the JOIN on the regulars'
#: collections stays.
FIRST_FIXED = {"top-customers": "lazy", "order-list": "joined", "regulars": "joined"}


def wrong_picks(pattern: str) -> str:
    return FIRST_FIXED[pattern]


def first_fixed(engine: Engine, check: Check) -> CheckResult:
    return check(wrong_picks, engine=engine)


def imported_reference(engine: Engine, check: Check) -> CheckResult:
    """``from perflab.exercises.ch03 import pick_strategy_reference as pick_strategy``."""
    return check(pick_strategy_reference, engine=engine)


def wrapped_reference(engine: Engine, check: Check) -> CheckResult:
    def pick_strategy(pattern: str) -> str:
        return pick_strategy_reference(pattern)

    return check(pick_strategy, engine=engine)


@contextmanager
def _undo(undo: Callable[[], Any]) -> Iterator[None]:
    try:
        yield
    finally:
        undo()


def sleeping_listener(engine: Engine, check: Check) -> CheckResult:
    """A listener on every engine's statements, installed by the first call, sleeping 20 ms before each one:
    the number of statements then outweighs the rows a JOIN multiplies."""
    def sleep(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.02)

    def pick_strategy(pattern: str) -> str:
        if not event.contains(Engine, "before_cursor_execute", sleep):
            event.listen(Engine, "before_cursor_execute", sleep)
        return FIRST_FIXED[pattern]

    with _undo(lambda: event.contains(Engine, "before_cursor_execute", sleep)
               and event.remove(Engine, "before_cursor_execute", sleep)):
        return check(pick_strategy, engine=engine)


def latency_engine(engine: Engine, check: Check) -> CheckResult:
    """The check handed an engine with 10 ms of injected latency per round trip (``perflab.connect(latency_ms=10)``)."""
    inject_latency(engine, 10)
    with _undo(lambda: remove_latency(engine)):
        return check(wrong_picks, engine=engine)


def latency_injected_by_the_function(engine: Engine, check: Check) -> CheckResult:
    def pick_strategy(pattern: str) -> str:
        inject_latency(engine, 10)
        return FIRST_FIXED[pattern]

    with _undo(lambda: remove_latency(engine)):
        return check(pick_strategy, engine=engine)


def busy_thread(engine: Engine, check: Check) -> CheckResult:
    """A thread started by the first call that burns CPU while the check measures: every timed run slows down, the
    round trips the check adds do not, so the options come closer together."""
    stop = threading.Event()

    def burn() -> None:
        while not stop.is_set():
            sum(range(1000))

    def pick_strategy(pattern: str) -> str:
        if not any(t.name == "burn" for t in threading.enumerate()):
            threading.Thread(target=burn, name="burn", daemon=True).start()
        return FIRST_FIXED[pattern]

    with _undo(stop.set):
        return check(pick_strategy, engine=engine)


def patched_loader(engine: Engine, check: Check) -> CheckResult:
    """The check's loader options replaced by none: every strategy runs lazily, so every pick costs the same."""
    original = ch03._options

    def pick_strategy(pattern: str) -> str:
        ch03._options = lambda strategy, *paths: []  # type: ignore[assignment]
        return FIRST_FIXED[pattern]

    def restore() -> None:
        ch03._options = original  # type: ignore[assignment]

    with _undo(restore):
        return check(pick_strategy, engine=engine)


def patched_pattern(engine: Engine, check: Check) -> CheckResult:
    """The regulars' page swapped for the order list, where a JOIN is fine."""
    original = ch03.PATTERNS["regulars"]

    def pick_strategy(pattern: str) -> str:
        ch03.PATTERNS["regulars"] = ch03.PATTERNS["order-list"]
        return FIRST_FIXED[pattern]

    def restore() -> None:
        ch03.PATTERNS["regulars"] = original

    with _undo(restore):
        return check(pick_strategy, engine=engine)


class AlwaysEqual(str):
    """A string equal to everything: to whichever strategy the check compares it with."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash("joined")


def always_equal(engine: Engine, check: Check) -> CheckResult:
    return check(lambda pattern: AlwaysEqual("joined"), engine=engine)


def loose_tolerance(engine: Engine, check: Check) -> CheckResult:
    """``check(..., tolerance=100)``: the test keyword can only make the check stricter."""
    return check(wrong_picks, engine=engine, tolerance=100)


def stopped_clock(engine: Engine, check: Check) -> CheckResult:
    """``check(..., clock=lambda: 0.0)``: no option takes any time, so only the round trips would count."""
    return check(wrong_picks, engine=engine, clock=lambda: 0.0)


#: (cheat, fragments its ❌ must contain)
CHEATS: list[tuple[Callable[[Engine, Check], CheckResult], tuple[str, ...]]] = [
    (first_fixed, ("1 of 3 picks", "regulars: joined", "rows sent, the page reads")),
    (imported_reference, ("pick_strategy_reference is pick_strategy_reference, the check's own answer",)),
    (wrapped_reference, ("pick_strategy uses pick_strategy_reference, the check's own answer",)),
    (sleeping_listener, ("left an event listener (ConnectionEvents.before_cursor_execute)",)),
    (latency_engine, ("10 ms of injected latency",)),
    (latency_injected_by_the_function, ("left injected latency (10 ms per round trip)",)),
    (busy_thread, ("left a thread still running (burn)",)),
    (patched_loader, ("changed the check itself (perflab.exercises.ch03._options); it is put back",)),
    (patched_pattern, ("left a replaced page (PATTERNS['regulars']) behind",)),
    (always_equal, ("regulars: joined",)),
    (loose_tolerance, ("over 3x the cheapest",)),
    (stopped_clock, ("the clock given to the check did not move",)),
]
