"""07-vectorize, cheats: loops in disguise, memos, a thread, a look at the check's frames, a patched check,
the count switched off; all must fail."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

import perflab.exercises.ch07 as ch07
from perflab.exercises.ch07 import line_total


def _columns(items: pd.DataFrame) -> tuple[list[int], list[int]]:
    return items["quantity"].tolist(), items["unit_price_cents"].tolist()


def _inline(quantities: list[int], prices: list[int]) -> list[float]:
    out = []
    for q, p in zip(quantities, prices):
        a = q * p / 100
        if q >= 3:
            a *= 0.9
        if a < 25:
            a += 4.99
        out.append(a)
    return out


def inline_loop(items: pd.DataFrame) -> list[float]:
    """A plain Python loop, only without the function call per row (1.0-1.5x the loop's speed)."""
    return _inline(*_columns(items))


class _LazyTotals:
    """Looks like numbers to NumPy, but works out each row only when its values are asked for."""

    def __init__(self, items: pd.DataFrame) -> None:
        self.quantity, self.price = _columns(items)

    def __len__(self) -> int:
        return len(self.quantity)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.array([line_total(q, p) for q, p in zip(self.quantity, self.price)], dtype=dtype)


def lazy_loop(items: pd.DataFrame) -> _LazyTotals:
    """Returns at once; the row-by-row loop runs in ``__array__``, when the check reads the values."""
    return _LazyTotals(items)


def np_vectorize(items: pd.DataFrame) -> np.ndarray:
    """np.vectorize: whole columns in, whole array out, and one Python call of line_total per row inside."""
    return np.vectorize(line_total, otypes=[float])(items["quantity"], items["unit_price_cents"])


_FROM_PY = np.frompyfunc(line_total, 2, 1)


def frompyfunc(items: pd.DataFrame) -> Any:
    """np.frompyfunc, np.vectorize's lighter sibling: still one Python call per row."""
    return _FROM_PY(items["quantity"].to_numpy(), items["unit_price_cents"].to_numpy())


_MEMO: dict[tuple[int, int], float] = {}


def memo_table(items: pd.DataFrame) -> list[float]:
    """line_total (the original, row by row) remembered per (quantity, price): it pays if the pairs repeat."""
    return [_MEMO[q, p] if (q, p) in _MEMO else _MEMO.setdefault((q, p), line_total(q, p))
            for q, p in zip(*_columns(items))]


_RECTANGLE: dict[str, np.ndarray] = {}


def memo_rect(items: pd.DataFrame) -> np.ndarray:
    """line_total for every (quantity, price) up to the largest seen, tabulated on the first (small, untimed)
    call; each later call is one NumPy lookup. Paid off when prices were below 60 dollars and quantities 1-5."""
    q, p = items["quantity"].to_numpy(), items["unit_price_cents"].to_numpy()
    if len(q) == 0:
        return np.empty(0)
    table = _RECTANGLE.get("t")
    if table is None or q.max() >= table.shape[0] or p.max() >= table.shape[1]:
        rows, cols = 2 * (int(q.max()) + 1), 2 * (int(p.max()) + 1)
        table = _RECTANGLE["t"] = np.array([[line_total(a, b) for b in range(cols)] for a in range(rows)])
    return table[q, p]


def memo_unique(items: pd.DataFrame) -> np.ndarray:
    """No state kept: line_total once per distinct (quantity, price) pair, scattered back with NumPy."""
    pairs = np.stack([items["quantity"].to_numpy(), items["unit_price_cents"].to_numpy()], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    totals = np.array([line_total(q, p) for q, p in unique.tolist()], dtype=float)
    return totals[inverse.reshape(-1)]


def background_thread(items: pd.DataFrame) -> Any:
    """Returns an empty array at once; a thread fills it while the check works out its own answer."""
    if len(items) < 5_000:
        return inline_loop(items)
    out = np.empty(len(items))
    quantities, prices = _columns(items)

    def fill() -> None:
        out[:] = _inline(quantities, prices)

    threading.Thread(target=fill, daemon=True).start()
    return out


_WORKER = ThreadPoolExecutor(1, thread_name_prefix="cheat-worker")
_WORKER.submit(int).result()  # started before any check: the count never sees its thread


def worker_thread(items: pd.DataFrame) -> list[float]:
    """The inline loop on a thread started beforehand, the call waiting for it: its own thread does nothing."""
    return _WORKER.submit(_inline, *_columns(items)).result()


_PRE: dict[tuple[int, int], np.ndarray] = {}


def frame_peek(items: pd.DataFrame) -> Any:
    """Looks through the check's frames for the seed of the inputs to come and works their answers out early,
    during a small untimed call; with nothing to find, it loops over the rows."""
    if not _PRE:
        frame = sys._getframe(1)
        while frame is not None and not {"base", "seed"} & set(frame.f_locals):
            frame = frame.f_back
        base = None if frame is None else frame.f_locals.get("base", frame.f_locals.get("seed"))
        if isinstance(base, int):
            for i in range(5):
                lines = ch07.order_lines(ch07.TIMED_ROWS, base + 100 + i)
                _PRE[len(lines), int(lines["unit_price_cents"].iloc[0])] = np.array(inline_loop(lines))
        else:
            _PRE[0, 0] = np.empty(0)  # looked once: nothing there
    if len(items):
        hit = _PRE.get((len(items), int(items["unit_price_cents"].iloc[0])))
        if hit is not None:
            return hit
    return [line_total(q, p) for q, p in zip(*_columns(items))]


_ORIGINAL_LOOP = ch07.python_loop


def patch_checker(items: pd.DataFrame) -> list[float]:
    """Loops row by row, and makes the check's reference loop four times slower, so the loop looks fast."""
    if getattr(ch07.python_loop, "__name__", "") != "slowed":
        def slowed(x: pd.DataFrame) -> list[float]:
            for _ in range(3):
                _ORIGINAL_LOOP(x)
            return _ORIGINAL_LOOP(x)

        ch07.python_loop = slowed
    return [line_total(q, p) for q, p in zip(*_columns(items))]


def untraced_loop(items: pd.DataFrame) -> list[float]:
    """Switches the trace function off for its loop and back on after it, so the count sees no loop."""
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        return inline_loop(items)
    finally:
        sys.settrace(tracer)


def untraced_frame(items: pd.DataFrame) -> list[float]:
    """Turns off the per-instruction events of its own frame, then loops inline (no call per row to count)."""
    sys._getframe().f_trace_opcodes = False
    out = []
    for q, p in zip(*_columns(items)):
        a = q * p / 100 * (0.9 if q >= 3 else 1.0)
        out.append(a + 4.99 if a < 25 else a)
    return out


#: (cheat, a fragment of the ❌ line it must get)
VECTORIZE = [
    (inline_loop, "runs Python code for every row"),
    (lazy_loop, "runs Python code for every row"),
    (np_vectorize, "runs Python code for every row"),
    (frompyfunc, "runs Python code for every row"),
    (memo_table, "runs Python code for every row"),
    (memo_rect, "was stopped after 300,000 Python instructions"),
    (memo_unique, "runs Python code for every row"),
    (background_thread, "returned before its totals were ready"),  # a thread still running, or done too late
    (worker_thread, "left its work to another thread"),
    (frame_peek, "runs Python code for every row"),
    (patch_checker, "changed the check itself (perflab.exercises.ch07.python_loop)"),  # check()'s guard names it first
    (untraced_loop, "switched off the check's count of Python instructions (sys.settrace)"),
    (untraced_frame, "switched off the check's count of Python instructions (frame.f_trace_opcodes)"),
]
