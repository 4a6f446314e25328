"""N+1 findings: which loop sent the same query again and again, what caused it, and the fix.

>>> from perflab.callsite import CallSite
>>> lazy = OrmLoad("lazy", "Order.user", "Order", "User", "many-to-one", (), None)
>>> group = Group(lazy, "SELECT ... FROM users WHERE users.id = ?", CallSite("report.py", 12, "report"))
>>> for i in range(60):
...     group.add((i,), 0.001, executemany=False)
>>> print(find([group], min_repeats=5)[0].message)  # doctest: +NORMALIZE_WHITESPACE
`Order.user` lazy-loaded 60 times (from report.py:12) → `selectinload(Order.user)` (many-to-one:
`joinedload(Order.user)` is as good: one JOIN, each Order row just gains its User's columns)

How statements are grouped (the query log does this as it folds what it recorded):

- **ORM relationship loads** are attributed exactly, with SQLAlchemy's ``do_orm_execute`` event: a lazy
  load knows the relationship it loads (``Order.user``), so the finding names it and the loader option
  that fixes it. Loads of the same relationship from the same line of your code are one group.
  Batches sent by ``selectinload`` / ``subqueryload`` (SQLAlchemy sends one ``IN`` query per 500
  parents) are the fix, never a finding. Attributes loaded one object at a time (deferred columns,
  attributes expired by a commit) are their own kind of finding.
- **Everything else** (Core, ``text()``, ``exec_driver_sql``, top-level ORM queries) is grouped by
  statement shape (see :func:`perflab.querylog.shapes.shape_of`) *and* the line of your code that
  sent it (:func:`perflab.callsite.user_frame`): the same query from two places is two findings.

A group that ran ``min_repeats`` times or more is classified by the values its statements carried: the
bound parameters and the numbers and strings written into the SQL text (a loop that formats each id into
the SQL with an f-string sends different statements, not the same one):

- the same SQL and the same parameters every time: a **repeated query** (run it once or cache it), never
  an N+1;
- a SELECT whose only changing values are an ``OFFSET`` or a keyset bound (``id > ?``), with a page size
  (``LIMIT``) above 1: a **paginated loop**, which reads distinct pages and is not a finding;
- a SELECT whose only changing values fill an ``IN (...)`` list of more than one value: a **batched
  loop** (the IN batching chapter 02 teaches, done in chunks), the fix, not a finding;
- any other SELECT with changing values: a **per-row query**, the classic N+1;
- ``executemany`` calls in a loop: one batch per call, send all rows in one call;
- INSERT / UPDATE / DELETE one row at a time: send the rows as one executemany or one bulk statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from perflab.callsite import CallSite
from perflab.querylog.shapes import short_sql, values_of

#: Different parameter sets, and SQL texts, kept per group (to tell repeated from per-row queries, spot pages).
DISTINCT_CAP = 1_000

REPEATED_HINT = "repeated query: run once or cache (same parameters every time)"
PER_ROW_HINT = "N+1: one query per row; fetch all the rows in one query (WHERE ... IN (...) or a JOIN)"
WRITE_HINT = "one statement per row: send all rows in one executemany (a list of parameter sets) or one bulk statement"
OTHER_HINT = "one round trip each: batch them"


class OrmLoad(NamedTuple):
    """What an ORM statement loads, read from SQLAlchemy's ``ORMExecuteState`` (see the module docs)."""

    kind: str
    """``lazy`` (a lazy load), ``batch`` (selectinload / subqueryload) or ``column`` (attributes on access)."""
    attribute: str
    """``Order.user`` (a relationship) or ``Review.body`` (columns; ``Review`` when they are unknown)."""
    parent: str
    """The class whose attribute is loaded (``Order``)."""
    target: str
    """The class loaded (``User``); the parent again for a column load."""
    direction: str
    """``many-to-one``, ``one-to-many``, ``many-to-many``, or ``""`` for a column load."""
    loaded_by: tuple[str, ...]
    """For a lazy load, the loader options through which its parent objects were loaded, from the query's
    entity down: ``("selectinload(Order.items)",)`` for ``OrderItem.product`` on items of lazily loaded
    orders, ``("joinedload(Order.items)",)`` where the query joined them; ``()`` for parents a query loaded."""
    site: CallSite | None
    """The line of the learner's code that triggered the load."""


@dataclass(frozen=True)
class Suspect:
    """A finding: statements that ran ``count`` times from one place, what they are, and the fix."""

    shape: str
    """The statement shape (values replaced by ``?``)."""
    count: int
    """How many times it ran."""
    total_time: float
    """Seconds spent in those statements (injected latency included)."""
    distinct_params: int = 2
    """How many different statements it ran: parameter sets, or SQL texts with values written in (up to 1000)."""
    kind: str = "per-row query"
    """``lazy load``, ``attribute load``, ``per-row query``, ``repeated query``, ``per-row write``,
    ``executemany loop`` or ``round trips``."""
    site: CallSite | None = None
    """The line of the learner's code that sent the statements (None when not found)."""
    attribute: str | None = None
    """The ORM attribute loaded (``Order.user``) for lazy and attribute loads, else None."""
    hint: str = PER_ROW_HINT
    """What to do about it."""
    subject: str = field(default="", repr=False)
    """What the message names: the attribute, or the shortened statement."""

    @property
    def short(self) -> str:
        """The shape with its SELECT list elided, for display."""
        return short_sql(self.shape)

    @property
    def where(self) -> str:
        """``file.py:line`` of the learner's code (``line 3 of the cell`` in a notebook), or ``?``."""
        return self.site.where if self.site else "?"

    @property
    def message(self) -> str:
        """One line: what ran how often, from where, ``→`` the fix."""
        subject = self.subject or self.short
        verb = {"lazy load": "lazy-loaded", "attribute load": "loaded on access"}.get(self.kind, "ran")
        return f"{subject} {verb} {self.count} times (from {self.where}) → {self.hint}"


class Group:
    """Statements that share a cause: one ORM attribute or one statement shape, from one line of code.

    Parameters:
        orm: the ORM load, or None for a statement that is not a relationship or attribute load.
        shape: the statement shape.
        site: the learner's line that sent it.
        sql: one statement as sent (its placeholders tell which parameter is a LIMIT or an OFFSET).
    """

    __slots__ = ("orm", "shape", "site", "sql", "count", "total_time", "params", "texts", "named", "rows",
                 "batches")

    def __init__(self, orm: OrmLoad | None, shape: str, site: CallSite | None, sql: str = "") -> None:
        self.orm = orm
        self.shape = shape
        self.site = site
        self.sql = sql
        self.count = 0
        self.total_time = 0.0
        self.params: set[Any] = set()
        self.texts: set[str] = set()
        self.named = False
        self.rows = 0
        self.batches = 0

    def add(self, params: Any, duration: float, *, executemany: bool, sql: str | None = None) -> None:
        """Count one statement of this group (``sql``: its text as sent, default the group's ``sql``)."""
        self.count += 1
        self.total_time += duration
        if executemany:
            self.batches += 1
            self.rows += len(params) if hasattr(params, "__len__") else 1
            return
        if len(self.params) < DISTINCT_CAP:
            if isinstance(params, Mapping):
                self.named = True
            self.params.add(_freeze(params))
        if len(self.texts) < DISTINCT_CAP:
            self.texts.add(self.sql if sql is None else sql)

    @property
    def distinct(self) -> int:
        """How many different statements ran (parameter sets or texts, whichever varied more; up to 1000)."""
        return max(len(self.params), len(self.texts))


def _freeze(params: Any) -> Any:
    """A hashable key for one parameter set (to count distinct ones)."""
    key = tuple(params.items()) if isinstance(params, Mapping) else params
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def _changed(rows: list[dict[Any, Any]]) -> set[Any]:
    keys = set().union(*rows) if rows else set()
    return {k for k in keys if len({repr(r.get(k)) for r in rows}) > 1}


def _changes(group: Group) -> tuple[dict[Any, str], set[Any]] | None:
    """(role of each value, the values that changed between statements), or None if that cannot be told.

    Values are the bound parameters (by position or name) and the numbers and strings written into the
    SQL text (by their place in it); one that some statements lack counts as changed. A value whose role
    differs from one text to another (IN lists of different lengths move the values after them) is a
    plain ``value``.
    """
    roles: dict[Any, str] = {}
    literal_rows: list[dict[Any, Any]] = []
    for text in group.texts or {group.sql}:
        found = values_of(text)
        keyed = [*found.roles.items(), *((("literal", i), role) for i, (role, _) in enumerate(found.literals))]
        for key, role in keyed:
            roles[key] = role if roles.get(key, role) == role else "value"
        literal_rows.append({("literal", i): value for i, (_, value) in enumerate(found.literals)})
    param_rows: list[dict[Any, Any]] = []
    for frozen in group.params:
        if not isinstance(frozen, tuple):
            return None
        param_rows.append(dict(frozen) if group.named else dict(enumerate(frozen)))
    return roles, _changed(literal_rows) | _changed(param_rows)


def _page_size(group: Group) -> int | None:
    """The LIMIT of the group's statements, a bound parameter or a number in the text, or None."""
    found = values_of(group.sql)
    limits = [key for key, role in found.roles.items() if role == "limit"]
    if limits:
        sample = next(iter(group.params), None)
        if not isinstance(sample, tuple):
            return None
        size = (dict(sample) if group.named else dict(enumerate(sample))).get(limits[0])
        return size if isinstance(size, int) else None
    size_text = next((text for role, text in found.literals if role == "limit"), None)
    return int(size_text) if size_text is not None and size_text.isdigit() else None


def is_paginated(group: Group) -> bool:
    """True for a SELECT loop over pages: a page size above 1, and only OFFSET / keyset bounds change.

    A loop ``WHERE user_id = ? LIMIT 10`` over users is per-row (an equality key changes);
    ``ORDER BY id LIMIT 100 OFFSET ?`` or ``WHERE id > ? ORDER BY id LIMIT 100`` reads distinct pages.
    """
    found = _changes(group)
    if found is None:
        return False
    roles, changed = found
    if not changed or any(roles.get(k, "value") not in ("offset", "bound") for k in changed):
        return False
    size = _page_size(group)
    return size is not None and size > 1


def is_batched(group: Group) -> bool:
    """True for a SELECT loop over ``IN (...)`` batches of more than one value: only the list (and pages) change.

    ``WHERE user_id IN (?, ?, ...)`` sent once per chunk of ids reads distinct rows a batch at a time (what
    ``selectinload`` does too); ``WHERE user_id IN (?)`` once per id is a per-row loop.
    """
    found = _changes(group)
    if found is None:
        return False
    roles, changed = found
    kinds = {roles.get(k, "value") for k in changed}
    if "list" not in kinds or not kinds <= {"list", "offset", "bound"}:
        return False
    return max(values_of(text).longest_list for text in group.texts or {group.sql}) > 1


def _option(attribute: str) -> str:
    return f"selectinload({attribute})"


def _lazy_hint(orm: OrmLoad, chain: str) -> str:
    fix = f"`{chain}`"
    if orm.direction == "many-to-one":
        return (f"{fix} (many-to-one: `joinedload({orm.attribute})` is as good: one JOIN, "
                f"each {orm.parent} row just gains its {orm.target}'s columns)")
    if orm.direction == "one-to-many":
        return f"{fix} (one-to-many: joinedload would repeat each {orm.parent}'s columns on every {orm.target} row)"
    return fix


def _classify(group: Group) -> tuple[str, str] | None:
    """(kind, hint) for a group, or None when it is not a finding (an eager batch, a paginated loop)."""
    orm = group.orm
    if orm is not None:
        if orm.kind == "lazy":
            return "lazy load", _lazy_hint(orm, ".".join((*orm.loaded_by, _option(orm.attribute))))
        if orm.kind == "column":
            undefer = f"undefer({orm.attribute})" if "." in orm.attribute else "undefer(...)"
            return "attribute load", (f"load it with the query: `{undefer}` (or, if a commit expired it, "
                                      "read it before the commit or use Session(expire_on_commit=False))")
        return None  # selectinload / subqueryload batches: the fix, not the problem
    verb = group.shape.split(" ", 1)[0].upper()
    if group.batches == group.count:
        per = round(group.rows / group.batches)
        return "executemany loop", f"one executemany per batch of {per} rows: send them all in one call"
    if verb in ("SELECT", "WITH"):
        if group.distinct == 1 and group.batches == 0:
            return "repeated query", REPEATED_HINT
        return None if is_paginated(group) or is_batched(group) else ("per-row query", PER_ROW_HINT)
    if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE"):
        return "per-row write", WRITE_HINT
    return "round trips", OTHER_HINT


def find(groups: list[Group], min_repeats: int) -> list[Suspect]:
    """The findings among ``groups``: those that ran ``min_repeats`` times or more, most frequent first.

    >>> find([], min_repeats=5)
    []

    Parameters:
        groups: statements grouped by cause (see :class:`Group`).
        min_repeats: how many runs make a finding.
    """
    found = []
    for group in groups:
        if group.count < min_repeats:
            continue
        classified = _classify(group)
        if classified is None:
            continue
        kind, hint = classified
        attribute = group.orm.attribute if group.orm is not None else None
        subject = f"`{attribute}`" if attribute else short_sql(group.shape)
        distinct = group.distinct if group.batches == 0 else group.batches
        found.append(Suspect(group.shape, group.count, group.total_time, distinct, kind, group.site,
                             attribute, hint, subject))
    found.sort(key=lambda s: (-s.count, -s.total_time))
    return found
