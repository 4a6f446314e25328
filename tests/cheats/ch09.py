"""Chapter 09's exercise, cheats and near misses: each must fail, with a hint."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def every_column(engine: Engine) -> None:
    """An index on every column: the report is fast, every write pays for it."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_all ON orders (created_at, status, total_cents, user_id, id)")


def one_index_per_column(engine: Engine) -> None:
    """Index everything, one column at a time."""
    with engine.begin() as conn:
        for column in ("created_at", "status", "total_cents"):
            conn.exec_driver_sql(f"CREATE INDEX ix_orders_each_{column} ON orders ({column})")


def grouped_column(engine: Engine) -> None:
    """The column the report groups by, not the one it filters on."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_by_status ON orders (status)")


def range_column_second(engine: Engine) -> None:
    """The right columns in the wrong order: status first, the day's range second."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_status_created ON orders (status, created_at)")


def make_hard_coded(target: Engine):  # type: ignore[no-untyped-def]
    """An answer that indexes the notebook's own engine, whatever engine the check passes (IF NOT EXISTS)."""

    def hard_coded(engine: Engine) -> None:
        with target.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_orders_created_at ON orders (created_at)")

    return hard_coded


def hidden_expression_index(engine: Engine) -> None:
    """The right index, and a wide one on an expression that SQLAlchemy's inspector does not list."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_day ON orders (created_at)")
        conn.exec_driver_sql("CREATE INDEX ix_orders_wide ON orders "
                             "(status, total_cents, user_id, id, (total_cents + 0))")


def day_expression(engine: Engine) -> None:
    """An index on the day of created_at: the report compares created_at itself, so the planner cannot use it."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_date ON orders (date(created_at))")
