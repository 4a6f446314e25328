"""A second, differently seeded small dataset the learner never saw: answers remembered from the notebook fail on it.

>>> engine = unseen_engine(perflab.connect())  # doctest: +SKIP
>>> engine.url.database  # doctest: +SKIP
'/tmp/perflab-unseen-x1y2/perflab-unseen.sqlite'

Checks run the learner's function on the course's dataset and on an unseen one, and compare both results
with the reference. Two kinds, and nothing of either outlives what it is for:

- :func:`both_datasets` (chapters 00 and 02) makes one for each check, seeded at random when the check
  reaches it and removed when the check ends: no answer can be prepared for it, nor remembered from an
  earlier check (about 0.15 s on SQLite, 0.5 s on PostgreSQL, per check);
- :func:`unseen_engine` (chapters 01, 09, 11) hands out one of a fixed seed, built once: on SQLite a file in a
  temporary folder of this process, built on first use (about 0.15 s) and removed when the process (the
  notebook's kernel) ends; on PostgreSQL a schema of its own on the learner's server
  (``perflab_unseen_<seed>``), built on first use (about 0.4 s) and reused by every kernel, as the course's
  dataset is. A function can call it too, and prepare its answers for it ahead.

On PostgreSQL each is a schema on the learner's server; ``perflab reset`` drops them with the dataset
(:func:`drop_unseen`: the fixed one, and a check's own that a stopped kernel left behind), and a kernel that
finds the fixed one gone builds it again. Where the learner may not create a schema, a SQLite file stands in.
"""

from __future__ import annotations

import atexit
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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

#: What a ❌ adds about the unseen dataset.
UNSEEN_WHERE = " on a second dataset your notebook never showed"
#: The PostgreSQL schemas of the datasets made for one check: this, then the seed.
CHECK_SCHEMA_PREFIX = "perflab_unseen_check_"

_engines: dict[str, Engine] = {}


def both_datasets(engine: Engine) -> Iterator[tuple[Engine, str]]:
    """The course's engine, then an unseen dataset made for this check alone, each with the words a ❌ adds.

    >>> [where for _, where in both_datasets(engine)]  # doctest: +SKIP
    ['', ' on a second dataset your notebook never showed']

    A loop over it makes the unseen dataset when it gets there (:func:`fresh_unseen`) and removes it when
    it goes on or stops (a check that fails half-way drops the loop, and with it the dataset).
    """
    yield engine, ""
    with fresh_unseen(engine) as unseen:
        yield unseen, UNSEEN_WHERE


@contextmanager
def fresh_unseen(engine: Engine) -> Iterator[Engine]:
    """An unseen dataset of its own, seeded at random now, removed when the ``with`` block ends.

    >>> with fresh_unseen(perflab.connect()) as other:  # doctest: +SKIP
    ...     top_customers(other)

    Its seed does not exist before the call, so no answer can be prepared for it, and no two checks share
    one. Parameters: ``engine`` the learner's engine: on PostgreSQL the dataset is a schema of its own on
    that server (``perflab_unseen_check_<seed>``), on SQLite (or where no schema can be made) a temporary file.
    """
    from perflab.config import settings

    seed = UNSEEN_SEED
    while seed in (UNSEEN_SEED, settings().seed):
        seed = random.SystemRandom().randrange(1, 2**31)
    schema = f"{CHECK_SCHEMA_PREFIX}{seed}"
    made = _postgres(engine, schema, seed) if engine.dialect.name == "postgresql" else None
    folder = None
    if made is None:
        folder = tempfile.mkdtemp(prefix="perflab-unseen-")
        made = _sqlite_in(folder, seed)
    try:
        yield made
    finally:
        if folder is None:
            from perflab.db import drop_schemas

            made.dispose()
            drop_schemas(engine, [schema])
        else:
            _remove(made, folder)


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
    built = _postgres(engine, unseen_schema(), UNSEEN_SEED) if engine.dialect.name == "postgresql" else None
    _engines[key] = built or _sqlite()
    return _engines[key]


def drop_unseen(engine: Engine) -> list[str]:
    """Drop the unseen datasets' schemas on ``engine``'s PostgreSQL server; the names of those it dropped.

    >>> drop_unseen(perflab.connect())  # doctest: +SKIP
    ['perflab_unseen_2718']

    What ``perflab reset`` calls: the fixed dataset of :func:`unseen_engine`, and any a check made for
    itself that its kernel, stopped half-way, left behind. On SQLite there is nothing to drop: the files go
    with their process.
    """
    if engine.dialect.name != "postgresql":
        return []
    import sqlalchemy as sa

    from perflab.db import drop_schemas

    names = sa.inspect(engine).get_schema_names()
    return drop_schemas(engine, [n for n in names if n == unseen_schema() or n.startswith(CHECK_SCHEMA_PREFIX)])


def _schema_exists(engine: Engine, schema: str | None = None) -> bool:
    import sqlalchemy as sa

    return bool(sa.inspect(engine).has_schema(schema or unseen_schema()))


def _sqlite() -> Engine:
    if "sqlite" not in _engines:
        folder = tempfile.mkdtemp(prefix="perflab-unseen-")
        engine = _sqlite_in(folder, UNSEEN_SEED)
        atexit.register(_remove, engine, folder)
        _engines["sqlite"] = engine
    return _engines["sqlite"]


def _sqlite_in(folder: str, seed: int) -> Engine:
    """An unseen dataset of ``seed`` built in a SQLite file in ``folder``."""
    import sqlalchemy as sa

    from perflab import dataset

    engine = sa.create_engine(f"sqlite:///{Path(folder) / 'perflab-unseen.sqlite'}")
    dataset.build(engine, UNSEEN_SCALE, seed, progress=False)
    return engine


def _remove(engine: Engine, folder: str) -> None:
    """Close a SQLite unseen dataset's connections and remove its folder (when its check or its process ends)."""
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def _postgres(engine: Engine, schema: str, seed: int) -> Engine | None:
    """An unseen dataset of ``seed`` in ``schema`` on ``engine``'s server (built unless there); None if refused."""
    import sqlalchemy as sa

    from perflab import dataset
    from perflab.db import make_engine

    url = engine.url.render_as_string(hide_password=False)
    try:
        unseen = make_engine(url, schema=schema)
        dataset.ensure(unseen, UNSEEN_SCALE, seed, progress=False)
    except sa.exc.SQLAlchemyError:  # e.g. no right to create a schema on a shared server
        return None
    return unseen
