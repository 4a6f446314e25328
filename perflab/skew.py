"""How lopsided a set of counts is: ranked biggest first, the share the biggest hold, a Lorenz curve.

>>> orders = ranked([5, 1, 3], population=5)  # two more members have none
>>> orders.tolist()
[5, 3, 1, 0, 0]
>>> top_share(orders, 0.2)  # the biggest 20% (one member of five) hold 5 of 9
0.5555555555555556
>>> members_holding(orders, 0.5)  # half the total takes 20% of the members
0.2

Chapter 00 draws the dataset's skew with these (orders per customer, units per product).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from perflab.errors import PerflabError


def ranked(counts: Iterable[float], population: int | None = None) -> np.ndarray:
    """The counts sorted biggest first, padded with zeros for the members that have none.

    >>> ranked([2, 7], population=4).tolist()
    [7, 2, 0, 0]

    Parameters:
        counts: one count per member that has any (e.g. a ``GROUP BY`` result).
        population: how many members there are in all (default: as many as counts); a ``GROUP BY`` leaves out
            the members without a row, and they belong in the curve.
    """
    values = np.sort(np.asarray(list(counts)))[::-1]
    missing = 0 if population is None else population - len(values)
    if missing < 0:
        raise PerflabError(f"population must be at least the number of counts ({len(values)}), got {population}")
    return np.concatenate([values, np.zeros(missing, dtype=values.dtype)])


def _check_ranked(values: np.ndarray) -> None:
    if len(values) == 0 or values.sum() <= 0:
        raise PerflabError("need at least one count above zero (pass the result of ranked(...))")


def _check_fraction(name: str, value: float) -> None:
    if not 0 < value <= 1:
        raise PerflabError(f"{name} must be a fraction in (0, 1], got {value!r}")


def top_share(ranked_counts: np.ndarray, fraction: float) -> float:
    """The share of the total that the biggest ``fraction`` of the members hold (at least one member).

    >>> top_share(ranked([6, 2, 1, 1]), 0.5)
    0.8
    """
    _check_ranked(ranked_counts)
    _check_fraction("fraction", fraction)
    members = max(1, int(len(ranked_counts) * fraction))
    return float(ranked_counts[:members].sum() / ranked_counts.sum())


def members_holding(ranked_counts: np.ndarray, share: float) -> float:
    """The smallest fraction of the members, biggest first, that hold at least ``share`` of the total.

    >>> members_holding(ranked([6, 2, 1, 1]), 0.5)
    0.25
    """
    _check_ranked(ranked_counts)
    _check_fraction("share", share)
    held = np.cumsum(ranked_counts) / ranked_counts.sum()
    members = int(np.searchsorted(held, share - 1e-12)) + 1  # the first prefix that reaches share
    return members / len(ranked_counts)


def cumulative_share(ranked_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A Lorenz curve: x, the share of the members (biggest first), and y, the share of the total they hold.

    >>> x, y = cumulative_share(ranked([3, 1]))
    >>> x.tolist(), y.tolist()
    ([0.5, 1.0], [0.75, 1.0])

    A perfectly even set of counts follows the diagonal y = x; the further above it, the more lopsided.
    """
    _check_ranked(ranked_counts)
    n = len(ranked_counts)
    return np.arange(1, n + 1) / n, np.cumsum(ranked_counts) / ranked_counts.sum()
