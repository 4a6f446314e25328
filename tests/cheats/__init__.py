"""Answers that look right but skip the exercise (remembered values, hidden statements, all rows): each must fail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine


def driver_connection(engine: Engine) -> Any:
    """A connection to ``engine``'s database opened with the driver itself (sqlite3 or psycopg), not through any pool.

    On PostgreSQL it uses the engine's schema (asked with ``current_schema()``, a catalog probe: not counted).
    """
    if engine.dialect.name == "postgresql":
        import psycopg

        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(url, options=f"-c search_path={schema}")
    import sqlite3

    return sqlite3.connect(str(engine.url.database))
