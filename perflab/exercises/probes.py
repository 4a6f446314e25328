"""Tell the statements code asked for from the ones drivers and libraries send by themselves.

>>> is_probe('PRAGMA main.table_info("orders")'), is_probe("BEGIN"), is_probe("SELECT id FROM users")
(True, True, False)

pandas' ``read_sql`` first asks whether its string is a table name (``PRAGMA table_info``, or a
``pg_catalog`` query), SQLAlchemy's inspector reads the catalog, and every transaction has its BEGIN
and COMMIT: the exercise checks count none of these. A probe is recognised by its whole shape (a table
alias ``pg_o`` or a comment ``/* sqlite_master */`` does not make a statement a probe).
"""
from __future__ import annotations

import re

_LEADING_COMMENTS = re.compile(r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)+", re.DOTALL)
_STRING = r"'(?:[^']|'')*'"
_QUOTED = r'"(?:[^"]|"")*"'

#: Transaction control and session settings: one statement, nothing after it.
_CONTROL = re.compile(r"(?:BEGIN|COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE|SET|SHOW|RESET|DISCARD)\b[^;]*", re.IGNORECASE)

#: SQLite: a PRAGMA (``PRAGMA main.table_info("orders")``: pandas and SQLAlchemy ask it whether a name is a table).
_PRAGMA = re.compile(rf"PRAGMA\s+(?:\w+\.)?\w+\s*(?:\(\s*(?:{_QUOTED}|{_STRING}|\w+)\s*\)|=\s*(?:{_STRING}|[\w-]+))?",
                     re.IGNORECASE)

#: SQLite: a lookup in the schema table, as SQLAlchemy's inspector and pandas send it, and nothing else: only the
#: schema table's columns, literal conditions on them (no subquery, no other table), ordered by name.
_SQLITE_SCHEMA = r"(?:(?:main|temp)\.)?sqlite_(?:temp_)?(?:master|schema)"
_SQLITE_COLUMN = r"(?:name|type|tbl_name|sql|rootpage)"
_SQLITE_TERM = (rf"(?:{_SQLITE_COLUMN}|{_STRING}|\?|:\w+|=|!=|<>|AND|OR|NOT|LIKE|GLOB|ESCAPE|IS|NULL|IN"
                rf"|\(\s*{_STRING}(?:\s*,\s*{_STRING})*\s*\))")
_SQLITE_CATALOG = re.compile(
    rf"SELECT\s+(?:\*|{_SQLITE_COLUMN}(?:\s*,\s*{_SQLITE_COLUMN})*)\s+FROM\s+"
    rf"(?:{_SQLITE_SCHEMA}|\(\s*SELECT\s+\*\s+FROM\s+{_SQLITE_SCHEMA}\s+UNION\s+ALL\s+SELECT\s+\*\s+FROM\s+"
    rf"{_SQLITE_SCHEMA}\s*\))"
    rf"(?:\s+WHERE(?:\s*{_SQLITE_TERM})+)?(?:\s+ORDER\s+BY\s+{_SQLITE_COLUMN})?\s*",
    re.IGNORECASE)

#: PostgreSQL: the catalog relations SQLAlchemy's inspector reads (pandas asks it whether a name is a table)...
_PG_RELATIONS = frozenset({
    "pg_am", "pg_attrdef", "pg_attribute", "pg_class", "pg_collation", "pg_constraint", "pg_depend", "pg_description",
    "pg_enum", "pg_index", "pg_indexes", "pg_inherits", "pg_matviews", "pg_namespace", "pg_opclass", "pg_proc",
    "pg_sequence", "pg_tables", "pg_tablespace", "pg_type", "pg_views",
    "information_schema.columns", "information_schema.schemata", "information_schema.tables",
    "information_schema.views",
})
#: ... and the functions these lookups call: nothing that runs SQL given as text (query_to_xml) or reads a table.
_PG_FUNCTIONS = frozenset({
    "any", "array_agg", "bool_and", "bool_or", "coalesce", "count", "current_schema", "current_setting",
    "format_type", "generate_subscripts", "json_build_object", "max", "min", "pg_collation_is_visible",
    "pg_get_constraintdef", "pg_get_expr", "pg_get_indexdef", "pg_get_serial_sequence", "pg_get_viewdef",
    "pg_table_is_visible", "pg_type_is_visible", "unnest", "version",
    # keywords a parenthesis follows
    "and", "array", "as", "cast", "else", "exists", "filter", "from", "in", "join", "not", "on", "or", "over", "then",
    "when", "where",
})
_PG_NO_FROM = re.compile(r"SELECT\s+(?:pg_catalog\.)?(?:current_schema|version)\s*\(\s*\)\s*", re.IGNORECASE)


_CLAUSE = re.compile(rf"{_STRING}|{_QUOTED}|[()\[\],]|\b(?:FROM|WHERE|GROUP|ORDER|HAVING|LIMIT|OFFSET|WINDOW|UNION"
                     r"|EXCEPT|INTERSECT|SELECT)\b", re.IGNORECASE)


def _comma_join(text: str) -> bool:
    """True when a FROM list has a comma at its own level (``FROM pg_class, orders``): a table joined unseen."""
    in_from = [False]
    for token in _CLAUSE.finditer(text):
        word = token.group().upper()
        if word in ("(", "["):
            in_from.append(False)
        elif word in (")", "]"):
            if len(in_from) > 1:
                in_from.pop()
        elif word == ",":
            if in_from[-1]:
                return True
        elif word[0] not in "'\"":
            in_from[-1] = word == "FROM"
    return False


def _pg_catalog_lookup(text: str) -> bool:
    """A SELECT that reads only catalog relations and calls only the functions catalog lookups call."""
    if _PG_NO_FROM.fullmatch(text):
        return True
    if not re.match(r"SELECT\b", text, re.IGNORECASE) or ";" in text or re.search(r"\bTABLE\b", text, re.IGNORECASE):
        return False
    relations = re.findall(r"\b(?:FROM|JOIN)\s*(\(|[\w.]+)", text, re.IGNORECASE)
    if not relations or any(r != "(" and r.lower().removeprefix("pg_catalog.") not in _PG_RELATIONS
                            for r in relations):
        return False
    calls = re.findall(r'([\w.]+|"[^"]*")\s*\(', text)
    return all(c.lower().removeprefix("pg_catalog.") in _PG_FUNCTIONS for c in calls) and not _comma_join(text)


def is_probe(sql: str, backend: str | None = None) -> bool:
    """True for statements nobody asked for by name: catalog lookups, PRAGMAs and transaction control.

    >>> is_probe('PRAGMA main.table_info("SELECT 1")'), is_probe("BEGIN"), is_probe("SELECT id FROM users")
    (True, True, False)
    >>> is_probe("select current_schema()"), is_probe("SELECT relname FROM pg_catalog.pg_class")
    (True, True)
    >>> is_probe("SELECT pg_o.id FROM orders AS pg_o"), is_probe("SELECT id FROM orders /* sqlite_master */")
    (False, False)

    A probe is recognised by its whole shape, from its first word (after leading comments) to its last, as
    pandas and SQLAlchemy send it; anything else counts, whatever names or comments it contains.
    Parameters: ``backend``, "sqlite" or "postgresql" (None: either): only that database's probe shapes.
    """
    text = _LEADING_COMMENTS.sub("", sql).strip().removesuffix(";").rstrip()
    if _CONTROL.fullmatch(text):
        return True
    if backend != "postgresql" and (_PRAGMA.fullmatch(text) or _SQLITE_CATALOG.fullmatch(text)):
        return True
    return backend != "sqlite" and _pg_catalog_lookup(text)
