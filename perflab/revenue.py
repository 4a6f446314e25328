"""Revenue per product category and month: the order lines to load, and the same sums done by the database.

>>> import sqlalchemy as sa
>>> from perflab import dataset
>>> engine = sa.create_engine("sqlite://")
>>> _ = dataset.build(engine, scale=0.01, seed=17, progress=False)
>>> sums = revenue_by_database(engine)
>>> lines = load_lines(engine)
>>> list(lines.columns)
['category', 'month', 'quantity', 'unit_price_cents']
>>> revenue_series(sums).equals(revenue_series(lines))
True

Chapter 07 computes these sums many ways (a loop over rows, ``iterrows``, ``apply``, vectorized pandas,
``groupby``); :func:`revenue_series` turns each way's result into one form, so the notebook can assert
that they all agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from perflab.errors import PerflabError
from perflab.schema import Order, OrderItem, Product

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

#: The columns of :func:`load_lines`, in order.
LINE_COLUMNS = ("category", "month", "quantity", "unit_price_cents")


def month_of(column: Any, dialect: str) -> Any:
    """A SQL expression for the ``'YYYY-MM'`` month of a timestamp column, the same text on both backends.

    >>> str(month_of(Order.created_at, "postgresql"))
    'to_char(orders.created_at, :to_char_1)'

    Parameters: ``column`` (a timestamp column); ``dialect`` (``engine.dialect.name``: SQLite keeps
    timestamps as ``'YYYY-MM-DD HH:MM:SS'`` text, PostgreSQL formats them with ``to_char``).
    """
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    if dialect == "sqlite":
        return sa.func.substr(sa.cast(column, sa.Text), 1, 7)
    raise PerflabError(f"month_of supports sqlite and postgresql, got dialect {dialect!r}; use one of those")


def lines_query(dialect: str) -> sa.Select[Any]:
    """The SELECT of every order line with its product's category and its order's month.

    >>> print(lines_query("sqlite").selected_columns.keys())
    ['category', 'month', 'quantity', 'unit_price_cents']

    Parameters: ``dialect``, as in :func:`month_of`.
    """
    month = month_of(Order.created_at, dialect).label("month")
    return (sa.select(Product.category, month, OrderItem.quantity, OrderItem.unit_price_cents)
            .join(Order, OrderItem.order_id == Order.id)
            .join(Product, OrderItem.product_id == Product.id)
            .order_by(OrderItem.id))


def load_lines(engine: Engine) -> pd.DataFrame:
    """Every order line as a DataFrame: category, month ('YYYY-MM'), quantity, unit_price_cents.

    >>> load_lines(engine).dtypes["quantity"]  # doctest: +SKIP
    dtype('int64')

    Parameters: ``engine``, the course database.
    """
    import pandas as pd

    with engine.connect() as conn:
        frame = pd.read_sql(lines_query(engine.dialect.name), conn)
    return frame.astype({"quantity": "int64", "unit_price_cents": "int64"})


def revenue_by_database(engine: Engine) -> dict[tuple[str, str], int]:
    """Revenue in cents per (category, month), summed by the database with one GROUP BY.

    >>> revenue_by_database(engine)[("books", "2025-01")]  # doctest: +SKIP
    1849022

    Parameters: ``engine``, the course database.
    """
    month = month_of(Order.created_at, engine.dialect.name)
    stmt = (sa.select(Product.category, month, sa.func.sum(OrderItem.quantity * OrderItem.unit_price_cents))
            .join(Order, OrderItem.order_id == Order.id)
            .join(Product, OrderItem.product_id == Product.id)
            .group_by(Product.category, month))
    with engine.connect() as conn:
        return {(category, m): int(cents) for category, m, cents in conn.execute(stmt)}


def revenue_series(result: Any) -> pd.Series:
    """Any form of the per-(category, month) revenue as one sorted Series of int cents, to compare them.

    >>> revenue_series({("toys", "2025-02"): 300, ("books", "2025-01"): 100.0}).to_dict()
    {('books', '2025-01'): 100, ('toys', '2025-02'): 300}

    Parameters: ``result``: a mapping ``{(category, month): cents}``, a Series with a (category, month)
    MultiIndex, or a DataFrame of order lines (then it is summed here, the reference way).
    """
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        if set(LINE_COLUMNS) - set(result.columns):
            raise PerflabError(f"a DataFrame of order lines needs the columns {LINE_COLUMNS}, got "
                               f"{list(result.columns)}; pass load_lines(engine)")
        cents = result["quantity"] * result["unit_price_cents"]
        result = cents.groupby([result["category"].astype(str), result["month"].astype(str)]).sum()
    if isinstance(result, Mapping):
        result = pd.Series(dict(result), dtype="float64")
    if not isinstance(result, pd.Series):
        raise PerflabError(f"expected a dict or a Series of revenue per (category, month), got "
                           f"{type(result).__name__}")
    keys = [(str(c), str(m)) for c, m in result.index]
    series = pd.Series(result.to_numpy().round().astype("int64"),
                       index=pd.MultiIndex.from_tuples(keys, names=["category", "month"]), name="cents")
    return series[series != 0].sort_index()
