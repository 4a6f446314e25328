"""Reference solution of chapter 03, lazy vs eager loading.

The check ("03-pick-strategy") runs each access pattern with every strategy; see
:mod:`perflab.exercises.ch03` for the patterns and the cost model.
"""

from __future__ import annotations

CHOICES = {
    # Only the user's name and email are shown: the orders are never read, so do not load them.
    "top-customers": "lazy",
    # Many-to-one: each order has one customer, a JOIN adds columns (not rows): one statement.
    "order-list": "joined",
    # Two levels of collections: a JOIN would repeat users and orders on every item row.
    "regulars": "selectin",
}


def pick_strategy(pattern: str) -> str:
    """03-pick-strategy: the cheapest loading strategy for each access pattern."""
    return CHOICES[pattern]
