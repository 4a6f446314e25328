"""Where the database is, in a few words, for labels: ``SQLite in this process`` or ``PostgreSQL at host:port``.

>>> import sqlalchemy as sa
>>> describe_backend(sa.create_engine("sqlite://"))
'SQLite in this process'

Chapters label their measurements with this instead of writing "in-process SQLite" by hand, so a run
on PostgreSQL (``PERFLAB_DATABASE_URL=postgresql://...``) is labelled for what it is.
"""

from __future__ import annotations

from perflab.latency import current_latency, engine_of


def describe_backend(engine: object) -> str:
    """The engine's database in a few words, with the latency injected into it, if any.

    >>> import sqlalchemy as sa
    >>> describe_backend(sa.create_engine("postgresql+psycopg://u:secret@db.example:5432/shop"))
    'PostgreSQL at db.example:5432'

    Never shows a password or a database name.

    Parameters:
        engine: an Engine, Connection or Session (as ``perflab.inject_latency`` takes).
    """
    eng = engine_of(engine)
    name = eng.dialect.name
    if name == "sqlite":
        text = "SQLite in this process"
    else:
        pretty = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}.get(name, name)
        host = eng.url.host or "a local socket"
        text = f"{pretty} at {host}:{eng.url.port}" if eng.url.port else f"{pretty} at {host}"
    latency = current_latency(eng)
    return f"{text}, +{latency:g} ms a statement" if latency else text
