"""Python work counted: the bytecode instructions a call executes, in its own thread and in threads it starts.

>>> count_python_work(lambda: [x * 2 for x in range(1_000)]).instructions > 5_000
True
>>> import math
>>> count_python_work(math.fsum, range(1_000_000)).instructions
0

A loop over rows runs Python instructions for every row; a vectorized version runs the same number whatever
the rows, because its loops run in C. Unlike a time, a count does not depend on how busy the machine is: the
same call on the same kind of input executes the same instructions. The counter is a trace function
(``sys.settrace`` with per-opcode events), so a call runs several times slower while it is counted: count on
small inputs, time without counting. The cyclic garbage collector is paused while a call is counted: a
collection would run finalizers and ``gc.callbacks`` of objects from before the call in its thread, and they
would be counted with it. A check that counts must also know that the call did not switch the
counting off: :attr:`PythonWork.tampered` says when it did (the trace function replaced, or a frame's own
tracing turned off).
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

# Bound once: replacing them in sys or threading later does not blind the counter.
_settrace, _gettrace, _get_ident = sys.settrace, sys.gettrace, threading.get_ident
_thread_settrace, _thread_gettrace = threading.settrace, threading.gettrace
_gc_disable, _gc_enable, _gc_isenabled = gc.disable, gc.enable, gc.isenabled
#: While a call is counted: (its thread's id, what to call when that thread switches tracing). Read by the hook.
_watching: tuple[int, Callable[[str], None]] | None = None


@functools.cache
def _install_audit_hook() -> None:
    """An audit hook cannot be removed: one for the process, idle while nothing is counted. (Cached rather
    than a module flag, so no name of this module is rebound while a check runs: check()'s guard watches them.)"""
    sys.addaudithook(_audit)


class _Stopped(BaseException):
    """Raised inside the counted call at its limit (a BaseException, so ``except Exception`` lets it through)."""


@dataclass(frozen=True)
class PythonWork:
    """What :func:`count_python_work` saw: the call's result, its instruction count, whether it was stopped.

    >>> PythonWork(None, 1_200, stopped=False, tampered="").instructions
    1200
    """

    #: What the call returned (None when it was stopped).
    value: Any
    #: Bytecode instructions executed by the call, and by the threads it started, while it ran.
    instructions: int
    #: The call reached its limit and was interrupted.
    stopped: bool
    #: "" or what switched the counting off during the call (``sys.settrace``, ``frame.f_trace``, ...).
    tampered: str


def _audit(event: str, args: tuple[Any, ...]) -> None:
    watching = _watching
    if watching is not None and event == "sys.settrace" and _get_ident() == watching[0]:
        watching[1](event)


def count_python_work(fn: Callable[..., Any], /, *args: Any, limit: int | None = None,
                      **kwargs: Any) -> PythonWork:
    """Call ``fn(*args, **kwargs)`` and count the Python bytecode instructions it executes.

    >>> def squares(n):
    ...     return [i * i for i in range(n)]
    >>> small, large = count_python_work(squares, 100), count_python_work(squares, 1_100)
    >>> 5 <= (large.instructions - small.instructions) / 1_000 < 20  # instructions per extra item
    True
    >>> count_python_work(squares, 10**9, limit=10_000).stopped
    True

    Threads the call starts are counted too, while the call runs. An exception from ``fn`` propagates (after
    the counting is switched off). Parameters: ``fn`` and its arguments; ``limit`` the most instructions
    before the call is interrupted (a runaway loop costs at most that; None: no limit).
    """
    global _watching
    if _watching is not None:
        raise RuntimeError("count_python_work is already counting a call; counts cannot be nested")
    cap = sys.maxsize if limit is None else limit
    instructions = calls = returns = 0
    tampered, active = "", True

    def seen(what: str) -> None:
        nonlocal tampered
        tampered = tampered or what

    def main(frame: FrameType, event: str, arg: Any) -> Any:  # the calling thread: every new frame is counted
        nonlocal calls
        frame.f_trace = local  # before f_trace_opcodes: Python 3.12+ instruments the frame only if it has one
        frame.f_trace_lines = False
        frame.f_trace_opcodes = True
        calls += 1
        return local

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        global _watching
        nonlocal instructions, returns
        if event == "opcode":
            instructions += 1
            if instructions > cap:
                _watching = None  # raising unsets the trace function, which is no tampering
                raise _Stopped
        elif event == "return":
            returns += 1
            if not frame.f_trace_opcodes:
                seen("frame.f_trace_opcodes")
        return local

    def thread(frame: FrameType, event: str, arg: Any) -> Any:  # threads started by the call, while it runs
        if not active:
            _settrace(None)
            return None
        frame.f_trace = other
        frame.f_trace_lines = False
        frame.f_trace_opcodes = True
        return other

    def other(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal instructions
        if not active:
            return None
        if event == "opcode":
            instructions += 1
        return other

    _install_audit_hook()
    previous, previous_thread = _gettrace(), _thread_gettrace()
    value, stopped = None, False
    collecting = _gc_isenabled()
    _gc_disable()
    _thread_settrace(thread)
    _settrace(main)
    _watching = (_get_ident(), seen)
    try:
        value = fn(*args, **kwargs)
    except _Stopped:
        stopped = True
    finally:
        _watching = None
        _settrace(previous)
        _thread_settrace(previous_thread)
        active = False
        if collecting:
            _gc_enable()
    if stopped or instructions > cap:
        return PythonWork(None, instructions, True, "")
    if not tampered and calls != returns:
        tampered = "frame.f_trace"  # a frame that stopped reporting to the counter never reported its return
    return PythonWork(value, instructions, False, tampered)
