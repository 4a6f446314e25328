"""A second, differently seeded small dataset the learner never saw: answers remembered from the notebook fail on it.

>>> engine = unseen_engine(perflab.connect())  # doctest: +SKIP
>>> engine.url.database  # doctest: +SKIP
'/tmp/perflab-unseen-x1y2/perflab-unseen.sqlite'

Checks run the learner's function on the course's dataset and on this one, and compare both results
with the reference. On SQLite it is a temporary file built once per process (about 0.1 s); on
PostgreSQL a schema of its own on the learner's server (``perflab_unseen_<seed>``), built once and then
reused; where the learner may not create that schema, the SQLite file stands in.
"""

from __future__ import annotations

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


def unseen_engine(engine: Engine) -> Engine:
    """An engine on the unseen dataset, on the same backend as ``engine`` where possible (cached per process).

    Parameters: ``engine`` the learner's engine (its backend and server are reused).
    """
    key = f"{engine.dialect.name}:{engine.url.render_as_string(hide_password=False)}"
    if key not in _engines:
        built = _postgres(engine) if engine.dialect.name == "postgresql" else None
        _engines[key] = built or _sqlite()
    return _engines[key]


def _sqlite() -> Engine:
    import sqlalchemy as sa

    from perflab import dataset

    if "sqlite" not in _engines:
        path = Path(tempfile.mkdtemp(prefix="perflab-unseen-")) / "perflab-unseen.sqlite"
        engine = sa.create_engine(f"sqlite:///{path}")
        dataset.build(engine, UNSEEN_SCALE, UNSEEN_SEED, progress=False)
        _engines["sqlite"] = engine
    return _engines["sqlite"]


def _postgres(engine: Engine) -> Engine | None:
    import sqlalchemy as sa

    from perflab import dataset
    from perflab.db import make_engine

    url = engine.url.render_as_string(hide_password=False)
    try:
        unseen = make_engine(url, schema=f"perflab_unseen_{UNSEEN_SEED}")
        dataset.ensure(unseen, UNSEEN_SCALE, UNSEEN_SEED, progress=False)
    except sa.exc.SQLAlchemyError:  # e.g. no right to create a schema on a shared server
        return None
    return unseen
