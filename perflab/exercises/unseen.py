"""A second, differently seeded small dataset the learner never saw: answers remembered from the notebook fail on it.

>>> engine = unseen_engine(perflab.connect())  # doctest: +SKIP
>>> engine.url.database  # doctest: +SKIP
'/tmp/perflab-unseen-x1y2/perflab-unseen.sqlite'

Checks run the learner's function on the course's dataset and on this one, and compare both results
with the reference. Nothing of it outlives what it is for:

- on SQLite it is a file in a temporary folder of this process, built on first use (about 0.15 s) and
  removed when the process (the notebook's kernel) ends;
- on PostgreSQL it is a schema of its own on the learner's server (``perflab_unseen_<seed>``), built on
  first use (about 0.4 s) and reused by every kernel, as the course's dataset is; ``perflab reset`` drops
  it with the dataset (:func:`drop_unseen`), and a kernel that finds it gone builds it again. Where the
  learner may not create that schema, the SQLite file stands in.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The seed of the unseen dataset: not the course's default, not the tests'.
UNSEEN_SEED = 2718
#: Its scale: small, so building it and running the learner's function on it are quick.
UNSEEN_SCALE = 0.02

#: The ❌ hint for a function right on the course's data and wrong on the unseen dataset.
UNSEEN_HINT = ("compute the answer from the engine your function is given (no values copied from the notebook): "
               "the check also runs it on a dataset your notebook never showed")

_engines: dict[str, Engine] = {}


def both_datasets(engine: Engine) -> list[tuple[Engine, str]]:
    """The course's engine and the unseen one, each with the words a message adds about it.

    >>> [where for _, where in both_datasets(engine)]  # doctest: +SKIP
    ['', ' on a second dataset your notebook never showed']
    """
    return [(engine, ""), (unseen_engine(engine), " on a second dataset your notebook never showed")]


def unseen_schema() -> str:
    """The PostgreSQL schema of the unseen dataset.

    >>> unseen_schema()
    'perflab_unseen_2718'
    """
    return f"perflab_unseen_{UNSEEN_SEED}"


def unseen_engine(engine: Engine) -> Engine:
    """An engine on the unseen dataset, on the same backend as ``engine`` where possible (cached per process).

    Parameters: ``engine`` the learner's engine (its backend and server are reused).
    """
    key = f"{engine.dialect.name}:{engine.url.render_as_string(hide_password=False)}:{unseen_schema()}"
    cached = _engines.get(key)
    if cached is not None and (cached.dialect.name == "sqlite" or _schema_exists(cached)):
        return cached
    if cached is not None:  # its schema was dropped (perflab reset): built again below
        cached.dispose()
    built = _postgres(engine) if engine.dialect.name == "postgresql" else None
    _engines[key] = built or _sqlite()
    return _engines[key]


def drop_unseen(engine: Engine) -> bool:
    """Drop the unseen dataset's schema on ``engine``'s PostgreSQL server; True if there was one to drop.

    >>> drop_unseen(perflab.connect())  # doctest: +SKIP
    True

    What ``perflab reset`` calls. On SQLite there is nothing to drop: the file goes with its process.
    """
    if engine.dialect.name != "postgresql":
        return False
    from perflab.db import make_engine

    admin = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        there = _schema_exists(admin, unseen_schema())
        if there:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{unseen_schema()}" CASCADE')
    finally:
        admin.dispose()
    return there


def _schema_exists(engine: Engine, schema: str | None = None) -> bool:
    import sqlalchemy as sa

    return bool(sa.inspect(engine).has_schema(schema or unseen_schema()))


def _sqlite() -> Engine:
    import sqlalchemy as sa

    from perflab import dataset

    if "sqlite" not in _engines:
        folder = tempfile.mkdtemp(prefix="perflab-unseen-")
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'perflab-unseen.sqlite'}")
        atexit.register(_remove, engine, folder)
        dataset.build(engine, UNSEEN_SCALE, UNSEEN_SEED, progress=False)
        _engines["sqlite"] = engine
    return _engines["sqlite"]


def _remove(engine: Engine, folder: str) -> None:
    """At exit: close the SQLite file's connections and remove its folder."""
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def _postgres(engine: Engine) -> Engine | None:
    import sqlalchemy as sa

    from perflab import dataset
    from perflab.db import make_engine

    url = engine.url.render_as_string(hide_password=False)
    try:
        unseen = make_engine(url, schema=unseen_schema())
        dataset.ensure(unseen, UNSEEN_SCALE, UNSEEN_SEED, progress=False)
    except sa.exc.SQLAlchemyError:  # e.g. no right to create a schema on a shared server
        return None
    return unseen
