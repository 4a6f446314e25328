"""Exercise checks of chapter 07: NumPy and pandas vectorization.

07-vectorize is decided by a count, not by a clock: the learner's function runs on 1,000 and on 10,000 fresh
rows while :func:`~perflab.exercises.pywork.count_python_work` counts the Python instructions it executes. A
vectorized version runs the same number for both sizes (its loops are in C); a loop over the rows, in any
disguise (``iterrows``, ``apply``, ``np.vectorize``, a memo filled row by row, a lazy ``__array__``, a thread
it starts), runs more for every row. A count is the same on a quiet and on a busy machine. A loose time floor
against a plain Python loop (CPU time, fastest of five calls on 100,000 fresh rows) then catches what runs no
Python per row and is still slow.
"""

from __future__ import annotations

import functools
import gc
import inspect
import random
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, exercise, failed, passed, pywork, require, run_learner
from perflab.exercises.pywork import PythonWork, count_python_work
from perflab.growth import cpu_clock

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The two sizes the learner's function is counted on (fresh rows each call).
COUNTED_ROWS = (1_000, 10_000)
#: The most Python instructions per extra row a vectorized version may run between the two sizes. Measured
#: (Python 3.11, numpy 2.4, pandas 3.1): every vectorized style runs exactly the same count from 50 rows up
#: (NumPy 1,500-2,600 instructions, pandas 25,000-46,000); row loops run 25-35 per row (an inline loop, a
#: comprehension, ``np.frompyfunc``), ``iterrows`` about 1,300.
MAX_PER_ROW = 0.1
#: A counted call is stopped after this many instructions: vectorized versions run at most about 60,000
#: (pandas ``eval`` on its first call), so a call past this is a loop, and stopping it keeps the check quick.
INSTRUCTION_LIMIT = 300_000
#: Rows of each input the learner's function is timed on, and how many calls (each on rows of its own).
TIMED_ROWS, TIMED_CALLS = 100_000, 5
#: The learner's version must be this many times faster than a plain Python loop over the same rows, in CPU
#: time, fastest call of each, its result converted to an array on the clock unless it is a list, an array or
#: a numeric Series. Only a sanity check: the count decides whether the code is vectorized. Measured on a
#: loaded 2-core machine (2026-11-30): NumPy 10-30x, pandas ``mask``/``where`` 4-12x, pandas on a copy of the
#: frame with ``.loc`` and ``.tolist()`` (the slowest correct style seen) 2.4-3x; loops 0.8-1.5x.
SPEEDUP_FLOOR = 1.5
#: A timed call that leaves this much more CPU time to other threads than it spends itself (and at least
#: THREAD_SECONDS) did its work on a thread the count could not see.
THREAD_SHARE, THREAD_SECONDS = 2.0, 0.005
#: A first timed call this many times slower than the loop ends the timing: it cannot reach the floor.
HOPELESS = 5.0

_SYSTEM_RANDOM = random.SystemRandom()
_CPU_CLOCK = cpu_clock()
_process_time, _thread_time = time.process_time, time.thread_time
#: Whether the per-thread CPU clock is fine enough to tell whose thread did the work (not on Windows).
_THREAD_CLOCKS_FINE = _CPU_CLOCK is time.process_time
#: The numpy functions the check compares with; a learner replacing one during the check is caught.
_NUMPY_USED = ("array", "asarray", "isclose", "argmax", "array_equal", "ndarray")


def line_total(quantity: int, unit_price_cents: int) -> float:
    """Dollars for one order line: quantity × unit price, 10% off from 3 items, 4.99 shipping under 25 dollars.

    >>> line_total(1, 1000), line_total(3, 1000), line_total(2, 2000)
    (14.99, 27.0, 40.0)
    """
    amount = quantity * unit_price_cents / 100
    if quantity >= 3:
        amount *= 0.9
    if amount < 25:
        amount += 4.99
    return amount


def line_totals_reference(items: pd.DataFrame) -> np.ndarray:
    """Reference solution of 07-vectorize: :func:`line_total` of every row, in a few whole-column steps.

    >>> import pandas as pd
    >>> line_totals_reference(pd.DataFrame({"quantity": [1, 3], "unit_price_cents": [1000, 1000]})).tolist()
    [14.99, 27.0]
    """
    import numpy as np

    quantity = items["quantity"].to_numpy()
    amount = quantity * items["unit_price_cents"].to_numpy() / 100
    amount = np.where(quantity >= 3, amount * 0.9, amount)
    return np.where(amount < 25, amount + 4.99, amount)


def python_loop(items: pd.DataFrame) -> list[float]:
    """:func:`line_total` of every row with a plain Python loop: the slow version the check times against."""
    return [line_total(q, p) for q, p in zip(items["quantity"].tolist(), items["unit_price_cents"].tolist())]


def order_lines(n: int, seed: int) -> pd.DataFrame:
    """``n`` made-up order lines (order_id, product_id, quantity, unit_price_cents), int64 like the dataset.

    >>> order_lines(3, seed=1).columns.tolist()
    ['order_id', 'product_id', 'quantity', 'unit_price_cents']
    >>> lines = order_lines(100_000, seed=2)
    >>> int(lines["quantity"].max()) <= 50, 0.3 < float((lines["quantity"] >= 3).mean()) < 0.5
    (True, True)

    Quantities from 1 to 50, mostly small (about 40% from 3 items up, the discount); prices from 99 cents to
    10,000 dollars, evenly spread on a log scale (about a quarter of the lines under 25 dollars, shipping). So
    a mistake in either rule changes many rows, and the pairs (quantity, price) are too many to tabulate: a
    table of answers filled by the slow function does not pay. Parameters: ``n`` rows; ``seed`` (another seed,
    other rows).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "order_id": np.sort(rng.integers(1, n // 3 + 2, n)),
        "product_id": rng.integers(1, 2_001, n),
        "quantity": np.minimum(rng.geometric(0.35, n), 50),
        "unit_price_cents": np.rint(10 ** rng.uniform(np.log10(99), 6, n)).astype("int64"),
    })


def as_totals(got: Any) -> Any:
    """A new flat float64 NumPy array of ``got``'s values, or ``got`` itself if it is not numbers.

    >>> import pandas as pd
    >>> as_totals(pd.Series([14.99, 27])).tolist(), as_totals("abc")
    ([14.99, 27.0], 'abc')

    Always a copy: the check compares values taken the moment the learner's function returned, so nothing
    that keeps running afterwards (a thread filling the array) can change them.
    """
    import numpy as np

    try:
        return np.array(got, dtype="float64", copy=True).reshape(-1)
    except (TypeError, ValueError):
        return got


def converts_at_once(got: Any) -> bool:
    """Whether ``got`` is a list, an ndarray or a Series of plain numbers, whose conversion runs no Python code.

    >>> import numpy as np, pandas as pd
    >>> converts_at_once([1.5]), converts_at_once(np.ones(2)), converts_at_once(pd.Series([1.0]))
    (True, True, True)
    >>> converts_at_once(pd.Series(["a"])), converts_at_once(range(3))
    (False, False)

    The check times such a result's conversion off the clock (the Python loop's list too), and any other
    object's on it: an object that does its work when asked for its values does it on the clock.
    """
    import numpy as np
    import pandas as pd

    if type(got) in (list, np.ndarray):
        return True
    return type(got) is pd.Series and isinstance(got.dtype, np.dtype) and got.dtype.kind in "biuf"


def _same_totals(values: Any, got: Any, expected: np.ndarray, items: pd.DataFrame, name: str) -> CheckResult:
    import numpy as np

    if not isinstance(values, np.ndarray):
        return failed(f"{name}(items) returned {type(got).__name__}, which is not a list of numbers",
                      "return one number per row: a NumPy array or a pandas Series (a list works too)")
    if values.shape != expected.shape:
        return failed(f"{name}(items) returned {values.size} values for {len(items):,} rows",
                      "return one total per row, in the rows' order")
    if converts_at_once(got) and not np.array_equal(as_totals(got), values, equal_nan=True):
        return failed(f"{name}(items) returned before its totals were ready: they changed after it returned",
                      "finish the work before returning: a thread left filling the result is not counted")
    wrong = ~np.isclose(values, expected)
    if wrong.any():
        i = int(np.argmax(wrong))
        q, p = int(items["quantity"].iloc[i]), int(items["unit_price_cents"].iloc[i])
        return failed(f"{name}(items) is wrong for {int(wrong.sum()):,} of {len(items):,} rows, e.g. quantity {q}"
                      f", unit_price_cents {p}: expected {expected[i]:.2f}, got {values[i]:.2f}",
                      "compare with line_total(quantity, unit_price_cents) on that row: both rules apply, in order")
    return passed(f"{name}(items) matches line_total on {len(items):,} rows")


HINTS = (
    "It still works one row at a time: every row goes through Python code of its own.",
    "Work on whole columns: items['quantity'].to_numpy() is one array; arithmetic on it runs one C loop.",
    "An if on each row becomes np.where(condition_array, value_if_true, value_if_false) (or Series.mask): "
    "one for the discount, then one for the shipping.",
)
SLOW_HINT = ("it runs no Python per row, so the time goes into C work: keep the columns int64/float64 (not "
             "object), and return an array, a Series or a list")


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def reuses(fn: Callable[..., Any], reference: Callable[..., Any]) -> bool:
    """Whether ``fn`` is ``reference``, wraps it (``functools.wraps``, ``partial``) or names it in its code.

    >>> reuses(line_totals_reference, line_totals_reference)
    True
    >>> reuses(lambda items: line_totals_reference(items), line_totals_reference)
    True
    >>> reuses(python_loop, line_totals_reference)
    False

    A learner can read the reference in the package; a check still passes it, but says so (:func:`reuse_note`)
    instead of crediting the learner. Parameters: ``fn`` the learner's function; ``reference`` the exercise's.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn)
    if fn is reference:
        return True
    code = getattr(fn, "__code__", None)
    return isinstance(code, CodeType) and getattr(reference, "__name__", None) in _code_names(code)


def reuse_note(fn: Callable[..., Any], reference: Callable[..., Any]) -> str:
    """`` — it runs <reference>, the package's reference solution …`` if :func:`reuses` says so, else ``""``.

    >>> reuse_note(python_loop, line_totals_reference)
    ''
    """
    if not reuses(fn, reference):
        return ""
    return (f" — but it runs {fn_name(reference)}, the package's reference solution, so this says nothing about "
            "your own code: write it yourself to practise")


class _Tools:
    """What the check relies on, as it was: the functions of this module and of the counter (as imported), and
    numpy's (as the check started)."""

    def __init__(self) -> None:
        import numpy as np

        self.originals = _ORIGINALS + [(np, attr, getattr(np, attr)) for attr in _NUMPY_USED]

    def changed(self, name: str) -> CheckResult:
        """A failure naming the first replaced function, or a pass if none was replaced."""
        for module, attr, original in self.originals:
            if getattr(module, attr, None) is not original:
                return failed(f"{module.__name__}.{attr} is not the one the check came with ({name} or an earlier "
                              "cell replaced it), so the check cannot judge anything", "restart the kernel, and "
                              "leave the check's own functions alone: write line_totals on whole columns")
        return passed("the check's functions are its own")


def _left_running(before: set[threading.Thread], name: str) -> CheckResult:
    """A failure if a thread started since ``before`` is still running: the result was returned unfinished."""
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    if left:
        return failed(f"{name}(items) returned before its totals were ready: a thread it started ({left[0]}) was "
                      "still running", "finish the work before returning: a thread left filling the result is "
                      "not counted")
    return passed("no thread left running")


def _counted(learner_fn: Callable[..., Any], items: pd.DataFrame, name: str, tools: _Tools) -> PythonWork:
    """The learner's call on ``items`` (its result converted to an array) counted; stops the check on a wrong
    result, on tampering with the count or with the check's functions."""
    import numpy as np

    kept = items.copy()
    got: list[Any] = []

    def call() -> Any:
        got.append(run_learner(learner_fn, items, name=name))
        return as_totals(got[0])

    before = set(threading.enumerate())
    work = count_python_work(call, limit=INSTRUCTION_LIMIT)
    require(tools.changed(name))
    require(_left_running(before, name))
    if work.tampered:
        require(failed(f"{name}(items) switched off the check's count of Python instructions ({work.tampered})",
                       "leave tracing alone: the check counts the Python instructions your function runs"))
    if not work.stopped:
        require(_same_totals(work.value, got[0], np.array(python_loop(kept)), kept, name))
    return work


def _per_row(small: PythonWork, large: PythonWork, rows: tuple[int, int]) -> float:
    return (large.instructions - small.instructions) / (rows[1] - rows[0])


def _check_python_work(learner_fn: Callable[..., Any], fresh: Callable[[int], pd.DataFrame], name: str,
                       tools: _Tools, rows: tuple[int, int]) -> CheckResult:
    """Counted calls on small inputs, then on both sizes: the same count for both, or a failure."""
    for n in (0, 1, 7, rows[0]):
        work = _counted(learner_fn, fresh(n), name, tools)
        if work.stopped:  # once more: a first call may import what later calls find ready
            work = _counted(learner_fn, fresh(n), name, tools)
        if work.stopped:
            rows_text = f"{n:,} row{'s' if n != 1 else ''}"
            return failed(f"{name}(items) was stopped after {INSTRUCTION_LIMIT:,} Python instructions on {rows_text}; "
                          "a vectorized version runs a few tens of thousands at most, whatever the rows", HINTS[0],
                          instructions=(work.instructions,), counted_rows=(n,))
    small, large = work, _counted(learner_fn, fresh(rows[1]), name, tools)
    if not large.stopped and _per_row(small, large, rows) > MAX_PER_ROW:  # once more: a one-off cost, not a loop?
        small = min(small, _counted(learner_fn, fresh(rows[0]), name, tools), key=lambda w: w.instructions)
        large = min(large, _counted(learner_fn, fresh(rows[1]), name, tools), key=lambda w: w.instructions)
    per_row = _per_row(small, large, rows)
    details = {"instructions": (small.instructions, large.instructions), "counted_rows": rows,
               "per_row": per_row}
    if per_row > MAX_PER_ROW:
        more = "at least " if large.stopped else ""
        return failed(f"{name} gives the right totals but runs Python code for every row: {rows[1]:,} rows took "
                      f"{more}{large.instructions - small.instructions:,} more Python instructions than "
                      f"{rows[0]:,} ({more}{per_row:.0f} per row); a vectorized version runs the same number "
                      "whatever the rows", HINTS[0], **details)
    return passed(f"{name} runs {large.instructions:,} Python instructions on {rows[0]:,} rows and on "
                  f"{rows[1]:,}", **details)


def _timed(fn: Callable[[Any], Any], items: pd.DataFrame,
           clock: Callable[[], float]) -> tuple[float, tuple[float, float], tuple[Any, Any]]:
    """Seconds of ``fn(items)`` (GC off); the CPU seconds of its own thread and of the others meanwhile; what it
    returned, and that as an array (converted on the clock unless :func:`converts_at_once`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start, process, thread = clock(), _process_time(), _thread_time()
        got = fn(items)
        returned, own = clock(), _thread_time() - thread
        elsewhere = _process_time() - process - own
        values = as_totals(got)
        converted = clock()
    finally:
        if was_enabled:
            gc.enable()
    return (returned if converts_at_once(got) else converted) - start, (own, elsewhere), (got, values)


def _slow(name: str, ratio: float, rows: int, floor: float, **details: Any) -> CheckResult:
    shown = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"
    return failed(f"{name} gives the right totals but is only {shown}x as fast as a plain Python loop over "
                  f"{rows:,} rows (CPU time, until its result is a NumPy array); at least {floor:g}x needed",
                  SLOW_HINT, **details)


@exercise("07-vectorize", hints=HINTS, reference=line_totals_reference)
def _check_vectorize(learner_fn: Callable[..., Any], *, rows: int = TIMED_ROWS, calls: int = TIMED_CALLS,
                     floor: float = SPEEDUP_FLOOR, counted_rows: tuple[int, int] = COUNTED_ROWS,
                     seed: int | None = None, clock: Callable[[], float] | None = None) -> CheckResult:
    """line_totals(items) -> line_total(...) of every row, the same numbers, no Python code per row."""
    name, tick = fn_name(learner_fn), clock or _CPU_CLOCK
    draw = _SYSTEM_RANDOM.randrange if seed is None else random.Random(seed).randrange

    def fresh(n: int) -> pd.DataFrame:  # each input's seed drawn right before its call: no input is known early
        return order_lines(n, draw(2**63))

    tools = _Tools()
    require(tools.changed(name))
    counted = require(_check_python_work(learner_fn, fresh, name, tools, counted_rows))

    def learner(x: pd.DataFrame) -> Any:
        return run_learner(learner_fn, x, name=name)

    learner_times: tuple[float, ...] = ()
    loop_times: tuple[float, ...] = ()
    for _ in range(calls):
        items = fresh(rows)
        kept, before = items.copy(), set(threading.enumerate())
        seconds, (own, elsewhere), (got, values) = _timed(learner, items, tick)
        require(tools.changed(name))
        require(_left_running(before, name))
        loop_seconds, _, (_, expected) = _timed(python_loop, kept, tick)
        require(_same_totals(values, got, expected, kept, name))
        if _THREAD_CLOCKS_FINE and elsewhere > max(THREAD_SECONDS, THREAD_SHARE * own):
            require(failed(f"{name}(items) left its work to another thread ({elsewhere * 1e3:.0f} ms of CPU there, "
                           f"{own * 1e3:.0f} ms in its own), where the check cannot count its Python code",
                           "do the work in the call itself: whole-column NumPy needs no threads"))
        learner_times, loop_times = learner_times + (seconds,), loop_times + (loop_seconds,)
        if seconds > HOPELESS * loop_times[0]:
            break
    # The fastest call of each: an interruption only ever adds time, so the minimum is the least disturbed.
    mine, theirs = min(learner_times), min(loop_times)
    speedup = theirs / mine if mine > 0 else float("inf")
    details = {**counted.details, "speedup": speedup, "learner_seconds": learner_times, "loop_seconds": loop_times}
    if speedup < floor:
        return _slow(name, speedup, rows, floor, **details)
    (small_rows, large_rows), (small, large) = counted_rows, details["instructions"]
    shown = f"{speedup:.1f}" if speedup < 10 else f"{speedup:.0f}"
    return passed(f"{name} gives the same totals on fresh rows, runs no Python code per row ({small:,} instructions "
                  f"for {small_rows:,} rows, {large:,} for {large_rows:,}), and is {shown}x faster than a plain "
                  f"Python loop over {rows:,} rows (at least {floor:g}x needed)"
                  + reuse_note(learner_fn, line_totals_reference), **details)


#: Every function and class of this module and of the counter, as imported: the check fails if one was replaced.
_ORIGINALS = [(module, attr, value) for module in (sys.modules[__name__], pywork)
              for attr, value in vars(module).items() if callable(value) and not attr.startswith("__")]
