from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.skew import cumulative_share, members_holding, ranked, top_share


def test_ranked_puts_the_biggest_first_and_counts_the_members_without_any() -> None:
    values = ranked([3, 9, 1], population=5)
    assert values.tolist() == [9, 3, 1, 0, 0]
    assert values.dtype.kind == "i"  # counts stay whole numbers
    assert ranked([2.5, 1.0]).tolist() == [2.5, 1.0]


def test_ranked_refuses_a_population_smaller_than_its_counts() -> None:
    with pytest.raises(PerflabError, match="population must be at least the number of counts \\(3\\), got 2"):
        ranked([1, 2, 3], population=2)


def test_an_even_set_holds_its_share_and_follows_the_diagonal() -> None:
    even = ranked([4] * 10)
    assert top_share(even, 0.3) == pytest.approx(0.3)
    assert members_holding(even, 0.5) == pytest.approx(0.5)
    x, y = cumulative_share(even)
    assert np.allclose(x, y) and x[-1] == y[-1] == 1


def test_a_lopsided_set_is_held_by_few() -> None:
    values = ranked([91, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    assert top_share(values, 0.1) == pytest.approx(0.91)
    assert members_holding(values, 0.9) == pytest.approx(0.1)
    assert members_holding(values, 0.92) == pytest.approx(0.2)  # 91 alone is short of 92%
    assert members_holding(values, 1.0) == pytest.approx(1.0)


def test_top_share_takes_at_least_one_member() -> None:
    assert top_share(ranked([5, 5, 5]), 0.01) == pytest.approx(1 / 3)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_fractions_outside_zero_to_one_are_refused(fraction: float) -> None:
    with pytest.raises(PerflabError, match="must be a fraction in \\(0, 1\\]"):
        top_share(ranked([1, 2]), fraction)
    with pytest.raises(PerflabError, match="must be a fraction in \\(0, 1\\]"):
        members_holding(ranked([1, 2]), fraction)


def test_nothing_to_share_is_refused() -> None:
    for values in (ranked([]), ranked([0, 0])):
        with pytest.raises(PerflabError, match="at least one count above zero"):
            cumulative_share(values)


def test_on_the_dataset_the_busiest_customers_hold_more_than_their_share(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        per_user = conn.execute(sa.text("SELECT count(*) FROM orders GROUP BY user_id")).scalars().all()
        users = conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    orders = ranked(per_user, population=users)
    assert orders.sum() == sum(per_user) and len(orders) == users
    assert top_share(orders, 0.01) > 0.05  # skewed on purpose: the top 1% hold well over 1%
