"""What a database's schema holds (tables, views, indexes, triggers, ...), and undoing what changed in it.

>>> import sqlalchemy as sa
>>> from perflab.schema import Base
>>> engine = sa.create_engine("sqlite://")
>>> Base.metadata.create_all(engine)
>>> before = schema_objects(engine)
>>> with engine.begin() as conn:
...     _ = conn.exec_driver_sql("DROP INDEX ix_orders_user_id")
...     _ = conn.exec_driver_sql("CREATE TABLE side (id INTEGER PRIMARY KEY)")
...     _ = conn.exec_driver_sql("ANALYZE")
>>> change = compare(before, schema_objects(engine))
>>> named(change.added), named(change.removed)
('table side, table sqlite_stat1', 'index ix_orders_user_id')
>>> undo(engine, before, change)
>>> schema_objects(engine) == before
True

A check that runs a learner's function on the course's dataset snapshots the schema first, and
afterwards names, and undoes, what else the function did: an index of the course's it dropped is made
again from its recorded definition, a table, view, trigger or function it added is dropped. SQLite's
``ANALYZE`` leaves a table, ``sqlite_stat1``, whose statistics change later plans: it counts as added.
Tables and views removed or changed cannot be made again here (their rows are gone): :func:`undo`
leaves them, and the dataset needs a rebuild (``perflab reset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from perflab.latency import engine_of

#: An object of the schema: (kind, name, the table it belongs to: its own name for a table, "" for a function).
Key = tuple[str, str, str]
#: Each object's definition, by key.
Objects = dict[Key, str]

_PG_OBJECTS = """
    SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
                          WHEN 'S' THEN 'sequence' ELSE 'foreign table' END,
           c.relname, coalesce(t.relname, c.relname),
           CASE WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid)
                WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid)
                ELSE coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                                 ORDER BY a.attnum)
                               FROM pg_attribute AS a
                               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') END
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    LEFT JOIN pg_index AS x ON x.indexrelid = c.oid
    LEFT JOIN pg_class AS t ON t.oid = x.indrelid
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I', 'S', 'f')
    UNION ALL
    SELECT 'trigger', g.tgname, t.relname, pg_get_triggerdef(g.oid)
    FROM pg_trigger AS g
    JOIN pg_class AS t ON t.oid = g.tgrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND NOT g.tgisinternal
    UNION ALL
    SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', '', p.prosrc
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema()
"""


def schema_objects(engine: object) -> Objects:
    """Every table, view, index and trigger of the current schema (PostgreSQL: sequences and functions too).

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with engine.begin() as conn:
    ...     _ = conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INT UNIQUE)")
    >>> schema_objects(engine)
    {('table', 't', 't'): 'CREATE TABLE t (id INTEGER PRIMARY KEY, a INT UNIQUE)'}

    Values are definitions, so a changed object compares unequal. The indexes
    SQLite makes for a table's UNIQUE constraints come and go with their table and are left out.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
    """
    with engine_of(engine).connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(sa.text(_PG_OBJECTS))
        else:
            rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                        "WHERE sql IS NOT NULL OR type != 'index'")
        return {(str(kind), str(name), str(table)): str(sql or "") for kind, name, table, sql in rows}


@dataclass
class Change:
    """What differs between two :func:`schema_objects` snapshots: the keys added, removed and changed."""

    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[Key] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def new_indexes(self) -> list[str]:
        """Names of the added indexes on tables that were there before (an added table's indexes come with it)."""
        tables = {name for kind, name, _on in self.added if kind == "table"}
        return [name for kind, name, on in self.added if kind == "index" and on not in tables]


def named(keys: list[Key]) -> str:
    """Objects for a message: ``table side, trigger log``.

    >>> named([("table", "side", "side"), ("trigger", "log", "orders")])
    'table side, trigger log'
    """
    return ", ".join(f"{kind} {name}" for kind, name, _on in keys)


def compare(before: Objects, after: Objects) -> Change:
    """The objects added, removed and changed from ``before`` to ``after``, sorted.

    >>> change = compare({("index", "a", "t"): "x"}, {("index", "a", "t"): "y", ("index", "b", "t"): "z"})
    >>> named(change.added), named(change.changed), change.new_indexes()
    ('index b', 'index a', ['b'])
    """
    return Change(added=sorted(set(after) - set(before)), removed=sorted(set(before) - set(after)),
                  changed=sorted(k for k in set(before) & set(after) if before[k] != after[k]))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_DROP_ORDER = ["trigger", "view", "materialized view", "index", "table", "foreign table", "sequence", "function"]


def undo(engine: object, before: Objects, change: Change, *, keep: tuple[str, ...] = ()) -> None:
    """Drop what ``change`` added (but the indexes named in ``keep``); make removed or changed indexes again.

    Removed or changed tables, views and other objects stay as they are: their rows cannot be made
    again from a definition.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        before: the snapshot taken before the change.
        change: :func:`compare` of ``before`` and the schema now.
        keep: names of added indexes to leave (a check drops the learner's own index later).
    """
    target = engine_of(engine)
    postgres = target.dialect.name == "postgresql"
    tables = {name for kind, name, _on in change.added if kind == "table"}
    for kind, name, on in sorted(change.added, key=lambda key: _DROP_ORDER.index(key[0])):
        if (kind == "index" and name in keep) or (kind in ("index", "trigger") and on in tables and on != name):
            continue  # kept, or goes with its table
        if kind == "trigger" and postgres:
            statement = f"DROP TRIGGER IF EXISTS {_quoted(name)} ON {_quoted(on)}"
        elif kind == "function":  # name(arguments), as PostgreSQL identifies it
            proname, arguments = name.split("(", 1)
            statement = f"DROP FUNCTION IF EXISTS {_quoted(proname)}({arguments} CASCADE"
        else:
            statement = f"DROP {kind.upper()} IF EXISTS {_quoted(name)}{' CASCADE' if postgres else ''}"
        with target.begin() as conn:
            conn.exec_driver_sql(statement)
    gone = {name for kind, name, _on in change.removed if kind == "table"}
    for key in change.removed + change.changed:
        kind, name, on = key
        if kind == "index" and on not in gone:
            with target.begin() as conn:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_quoted(name)}")
                conn.exec_driver_sql(before[key])
