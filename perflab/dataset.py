"""Build, check and reset the perflab dataset on SQLite or PostgreSQL.

>>> import sqlalchemy as sa
>>> from perflab import dataset
>>> engine = sa.create_engine("sqlite://")
>>> report = dataset.build(engine, scale=0.01, seed=17, progress=False)
>>> dataset.counts(engine)["users"]
100

- SQLite: the rows go into a temporary file (one transaction, ``executemany``, journal off), which is
  renamed into place only when complete; a file lock makes concurrent builders wait for one another.
- PostgreSQL: one transaction with ``COPY`` (psycopg 3), serialized by an advisory lock per schema.
- Either way the build records scale, seed and a fingerprint in the ``perflab_meta`` table, and
  :func:`ensure` only rebuilds when that record is missing or differs, or a table's row count changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from perflab.config import DEFAULT_SEED, parse_scale, parse_seed, settings
from perflab.errors import PerflabError
from perflab.generate import DATASET_VERSION, Columns, generate_tables, row_counts, rows
from perflab.schema import TABLES, Base
from perflab.urls import mask_url

META = sa.Table(
    "perflab_meta",
    sa.MetaData(),
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
PG_LOCK_CLASS = 1_717_017  #: first key of the builds' advisory locks; the second is the schema's (see build_lock_key)


@dataclass
class BuildReport:
    """What a build did: rows per table, fingerprint, and seconds per phase."""

    backend: str
    scale: float
    seed: int
    counts: dict[str, int]
    fingerprint: str
    phases: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0  #: wall time of the whole build

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        return (f"built {self.rows:,} rows (scale {self.scale:g}, seed {self.seed}) on {self.backend} "
                f"in {self.seconds:.2f} s · fingerprint {self.fingerprint}")


# ---------------------------------------------------------------- reading what is there

def counts(engine: Engine | Connection) -> dict[str, int]:
    """Rows per table, counted in the database (one statement: one round trip).

    >>> counts(engine)["orders"] > 0  # doctest: +SKIP
    True
    """
    select = sa.text("SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in TABLES))
    with _connection(engine) as conn:
        if conn.dialect.name != "sqlite":
            return dict(conn.execute(select).one()._mapping)
        # A new SQLite connection reads every page of the indexes it counts through read() calls (10 ms
        # at scale 1); memory-mapped, the same count takes 1 ms. The connection's own setting is restored.
        before = conn.exec_driver_sql("PRAGMA mmap_size").scalar()  # None: in memory, nothing to map
        if before is None:
            return dict(conn.execute(select).one()._mapping)
        conn.exec_driver_sql(f"PRAGMA mmap_size = {256 << 20}")
        try:
            return dict(conn.execute(select).one()._mapping)
        finally:
            conn.exec_driver_sql(f"PRAGMA mmap_size = {int(before)}")


def fingerprint(engine: Engine | Connection) -> str:
    """A fingerprint of the data, computed from the database: equal data → equal fingerprints.

    Every row is counted, every number column summed, and one row in eight hashed in full (text
    and timestamps are covered by that sample: summing their lengths cost five times as much).
    Values are normalized the same way on SQLite and PostgreSQL, so the same seed and scale give
    the same fingerprint on both backends.
    """
    with _connection(engine) as conn:
        digest = hashlib.sha256(f"v{DATASET_VERSION}".encode())
        for name in TABLES:
            table = Base.metadata.tables[name]
            cols = [_normalized(col, conn.dialect.name) for col in table.columns]
            sums = [sa.func.sum(sa.cast(c, sa.BigInteger))
                    for c, col in zip(cols, table.columns) if _is_int(col)]
            aggregates = conn.execute(sa.select(sa.func.count(), *sums).select_from(table)).one()
            digest.update(f"|{name}:{'/'.join(map(str, aggregates))}|".encode())
            sample = conn.execute(sa.select(*cols).where(table.c.id % 8 == 0).order_by(table.c.id))
            for chunk in sample.partitions(20_000):
                digest.update("\n".join("\x1f".join(map(str, row)) for row in chunk).encode())
        return f"v{DATASET_VERSION}-{digest.hexdigest()[:16]}"


def recorded(engine: Engine | Connection) -> dict[str, str] | None:
    """The build record in ``perflab_meta``, or None when there is no complete dataset."""
    if _sqlite_missing(engine):
        return None
    with _connection(engine) as conn:
        if not sa.inspect(conn).has_table("perflab_meta"):
            return None
        meta = {k: v for k, v in conn.execute(sa.select(META.c.key, META.c.value))}
    return meta if meta.get("status") == "complete" else None


def stale_reason(engine: Engine | Connection, scale: float, seed: int) -> str | None:
    """Why the database does not hold this dataset, in a few words; None when it does.

    >>> stale_reason(engine, 0.01, 17) is None  # doctest: +SKIP
    True

    It reads the build record and counts the rows of each table (a chapter that deleted or added
    rows is noticed); it does not rehash the data (see :func:`fingerprint` for that).

    Parameters:
        engine: where the dataset lives. scale, seed: the dataset wanted.
    """
    if _sqlite_missing(engine):
        return "not built yet"
    with _connection(engine) as conn:
        meta = recorded(conn)
        if meta is None:
            return "not built yet"
        if meta.get("dataset_version") != str(DATASET_VERSION):
            return f"built by another perflab (dataset version {meta.get('dataset_version')}, now {DATASET_VERSION})"
        if any(meta.get(key) != value for key, value in _identity(scale, seed).items()):
            return f"built for scale {float(meta['scale']):g}, seed {meta['seed']}, not {scale:g}/{seed}"
        expected: dict[str, int] = json.loads(meta.get("counts", "{}"))
        actual = counts(conn)
    changed = [t for t in TABLES if actual[t] != expected.get(t)]
    if not changed:
        return None
    t = changed[0]
    return (f"{t} has {actual[t]:,} rows where the build recorded {expected.get(t, 0):,} "
            "(rows were deleted or added since)")


def is_current(engine: Engine | Connection, scale: float, seed: int) -> bool:
    """True when the database holds a complete build of this dataset version, scale and seed, row counts intact."""
    return stale_reason(engine, scale, seed) is None


# ---------------------------------------------------------------- building

def ensure(engine: Engine, scale: float | None = None, seed: int | None = None,
           *, progress: bool | None = None) -> bool:
    """Build the dataset only if it is missing, incomplete, of another scale/seed, or has lost rows; True if it built.

    Cheap when the data is there: it reads the build record and counts rows, it does not rehash.
    Rebuilding a dataset that was there prints one line saying why (on stderr).
    """
    cfg = settings() if scale is None or seed is None else None
    scale = parse_scale(cfg.scale if cfg and scale is None else scale)
    seed = parse_seed(cfg.seed if cfg and seed is None else seed)
    reason = stale_reason(engine, scale, seed)
    if reason is None:
        return False
    if reason != "not built yet":
        print(f"perflab: rebuilding the dataset at {mask_url(engine.url)}: {reason}", file=sys.stderr)
    return build(engine, scale, seed, progress=progress, only_if_needed=True) is not None


def build(engine: Engine, scale: float = 1.0, seed: int = DEFAULT_SEED, *,
          progress: bool | None = None, only_if_needed: bool = False) -> BuildReport | None:
    """Generate the rows and load them, replacing whatever dataset was there.

    >>> build(sa.create_engine("sqlite://"), scale=0.01, progress=False).counts["users"]  # doctest: +SKIP
    100

    Parameters: ``scale`` (> 0; 1 ≈ 350k rows), ``seed``, ``progress`` (None: a bar if the build
    takes more than a moment; False: never), ``only_if_needed`` (re-check under the lock and skip
    if another process just built it; what :func:`ensure` uses).
    """
    scale, seed = parse_scale(scale), parse_seed(seed)
    builders = {"sqlite": _build_sqlite, "postgresql": _build_postgres}
    if engine.dialect.name not in builders:
        raise PerflabError(f"unsupported backend {engine.dialect.name!r}: perflab builds into sqlite or postgresql")
    t0 = time.perf_counter()
    report = builders[engine.dialect.name](engine, scale, seed, progress, only_if_needed)
    if report is not None:
        report.seconds = time.perf_counter() - t0
    return report


def reset(engine: Engine) -> None:
    """Remove the dataset (tables and build record); the next :func:`ensure` rebuilds it."""
    if engine.dialect.name == "sqlite" and _sqlite_path(engine):
        path = Path(_sqlite_path(engine))  # type: ignore[arg-type]
        with _file_lock(path):
            engine.dispose()
            for p in (path, *_sqlite_companions(path)):
                p.unlink(missing_ok=True)
        return
    with engine.begin() as conn:
        META.drop(conn, checkfirst=True)
        Base.metadata.drop_all(conn)


def build_lock_key(schema: str) -> int:
    """The second key of the PostgreSQL advisory lock that serializes builds into ``schema``.

    >>> build_lock_key("public")
    -274599051

    One lock per schema: learners building into their own schemas on a shared server do not wait for
    one another. Stable across processes, machines and PostgreSQL versions (not ``hash()`` or ``hashtext``).

    Parameters:
        schema: the PostgreSQL schema the tables are built in.
    """
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big", signed=True)


def _identity(scale: float, seed: int) -> dict[str, str]:
    return {"dataset_version": str(DATASET_VERSION), "scale": repr(float(scale)), "seed": str(seed)}


def _meta_rows(report: BuildReport) -> list[dict[str, str]]:
    values = {
        **_identity(report.scale, report.seed),
        "fingerprint": report.fingerprint,
        "counts": json.dumps(report.counts),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": "complete",
    }
    return [{"key": k, "value": v} for k, v in values.items()]


class _NoBar:
    """Stands in for a progress bar when none is wanted (importing tqdm.auto alone costs 0.1 s)."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress_bar(total: int, progress: bool | None) -> Any:
    if progress is False:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=" rows", unit_scale=True, desc="building dataset",
                delay=0 if progress else 1.0, leave=False)


def _expected_rows(scale: float) -> int:
    """Rows a build will load (order items estimated at their mean of three per order), for the bar."""
    n = row_counts(scale)
    return sum(n.values()) + 3 * n["orders"]


def _build_sqlite(engine: Engine, scale: float, seed: int, progress: bool | None,
                  only_if_needed: bool) -> BuildReport | None:
    path_text = _sqlite_path(engine)
    if path_text is None:  # in-memory database: build in place, nobody else can see it
        from contextlib import nullcontext

        with engine.connect() as conn:
            return _load_sqlite(conn.connection.driver_connection, scale, seed, progress, lambda: nullcontext(conn))
    path = Path(path_text)
    with _file_lock(path):
        if only_if_needed and is_current(engine, scale, seed):
            return None
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a build that was killed
            stale.unlink(missing_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            dbapi = sqlite3.connect(tmp, isolation_level=None)
            index_conn = sqlite3.connect(tmp, isolation_level=None, timeout=600, check_same_thread=False)
            scratch = sa.create_engine(f"sqlite:///{tmp}")
            try:
                report = _load_sqlite(dbapi, scale, seed, progress, scratch.connect, index_conn)
            finally:
                dbapi.close()
                index_conn.close()
                scratch.dispose()
            engine.dispose()
            for leftover in _sqlite_companions(path):  # another file's journal would be replayed into ours
                leftover.unlink(missing_ok=True)
            os.replace(tmp, path)
        except (OSError, sqlite3.OperationalError) as exc:
            raise PerflabError(
                f"cannot write the dataset to {path.parent} ({exc}) — make the folder writable or set "
                "PERFLAB_DATABASE_URL=sqlite:////a/writable/folder/perflab.sqlite"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        return report


def _load_sqlite(dbapi: Any, scale: float, seed: int, progress: bool | None, open_conn: Any,
                 index_conn: sqlite3.Connection | None = None) -> BuildReport:
    """Load generated rows through a raw sqlite3 connection, then index and fingerprint.

    With ``index_conn`` (a second connection to the same file) the indexes are built in a thread
    while the fingerprint is computed: sqlite3 lets go of the GIL while SQLite works, so the two
    overlap on two cores. Without it (in-memory databases) they run in turn.
    """
    phases = {"insert": 0.0}
    dialect = sa.create_engine("sqlite://").dialect
    for conn in (dbapi, index_conn) if index_conn else (dbapi,):  # a temporary file: no journal, no fsync
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY", "cache_size=-131072"):
            conn.execute(f"PRAGMA {pragma}")
    dbapi.execute("BEGIN")
    for name in ("perflab_meta", *TABLES):
        dbapi.execute(f"DROP TABLE IF EXISTS {name}")
    loaded: dict[str, int] = {}
    with _progress_bar(_expected_rows(scale), progress) as bar:
        for name, columns in _timed(generate_tables(scale, seed), phases):
            t1 = time.perf_counter()
            table = Base.metadata.tables[name]
            dbapi.execute(str(CreateTable(table).compile(dialect=dialect)))
            dbapi.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(table.columns))})", rows(columns))
            phases["insert"] += time.perf_counter() - t1
            loaded[name] = len(columns["id"])
            bar.update(loaded[name])
    dbapi.execute("COMMIT")
    indexes = [str(CreateIndex(ix).compile(dialect=dialect)) for t in TABLES for ix in Base.metadata.tables[t].indexes]
    t0 = time.perf_counter()
    if index_conn is None:
        dbapi.executescript(";\n".join(indexes))
        with open_conn() as conn:
            digest = fingerprint(conn)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            job = pool.submit(index_conn.executescript, "BEGIN;\n" + ";\n".join(indexes) + ";\nCOMMIT;")
            with open_conn() as conn:
                digest = fingerprint(conn)
            job.result()
    phases["index+fingerprint"] = time.perf_counter() - t0
    with open_conn() as conn:
        report = _finish(conn, "sqlite", scale, seed, loaded, phases, digest)
        conn.commit()
    return report


def _timed(items: Iterator[tuple[str, Columns]], phases: dict[str, float]) -> Iterator[tuple[str, Columns]]:
    """Yield from a generator, adding the time spent inside it to ``phases["generate"]``."""
    phases.setdefault("generate", 0.0)
    while True:
        t0 = time.perf_counter()
        item = next(items, None)
        phases["generate"] += time.perf_counter() - t0
        if item is None:
            return
        yield item


def _finish(conn: Connection, backend: str, scale: float, seed: int, loaded: dict[str, int],
            phases: dict[str, float], digest: str) -> BuildReport:
    """Write the build record (in the caller's transaction) and report."""
    report = BuildReport(backend, scale, seed, {t: loaded[t] for t in TABLES}, digest, phases)
    META.create(conn, checkfirst=True)
    conn.execute(META.insert(), _meta_rows(report))
    return report


def _copy_text(columns: Columns) -> str:
    """Columns → PostgreSQL COPY text format (tab-separated; our strings hold no tabs or newlines)."""
    as_text = []
    for col in columns.values():
        values = col.tolist() if hasattr(col, "tolist") else col
        if values and isinstance(values[0], bool):
            as_text.append(["t" if v else "f" for v in values])
        else:
            as_text.append([str(v) for v in values])
    return "\n".join("\t".join(r) for r in zip(*as_text)) + "\n"


def _build_postgres(engine: Engine, scale: float, seed: int, progress: bool | None,
                    only_if_needed: bool) -> BuildReport | None:
    phases: dict[str, float] = {"copy": 0.0}
    with engine.begin() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                     {"cls": PG_LOCK_CLASS, "key": build_lock_key(schema)})
        if only_if_needed and is_current(conn, scale, seed):
            return None
        META.drop(conn, checkfirst=True)
        Base.metadata.drop_all(conn)
        raw = conn.connection.driver_connection
        loaded: dict[str, int] = {}
        with _progress_bar(_expected_rows(scale), progress) as bar, raw.cursor() as cur:  # type: ignore[union-attr]
            for name, columns in _timed(generate_tables(scale, seed), phases):
                # foreign keys come after the load (checked per row during COPY they cost 10x); FREEZE
                # writes the rows already frozen, allowed because the table was created in this transaction
                conn.execute(CreateTable(Base.metadata.tables[name], include_foreign_key_constraints=[]))
                text = _copy_text(columns)
                t_copy = time.perf_counter()
                with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)") as copy:
                    copy.write(text)
                phases["copy"] += time.perf_counter() - t_copy
                loaded[name] = len(columns["id"])
                bar.update(loaded[name])
        t0 = time.perf_counter()
        for name in TABLES:
            table = Base.metadata.tables[name]
            for constraint in table.foreign_key_constraints:
                conn.execute(AddConstraint(constraint))
            for index in table.indexes:
                conn.execute(CreateIndex(index))
            conn.execute(sa.text(f"ANALYZE {name}"))
        phases["index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        digest = fingerprint(conn)
        phases["fingerprint"] = time.perf_counter() - t0
        return _finish(conn, "postgresql", scale, seed, loaded, phases, digest)


# ---------------------------------------------------------------- small helpers

def _is_int(col: sa.Column[Any]) -> bool:
    return isinstance(col.type, (sa.Integer, sa.Boolean))


def _normalized(col: sa.Column[Any], dialect: str) -> Any:
    """A column expression whose text form is the same on SQLite and PostgreSQL."""
    if isinstance(col.type, sa.Boolean):
        return sa.cast(col, sa.Integer)
    if isinstance(col.type, sa.DateTime):
        if dialect == "postgresql":
            return sa.func.to_char(col, "YYYY-MM-DD HH24:MI:SS")
        return sa.func.substr(sa.cast(col, sa.Text), 1, 19)
    return col


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as conn:
            yield conn


def _sqlite_path(engine: Engine | Connection) -> str | None:
    database = engine.engine.url.database if isinstance(engine, Connection) else engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _sqlite_companions(path: Path) -> list[Path]:
    """The rollback journal and WAL files SQLite keeps beside ``path``."""
    return [Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm")]


def _sqlite_missing(engine: Engine | Connection) -> bool:
    """True for a SQLite file that does not exist yet (opening it would create an empty file)."""
    path = _sqlite_path(engine)
    return path is not None and not os.path.exists(path)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold ``<file>.lock`` while building, so concurrent builders take turns."""
    from filelock import FileLock, Timeout

    lock_path = Path(f"{path}.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path.touch(exist_ok=True)  # fail fast here: filelock would retry an unwritable folder for minutes
    except OSError as exc:
        raise PerflabError(
            f"cannot write the dataset to {path.parent} ({exc.strerror}) — make the folder writable or set "
            "PERFLAB_DATABASE_URL=sqlite:////a/writable/folder/perflab.sqlite"
        ) from None
    try:
        with FileLock(lock_path, timeout=600):
            yield
    except Timeout:
        raise PerflabError(f"waited 10 minutes for another build of {path} — is one stuck? "
                           f"remove {lock_path} if no perflab process is running") from None
