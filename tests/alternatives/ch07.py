"""07-vectorize, correct in other styles: pandas Series.mask, .loc, a list from NumPy; all must pass."""

from __future__ import annotations

import numpy as np
import pandas as pd


def with_mask(items: pd.DataFrame) -> pd.Series:
    amount = items["quantity"] * items["unit_price_cents"] / 100
    amount = amount.mask(items["quantity"] >= 3, amount * 0.9)
    return amount.mask(amount < 25, amount + 4.99)


def with_loc(items: pd.DataFrame) -> pd.Series:
    amount = items["quantity"] * items["unit_price_cents"] / 100
    amount.loc[items["quantity"] >= 3] *= 0.9
    amount.loc[amount < 25] += 4.99
    return amount


def numpy_as_list(items: pd.DataFrame) -> list[float]:
    """Vectorized, then handed back as a plain list: converting it back to an array is cheap enough."""
    quantity = items["quantity"].to_numpy()
    amount = quantity * items["unit_price_cents"].to_numpy() / 100
    amount = np.where(quantity >= 3, amount * 0.9, amount)
    return np.where(amount < 25, amount + 4.99, amount).tolist()


VECTORIZE = [with_mask, with_loc, numpy_as_list]
