"""perflab.revenue on a real SQLite file and a real PostgreSQL: the loaded lines and the GROUP BY agree."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.revenue import LINE_COLUMNS, load_lines, month_of, revenue_by_database, revenue_series
from perflab.schema import Order, OrderItem


def check_backend(engine: Engine) -> None:
    lines = load_lines(engine)
    with engine.connect() as conn:
        assert len(lines) == conn.scalar(sa.select(sa.func.count()).select_from(OrderItem))
        first_month = conn.scalar(sa.select(Order.created_at).order_by(Order.created_at).limit(1))
    assert tuple(lines.columns) == LINE_COLUMNS
    assert lines["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert f"{first_month:%Y-%m}" == lines["month"].min()
    by_loop: defaultdict[tuple[str, str], int] = defaultdict(int)
    for category, month, quantity, price in lines.itertuples(index=False, name=None):
        by_loop[category, month] += quantity * price
    sums = revenue_by_database(engine)
    assert sums == dict(by_loop)
    assert revenue_series(sums).equals(revenue_series(lines))
    assert revenue_series(sums).sum() == int((lines["quantity"] * lines["unit_price_cents"]).sum())


def test_sqlite_lines_and_group_by_agree(sqlite_engine: Engine) -> None:
    check_backend(sqlite_engine)


@pytest.mark.postgres
def test_postgres_lines_and_group_by_agree(pg_dataset_engine: Engine) -> None:
    check_backend(pg_dataset_engine)


def test_revenue_series_takes_every_form() -> None:
    expected = revenue_series({("toys", "2025-02"): 300, ("books", "2025-01"): 100})
    index = pd.MultiIndex.from_tuples([("books", "2025-01"), ("toys", "2025-02")])
    coded = pd.Series([100.0, 300.0], index=index)
    assert revenue_series(coded).equals(expected)
    assert expected.index.names == ["category", "month"] and expected.dtype == "int64"


def test_bad_input_says_what_and_how() -> None:
    with pytest.raises(PerflabError, match="got list"):
        revenue_series([1, 2])
    with pytest.raises(PerflabError, match="needs the columns"):
        revenue_series(pd.DataFrame({"x": [1]}))
    with pytest.raises(PerflabError, match="got dialect 'mysql'"):
        month_of(Order.created_at, "mysql")
