"""Labels that say where an engine's statements run, so a chapter's tables and plots follow the backend.

>>> import sqlalchemy as sa
>>> describe_backend(sa.create_engine("sqlite://"))
'SQLite in-process'
>>> describe_backend(sa.create_engine("postgresql+psycopg://u@db.example:5432/shop"))
'PostgreSQL over TCP'

A notebook that runs on SQLite by default and on PostgreSQL in CI (``PERFLAB_DATABASE_URL``) builds its
labels from these, never from a literal "in-process SQLite".
"""

from __future__ import annotations

from typing import Any

from perflab.latency import current_latency, engine_of


def describe_backend(engine: Any, *, latency: bool = True) -> str:
    """A short label for where ``engine`` runs its statements, plus any injected latency.

    >>> import sqlalchemy as sa
    >>> from perflab.latency import inject_latency
    >>> e = sa.create_engine("sqlite://")
    >>> _ = inject_latency(e, 1)
    >>> describe_backend(e), describe_backend(e, latency=False)
    ('SQLite in-process + 1 ms injected latency', 'SQLite in-process')

    Parameters:
        engine: an Engine (or a Connection/Session bound to one).
        latency: add the latency injected with :func:`perflab.inject_latency` (``+ 1 ms injected latency``).
    """
    target = engine_of(engine)
    url = target.url
    name = target.dialect.name
    if name == "sqlite":
        label = "SQLite in-process"
    elif name == "postgresql":
        label = "PostgreSQL over TCP" if url.host else "PostgreSQL over a Unix socket"
    else:
        label = f"{name} over {'TCP' if url.host else 'a local connection'}"
    ms = current_latency(target) if latency else 0.0
    return f"{label} + {ms:g} ms injected latency" if ms else label
