"""Exercise checks of chapter 07: NumPy and pandas vectorization."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from types import CodeType
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, exercise, failed, passed, require, run_learner

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Rows of each generated input the learner's function is timed on.
TIMED_ROWS = 100_000
#: Timed calls of each version (each on an input of its own, so no result can be reused).
TIMED_CALLS = 5
#: The learner's version must be this many times faster than a plain Python loop over the rows, both timed to a
#: NumPy array of the totals, fastest call of each. Measured at 100,000 rows on a quiet 2-core machine (2026-11-30):
#: NumPy ``where`` or pandas ``mask`` 7-8x, ``.loc`` 9x, NumPy then ``.tolist()`` 4x; ``np.vectorize`` 0.9x,
#: ``itertuples`` 0.3x.
#: The floor leaves a correct vectorized answer that converts its result twice (numpy_as_list in the tests, 4x on a
#: quiet machine) room for a busy one, and still fails the loops in disguise by a factor of 2.
SPEEDUP_FLOOR = 2.0


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

    Prices sit around the 25-dollar shipping threshold and quantities around the 3-item discount, so a
    mistake in either rule changes many rows. Parameters: ``n`` rows; ``seed`` (another seed, other rows).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "order_id": np.sort(rng.integers(1, n // 3 + 2, n)),
        "product_id": rng.integers(1, 2_001, n),
        "quantity": rng.integers(1, 6, n),
        "unit_price_cents": rng.integers(99, 6_000, n),
    })


def as_totals(got: Any) -> Any:
    """``got`` as a flat float64 NumPy array, or ``got`` itself if it is not numbers (the check reports it).

    >>> import pandas as pd
    >>> as_totals(pd.Series([14.99, 27])).tolist(), as_totals("abc")
    ([14.99, 27.0], 'abc')

    The check times the learner's call *and* this conversion: an object whose ``__array__`` loops over the
    rows when asked for its values does that loop on the clock. An array or a Series converts at once.
    """
    import numpy as np

    try:
        return np.asarray(got, dtype="float64").reshape(-1)
    except (TypeError, ValueError):
        return got


def _same_totals(got: Any, items: pd.DataFrame, name: str) -> CheckResult:
    import numpy as np

    expected = np.array(python_loop(items))
    values = as_totals(got)
    if not isinstance(values, np.ndarray):
        return failed(f"{name}(items) returned {type(got).__name__}, which is not a list of numbers",
                      "return one number per row: a NumPy array or a pandas Series (a list works too)")
    if values.shape != expected.shape:
        return failed(f"{name}(items) returned {values.size} values for {len(items):,} rows",
                      "return one total per row, in the rows' order")
    wrong = ~np.isclose(values, expected)
    if wrong.any():
        i = int(np.argmax(wrong))
        q, p = int(items["quantity"].iloc[i]), int(items["unit_price_cents"].iloc[i])
        return failed(f"{name}(items) is wrong for {int(wrong.sum()):,} of {len(items):,} rows, e.g. quantity {q}"
                      f", unit_price_cents {p}: expected {expected[i]:.2f}, got {values[i]:.2f}",
                      "compare with line_total(quantity, unit_price_cents) on that row: both rules apply, in order")
    return passed(f"{name}(items) matches line_total on {len(items):,} rows")


def _timed_once(fn: Callable[[Any], Any], items: pd.DataFrame, clock: Callable[[], float]) -> tuple[float, Any]:
    start = clock()
    value = fn(items)
    return clock() - start, value


HINTS = (
    "It still works one row at a time: every row goes through Python code of its own.",
    "Work on whole columns: items['quantity'].to_numpy() is one array; arithmetic on it runs one C loop.",
    "An if on each row becomes np.where(condition_array, value_if_true, value_if_false) (or Series.mask): "
    "one for the discount, then one for the shipping.",
)
#: Rows of the first timing, which turns away at once what is many times slower than the loop (iterrows).
SCREEN_ROWS = 2_000
#: Slower than SCREEN_FACTOR times the loop plus SCREEN_SLACK seconds on SCREEN_ROWS rows (twice): no need to
#: time it on more rows (the slack covers pandas' fixed cost per call, a few ms, which small inputs exaggerate).
SCREEN_FACTOR, SCREEN_SLACK = 10.0, 0.05
#: A first timed call this many times slower than the loop ends the timing: it cannot reach the floor.
HOPELESS = 5.0


def _too_slow(learner: Callable[[Any], Any], loop_fn: Callable[[Any], Any], items: pd.DataFrame,
              clock: Callable[[], float]) -> float | None:
    """The learner's speedup over the loop on a small input if it is hopeless, else None."""
    loop = min(_timed_once(loop_fn, items, clock)[0] for _ in range(3))
    for _ in range(2):  # a second try, so one interruption cannot fail a fast answer
        mine = _timed_once(learner, items, clock)[0]
        if mine <= SCREEN_FACTOR * loop + SCREEN_SLACK:
            return None
    return loop / mine


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


def _slow(name: str, ratio: float, rows: int, floor: float, **details: Any) -> CheckResult:
    return failed(f"{name} gives the right totals but is only {ratio:.2g}x as fast as a plain Python loop over "
                  f"{rows:,} rows (timed until its result is a NumPy array); at least {floor:g}x needed", HINTS[0],
                  **details)


@exercise("07-vectorize", hints=HINTS, reference=line_totals_reference)
def _check_vectorize(learner_fn: Callable[..., Any], *, rows: int = TIMED_ROWS, calls: int = TIMED_CALLS,
                     floor: float = SPEEDUP_FLOOR, seed: int | None = None,
                     clock: Callable[[], float] = time.perf_counter) -> CheckResult:
    """line_totals(items) -> line_total(...) of every row, the same numbers, at least 2x faster than a loop."""
    import random

    name = fn_name(learner_fn)
    base = random.SystemRandom().randrange(10**6, 10**9) if seed is None else seed  # fresh rows every time
    for i, n in enumerate((0, 1, 7, SCREEN_ROWS)):
        items = order_lines(n, base + i)
        require(_same_totals(run_learner(learner_fn, items, name=name), items, name))

    def learner(x: pd.DataFrame) -> Any:  # timed up to the values as an array (see as_totals)
        return as_totals(run_learner(learner_fn, x, name=name))

    def loop(x: pd.DataFrame) -> Any:  # the loop's list is converted too: both are timed to the same end
        return as_totals(python_loop(x))

    hopeless = _too_slow(learner, loop, items, clock)
    if hopeless is not None:
        return _slow(name, hopeless, SCREEN_ROWS, floor, speedup=hopeless)
    # Every timed call gets rows of its own: a result kept from an earlier call cannot be reused.
    learner_times, loop_times = [], []
    for i in range(calls):
        items = order_lines(rows, base + 100 + i)
        seconds, got = _timed_once(learner, items, clock)
        require(_same_totals(got, items, name))
        learner_times.append(seconds)
        loop_times.append(_timed_once(loop, items, clock)[0])
        if seconds > HOPELESS * loop_times[0]:
            break
    # The fastest call of each: an interruption only ever adds time, so the minimum is the least disturbed.
    mine, theirs = min(learner_times), min(loop_times)
    speedup = theirs / mine if mine > 0 else float("inf")
    details = {"speedup": speedup, "learner_seconds": learner_times, "loop_seconds": loop_times}
    if speedup < floor:
        return _slow(name, speedup, rows, floor, **details)
    return passed(f"{name} gives the same totals on fresh rows and is {speedup:.0f}x faster than a plain "
                  f"Python loop over {rows:,} rows (at least {floor:g}x needed)"
                  + reuse_note(learner_fn, line_totals_reference), **details)
