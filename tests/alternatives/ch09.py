"""Chapter 09's exercise, correct in other styles: a SQLAlchemy Index, a composite or covering index, raw DBAPI."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def index_object(engine: Engine) -> None:
    """A SQLAlchemy Index object, on a Table of its own (an Index on the ORM's Order would join the course's schema)."""
    orders = sa.Table("orders", sa.MetaData(), sa.Column("created_at", sa.DateTime))
    sa.Index("ix_orders_day", orders.c.created_at).create(bind=engine)


def mixed_case_name(engine: Engine) -> None:
    """A mixed-case name, which SQLAlchemy quotes: PostgreSQL's plan prints it in quotes too."""
    orders = sa.Table("orders", sa.MetaData(), sa.Column("created_at", sa.DateTime))
    sa.Index("IX_Orders_CreatedAt", orders.c.created_at).create(bind=engine)


def orm_index(engine: Engine) -> None:
    """An Index on the ORM's Order: it joins the course's shared metadata, which the check restores afterwards."""
    from perflab.schema import Order

    sa.Index("ix_orders_orm_day", Order.created_at).create(bind=engine)


def composite_with_status(engine: Engine) -> None:
    """The range column first, then the grouped one."""
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE INDEX ix_orders_created_status ON orders (created_at, status)"))


def covering(engine: Engine) -> None:
    """Every column the report reads: three, the budget's limit."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_report ON orders (created_at, status, total_cents)")


def raw_dbapi(engine: Engine) -> None:
    """Through the driver's own connection and an explicit commit."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("CREATE INDEX ix_orders_created_raw ON orders (created_at)")
        cur.close()
        raw.commit()
    finally:
        raw.close()


ONE_INDEX = [index_object, mixed_case_name, orm_index, composite_with_status, covering, raw_dbapi]
