"""SQL statement shapes: values replaced by ``?`` so that one query run with many values groups as one.

>>> shape_of("SELECT * FROM orders WHERE user_id = 42 AND status IN ('a', 'b')")
'SELECT * FROM orders WHERE user_id = ? AND status IN (?, ...)'
>>> short_sql("SELECT orders.id, orders.user_id, orders.status FROM orders WHERE ? = orders.user_id")
'SELECT ... FROM orders WHERE ? = orders.user_id'

Also what each value of a statement does (:func:`values_of`): the query log uses it to tell a loop over
pages (only an OFFSET or a keyset bound changes) or over ``IN (...)`` batches from a loop over rows.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_STRING = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_PLACEHOLDER = re.compile(
    r"__\[POSTCOMPILE_\w+\]"  # an expanding IN before expansion
    r"|%\(\w+\)s|%s"  # pyformat / format (psycopg)
    r"|\$\d+"  # numeric (asyncpg)
    r"|(?<![:\w]):\w+"  # named (:name), not a PostgreSQL ::cast
)
_CAST = re.compile(  # the type casts SQLAlchemy adds to PostgreSQL placeholders: ?::INTEGER
    r"\?::[A-Za-z_]\w*(?: (?:WITH|WITHOUT) TIME ZONE)?(?:\(\d+(?:, ?\d+)?\))?(?:\[\])?"
)
_NUMBER = re.compile(r"(?<![\w$.?])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_SPACE = re.compile(r"\s+")
_IN_LIST = re.compile(r"\bIN \( ?\?(?: ?, ?\?)* ?\)", re.I)
_GROUPS = re.compile(r"(\( ?\?(?: ?, ?\?)* ?\))(?: ?, ?\1)+")


def _placeholders(part: str) -> str:
    return _CAST.sub("?", _PLACEHOLDER.sub("?", part))


def _collapse(sql: str) -> str:
    sql = _SPACE.sub(" ", sql).strip()
    sql = _IN_LIST.sub("IN (?, ...)", sql)
    return _GROUPS.sub(r"\1, ...", sql)


@functools.lru_cache(maxsize=4096)
def shape_of(sql: str) -> str:
    """The shape of a SQL statement: values replaced by ``?``, lists collapsed, whitespace collapsed.

    >>> shape_of("SELECT * FROM orders WHERE user_id = 42 AND status IN ('a', 'b')")
    'SELECT * FROM orders WHERE user_id = ? AND status IN (?, ...)'
    >>> shape_of("SELECT * FROM orders WHERE id IN (%(id_1_1)s::INTEGER, %(id_1_2)s::INTEGER)")
    'SELECT * FROM orders WHERE id IN (?, ...)'

    Parameters:
        sql: the statement as sent to the driver (or any SQL text).
    """
    s = _STRING.sub("?", sql)
    s = _COMMENT.sub(" ", s)
    s = _placeholders(s)
    s = _NUMBER.sub("?", s)
    return _collapse(s)


@functools.lru_cache(maxsize=4096)
def display_sql(sql: str, width: int = 100) -> str:
    """SQL for a listing: placeholders as ``?`` (literals kept), lists collapsed, SELECT list elided.

    >>> display_sql("SELECT name FROM users WHERE id = %(id_1)s::INTEGER AND country = 'DE'")
    "SELECT name FROM users WHERE id = ? AND country = 'DE'"

    Parameters:
        sql: the statement as sent to the driver.
        width: maximum length of the result.
    """
    pieces, pos = [], 0
    for m in _STRING.finditer(sql):
        pieces.append(_placeholders(sql[pos : m.start()]))
        pieces.append(m.group())
        pos = m.end()
    pieces.append(_placeholders(sql[pos:]))
    return short_sql(_collapse("".join(pieces)), width)


_SELECT = re.compile(r"\bSELECT\s+(?:DISTINCT\s+)?", re.I)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _find_from(sql: str, start: int) -> int:
    """Index of the FROM that closes the select list starting at ``start`` (same depth), or -1."""
    depth = 0
    i, n = start, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            end = sql.find("'", i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == "'":
                end = sql.find("'", end + 2)
            if end == -1:
                return -1
            i = end + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return -1
            depth -= 1
        elif (
            depth == 0
            and c in "fF"
            and sql[i : i + 4].upper() == "FROM"
            and (i == 0 or not _is_word(sql[i - 1]))
            and (i + 4 >= n or not _is_word(sql[i + 4]))
        ):
            return i
        i += 1
    return -1


def short_sql(sql: str, width: int = 160, keep_select: int = 30) -> str:
    """SQL shortened for display: long SELECT lists become ``...``, whitespace collapsed, cut at ``width``.

    >>> short_sql("SELECT orders.id, orders.user_id, orders.status FROM orders WHERE ? = orders.user_id")
    'SELECT ... FROM orders WHERE ? = orders.user_id'
    >>> short_sql("SELECT count(*) FROM orders")
    'SELECT count(*) FROM orders'

    Parameters:
        sql: the statement or shape.
        width: maximum length of the result (``...`` marks a cut).
        keep_select: select lists up to this many characters are kept as they are.
    """
    sql = _SPACE.sub(" ", sql).strip()
    out: list[str] = []
    pos = 0
    while True:
        m = _SELECT.search(sql, pos)
        if m is None:
            out.append(sql[pos:])
            break
        out.append(sql[pos : m.end()])
        end = _find_from(sql, m.end())
        if end == -1 or end - m.end() <= keep_select:
            pos = m.end()
        else:
            out.append("... ")
            pos = end
    text = "".join(out)
    if len(text) > width:
        text = text[: max(width - 3, 0)].rstrip() + "..."
    return text


# --------------------------------------------------------------------------- what each value does

_VALUE = re.compile(
    r"(?P<string>'(?:[^']|'')*')"
    r"|(?P<comment>/\*.*?\*/|--[^\n]*)"
    r"|(?:__\[POSTCOMPILE_(?P<post>\w+)\]"
    r"|%\((?P<py>\w+)\)s|(?P<fmt>%s)|(?P<qmark>\?)"
    r"|\$(?P<num>\d+)"
    r"|(?<![:\w]):(?P<named>\w+))"
    r"(?:::[A-Za-z_]\w*(?: (?:WITH|WITHOUT) TIME ZONE)?(?:\(\d+(?:, ?\d+)?\))?(?:\[\])?)?"  # a PostgreSQL cast
    r"|(?P<number>(?<![\w$.?])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))",
    re.S,
)
_BEFORE = re.compile(
    r"(?:(?P<offset>\bOFFSET)|(?P<limit>\bLIMIT|\bFETCH\s+(?:FIRST|NEXT))|(?P<bound>>=|<=|<>|!=|>|<))\s*\(?\s*$",
    re.I,
)
_LIST_OPENS = re.compile(r"\bIN\s*\(\s*$", re.I)
_LIST_GOES_ON = re.compile(r"\s*,\s*")


class Values(NamedTuple):
    """What the values of one statement do: its bound parameters and the values written into its text."""

    roles: dict[int | str, str]
    """Each bound parameter's role, by position (``?``, ``%s``, ``$1``) or name (``%(name)s``, ``:name``)."""
    literals: tuple[tuple[str, str], ...]
    """The numbers and strings written into the SQL itself, in order: (role, text)."""
    longest_list: int
    """The most values in one ``IN (...)`` list (0 without one)."""


@functools.lru_cache(maxsize=4096)
def values_of(sql: str) -> Values:
    """What each value of ``sql`` does: ``limit``, ``offset``, ``bound`` (a range bound), ``list`` (in ``IN (...)``)
    or ``value``.

    >>> values_of("SELECT id FROM orders WHERE user_id IN (?, ?) AND id > 7 ORDER BY id LIMIT ? OFFSET ?")
    Values(roles={0: 'list', 1: 'list', 2: 'limit', 3: 'offset'}, literals=(('bound', '7'),), longest_list=2)

    The role is read from what comes just before the value (``OFFSET``, ``LIMIT``, a comparison,
    ``IN (`` or a comma inside such a list); ``<>`` / ``!=`` count as ``bound`` too (they are not an
    equality lookup of one row's key). One pass over the text: a 500-value ``IN`` list costs no more
    than 500 values anywhere else.

    Parameters:
        sql: the statement as sent to the driver.
    """
    roles: dict[int | str, str] = {}
    literals: list[tuple[str, str]] = []
    position = 0
    end = 0
    in_list = 0  # values so far in the IN list we are in (0: not in one)
    longest = 0
    for m in _VALUE.finditer(sql):
        if m.group("comment"):
            continue
        between = sql[end:m.start()]
        end = m.end()
        if in_list and _LIST_GOES_ON.fullmatch(between):
            in_list += 1
            role = "list"
        elif _LIST_OPENS.search(between):
            in_list, role = 1, "list"
        else:
            in_list = 0
            before = _BEFORE.search(between)
            role = next((name for name in ("offset", "limit", "bound") if before and before.group(name)), "value")
        longest = max(longest, in_list)
        if m.group("string") or m.group("number"):
            literals.append((role, m.group()))
            continue
        key: int | str
        if m.group("post") or m.group("py") or m.group("named"):
            key = m.group("post") or m.group("py") or m.group("named")
        elif m.group("num"):
            key = int(m.group("num")) - 1
        else:
            key = position
            position += 1
        roles[key] = role
    return Values(roles, tuple(literals), longest)


def placeholder_roles(sql: str) -> dict[int | str, str]:
    """What each bound parameter of ``sql`` does (see :func:`values_of`), by position or name.

    >>> placeholder_roles("SELECT id FROM orders WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?")
    {0: 'value', 1: 'limit', 2: 'offset'}
    >>> placeholder_roles("SELECT id FROM t WHERE id > %(after)s::INTEGER LIMIT %(n)s")
    {'after': 'bound', 'n': 'limit'}

    Keys are the parameter's position (``?``, ``%s``, ``$1``) or its name (``%(name)s``, ``:name``),
    matching how the driver received the parameters.

    Parameters:
        sql: the statement as sent to the driver.
    """
    return values_of(sql).roles
