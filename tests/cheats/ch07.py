"""07-vectorize, cheats: the row loop deferred until the check converts the result; must fail."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from perflab.exercises.ch07 import line_total


class _LazyTotals:
    """Looks like numbers to NumPy, but works out each row only when its values are asked for."""

    def __init__(self, items: pd.DataFrame) -> None:
        self.quantity, self.price = items["quantity"].tolist(), items["unit_price_cents"].tolist()

    def __len__(self) -> int:
        return len(self.quantity)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.array([line_total(q, p) for q, p in zip(self.quantity, self.price)], dtype=dtype)


def lazy_loop(items: pd.DataFrame) -> _LazyTotals:
    """Returns at once; the row-by-row loop runs in ``__array__``, when the check reads the values."""
    return _LazyTotals(items)


#: (cheat, a fragment of the ❌ line it must get)
VECTORIZE = [(lazy_loop, "timed until its result is a NumPy array")]
