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


def include_every_column(engine: Engine) -> None:
    """PostgreSQL: one key column and the rest of the row in INCLUDE (SQLite has no INCLUDE: the same as a key)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("CREATE INDEX ix_orders_incl ON orders (created_at) "
                                 "INCLUDE (status, total_cents, user_id, id)")
        else:
            conn.exec_driver_sql("CREATE INDEX ix_orders_incl ON orders (created_at, status, total_cents, user_id)")


def expression_of_every_column(engine: Engine) -> None:
    """The whole row packed into one expression term: two terms, five columns held."""
    cast = "::text" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX ix_orders_packed ON orders (created_at, (status || '|' || "
                             f"total_cents{cast} || '|' || user_id{cast} || '|' || id{cast}))")


def drop_a_course_index_too(engine: Engine) -> None:
    """The right index, and one index fewer to pay for: the course's own index on orders.user_id dropped."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_orders_user_id")
        conn.exec_driver_sql("CREATE INDEX ix_orders_swap ON orders (created_at)")


def replace_a_course_index(engine: Engine) -> None:
    """The course's index on orders.user_id replaced by the right one under the same name: no index 'created'."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_orders_user_id")
        conn.exec_driver_sql("CREATE INDEX ix_orders_user_id ON orders (created_at)")


def analyze_too(engine: Engine) -> None:
    """The right index, then ANALYZE: on SQLite a table of statistics (sqlite_stat1) that stays behind."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_an ON orders (created_at)")
        conn.exec_driver_sql("ANALYZE")


def side_table_and_trigger(engine: Engine) -> None:
    """The right index, and a summary table kept up to date by a trigger: a write cost the budget cannot see."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders_daily (day TEXT, status TEXT, n INTEGER)")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("CREATE FUNCTION orders_daily_count() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                 "BEGIN UPDATE orders_daily SET n = n + 1 WHERE status = NEW.status; RETURN NEW; "
                                 "END $$")
            conn.exec_driver_sql("CREATE TRIGGER orders_daily_t AFTER INSERT ON orders FOR EACH ROW "
                                 "EXECUTE FUNCTION orders_daily_count()")
        else:
            conn.exec_driver_sql("CREATE TRIGGER orders_daily_t AFTER INSERT ON orders BEGIN "
                                 "UPDATE orders_daily SET n = n + 1 WHERE status = NEW.status; END")
        conn.exec_driver_sql("CREATE INDEX ix_orders_trig ON orders (created_at)")


def blind_budget(engine: Engine) -> None:
    """An index on every column, and the check's column counter told to see one column."""
    import perflab.indexes

    perflab.indexes.stored_columns = lambda engine, index: ("created_at",)
    every_column(engine)
