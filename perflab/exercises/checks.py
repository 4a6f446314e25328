"""The building blocks of exercise checks: statements and rows counted, plans read, speed and growth timed.

>>> check_speedup(lambda: sum(range(10)), lambda: sum(range(100_000)), floor=2, budget=0.02)
... # doctest: +ELLIPSIS
✅ <lambda> is ...x faster than the slow version (at least 2x needed)

Each returns a :class:`~perflab.exercises.result.CheckResult`; a checker stops at the first failing
one with :func:`~perflab.exercises.result.require`.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name, one_line, plural
from perflab.errors import PerflabError
from perflab.exercises.dbapi import Sent, SentStatements
from perflab.exercises.probes import is_probe
from perflab.exercises.result import CheckResult, error_result, failed, passed
from perflab.exercises.values import materialize
from perflab.growth import growth_name

if TYPE_CHECKING:
    from sqlalchemy import Engine


def repeated_shape(statements: list[Sent]) -> tuple[str, int] | None:
    """The statement shape sent most often (``short`` form) and how often, if it was sent more than once.

    >>> repeated_shape([Sent("SELECT id FROM users WHERE id = 1"), Sent("SELECT id FROM users WHERE id = 2")])
    ('SELECT id FROM users WHERE id = ?', 2)
    """
    from perflab.querylog import shape_of, short_sql

    if not statements:
        return None
    shape, n = Counter(shape_of(s.sql) for s in statements).most_common(1)[0]
    return (short_sql(shape, 100), n) if n > 1 else None


def listed(statements: list[Sent], limit: int = 3) -> str:
    """The first statements, shortened, for a message: ``SELECT ...; SELECT ...``.

    >>> listed([Sent("SELECT 1"), Sent("SELECT 2")])
    '`SELECT 1`; `SELECT 2`'
    """
    from perflab.querylog import short_sql

    shown = "; ".join(f"`{short_sql(s.sql, 80)}`" for s in statements[:limit])
    return shown + ("; ..." if len(statements) > limit else "")


def check_query_count(fn: Callable[[], Any], engine: Engine | None, max_queries: int, *, name: str | None = None,
                      hint: str | None = None, repeat_hint: str | None = None, min_queries: int = 0,
                      max_rows: int | None = None, max_chars: int | None = None, rows_hint: str | None = None,
                      show_sql: bool = True) -> CheckResult:
    """Run ``fn()`` and count the SQL statements it sends, at the DBAPI level; fail above ``max_queries``.

    >>> check_query_count(lambda: orders_by_user_reference(engine, [1, 2, 3]), engine, 2)  # doctest: +SKIP
    ✅ orders_by_user_reference sent 1 SQL statement (at most 2 allowed)

    Every statement a connection opened or handed out by a pool while ``fn`` runs sends counts,
    whichever engine, raw connection or psycopg cursor method (``execute``, ``stream``, ``copy``, a
    server-side cursor) it goes through; catalog probes (pandas' table-name check) and BEGIN/COMMIT do
    not. What ``fn`` returns is consumed before counting stops (see
    :func:`~perflab.exercises.values.materialize`: any iterable or mapping, at every level); a value
    read later (an object whose ``int()`` queries) is the checker's to read inside ``fn`` (chapter 00
    does). It fails closed where it cannot count: work started in another process, a connection opened
    while a profiler's function was set or whose counter was switched off (see
    :class:`~perflab.exercises.dbapi.SentStatements`), and, with a bound on rows or characters, a
    statement whose result cannot be measured (an in-memory copy of the data, a temporary view).
    What it does not see, in-process limits that pass (tests/cheats/ch00.py ``LIMITS``): a ``sqlite3``
    connection opened before counting started and kept outside any pool (ATTACHing the course's file
    there), a psycopg ``connect`` bound to another name before, other drivers (psycopg2, asyncpg, apsw)
    and psycopg's ``AsyncConnection``; code in the same process can always reach the counter itself.
    ``details`` holds ``count``, ``value`` (consumed),
    ``statements`` (the :class:`~perflab.exercises.dbapi.Sent` ones counted), ``probes`` and, with
    ``max_rows`` or ``max_chars``, ``rows`` and ``chars``.
    Parameters: ``engine`` (unused, kept for old callers: all connections are watched); ``name`` of the
    function in messages; ``hint`` for too many statements, ``repeat_hint`` instead when one of them
    ran more than once (an N+1); ``min_queries`` (1: the answer must come from the database; fewer fail
    with a hint of their own); ``max_rows`` the most rows the statements may return and ``max_chars``
    the most characters (the values' text length: bounds a whole table sent as one long row), with
    ``rows_hint``; ``show_sql`` False to name a repeated statement by its count only (when finding it is
    the exercise).
    """
    label = name or fn_name(fn)
    with SentStatements() as sent:
        try:
            value = materialize(fn())
        except Exception as exc:
            return error_result(label, exc)
    asked = sent.asked
    count = len(asked)
    details: dict[str, Any] = {"count": count, "value": value, "statements": asked,
                               "probes": sum(is_probe(s.sql, s.backend) for s in sent.all)}
    if count > max_queries:
        problem = f"{label} sent {count} SQL statements, at most {max_queries} allowed"
        top = repeated_shape(asked)
        if top is None:
            problem += "" if not show_sql else f": {listed(asked)}"
            fix = hint or (f"the answer needs at most {plural(max_queries, 'statement')}: leave out what it does not "
                           "need, or ask for it together")
        else:
            problem += f": `{top[0]}` ran {top[1]} times" if show_sql else f": one statement ran {top[1]} times"
            problem += " (an N+1)" if top[0].upper().startswith(("SELECT", "WITH")) and top[1] > 2 else ""
            fix = repeat_hint or hint or "load the related rows in one query instead of one query per item"
        return failed(problem, fix, **details)
    if sent.hidden:
        problem, fix = sent.hidden[0]
        return failed(f"{label} {problem}", fix, **details)
    if count < min_queries:
        return failed(f"{label} sent no SQL statement: its answer does not come from the database",
                      "ask the database for the answer, through the engine your function is given",
                      **details)
    if max_rows is not None or max_chars is not None:
        unknown = sent.unmeasured()
        if unknown is not None and unknown.backend == "sqlite" and not unknown.database:
            return failed(f"{label} ran {listed([unknown])} on an in-memory database (a copy of the data?), whose "
                          "rows the check cannot count", "query the database through the engine your function is "
                          "given, not a copy of it", **details)
        if unknown is not None:
            return failed(f"{label} sent a statement whose rows the check cannot count: {listed([unknown])}",
                          "the check runs each statement again on a connection of its own to count what it "
                          "returned: query the tables themselves (no temporary view or table, no function "
                          "defined on your connection)", **details)
        rows, chars = sent.rows(), sent.chars()
        details.update(rows=rows, chars=chars)
        rows_hint = rows_hint or "let the database filter and aggregate, and send back only what you report"
        if max_rows is not None and rows is not None and rows > max_rows:
            return failed(f"{label} fetched {rows:,} rows from the database, at most {max_rows:,} needed",
                          rows_hint, **details)
        if max_chars is not None and chars is not None and chars > max_chars:
            return failed(f"{label} fetched {chars:,} characters of data from the database (in "
                          f"{plural(rows or 0, 'row')}), at most {max_chars:,} needed", rows_hint, **details)
    return passed(f"{label} sent {plural(count, 'SQL statement')} (at most {max_queries} allowed)", **details)


def check_uses_index(engine: Engine, sql: Any, params: Mapping[str, Any] | None = None,
                     index: str | None = None, *, hint: str | None = None) -> CheckResult:
    """Check that the database's plan for ``sql`` uses ``index`` (or any index when None).

    >>> check_uses_index(engine, "SELECT * FROM orders WHERE status = :s", {"s": "paid"})  # doctest: +SKIP
    ❌ the plan for this query does not use an index: full scan of orders — hint: CREATE INDEX on the \
column(s) in the WHERE clause, then run the check again

    Parameters: ``sql`` (text or a SQLAlchemy statement) with bound ``params``; ``index`` (a name, e.g.
    "ix_orders_status"); ``hint`` replaces the generic hint.
    """
    from perflab.plans import explain

    plan = explain(engine, sql, params)
    wanted = f"index {index}" if index else "an index"
    summary = one_line(str(getattr(plan, "summary", plan)), 120)
    if plan.uses_index(index):
        return passed(f"the plan for this query uses {wanted}", plan=plan)
    return failed(f"the plan for this query does not use {wanted}: {summary}",
                  hint or "CREATE INDEX on the column(s) in the WHERE clause, then run the check again",
                  plan=plan)


def _measure(fn: Callable[..., Any], *args: Any, budget: float, clock: Callable[[], float] | None) -> Any:
    from perflab.timing import NoisyMeasurement, measure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurement)
        if clock is None:
            return measure(fn, *args, budget=budget)
        return measure(fn, *args, budget=budget, clock=clock)


def check_speedup(fast: Callable[[], Any], slow: Callable[[], Any], floor: float, *, budget: float = 0.2,
                  clock: Callable[[], float] | None = None, name: str | None = None,
                  hint: str | None = None) -> CheckResult:
    """Time ``fast`` and ``slow`` (perflab.timing.measure) and require ``fast`` to be ``floor`` times faster.

    >>> check_speedup(lambda: sum(range(10)), lambda: sum(range(100_000)), floor=2, budget=0.02)
    ... # doctest: +ELLIPSIS
    ✅ <lambda> is ...x faster than the slow version (at least 2x needed)

    Repeated calls with the same inputs: use it for functions that cannot remember their answers
    (a learner's function could: time fresh calls instead, as chapter 01's check does).
    ``details`` holds ``speedup``, ``fast`` and ``slow`` (the Measurements).
    Parameters: ``budget`` seconds per measurement; ``clock`` a fake clock for tests; ``name`` of the fast
    function in messages; ``hint`` replaces the generic hint.
    """
    label = name or fn_name(fast)
    try:
        m_fast = _measure(fast, budget=budget, clock=clock)
    except Exception as exc:
        return error_result(label, exc)
    try:
        m_slow = _measure(slow, budget=budget, clock=clock)
    except Exception as exc:
        return error_result(name and f"the slow version of {name}" or fn_name(slow), exc)
    speedup = m_slow.median / m_fast.median if m_fast.median > 0 else math.inf
    details = {"speedup": speedup, "fast": m_fast, "slow": m_slow}
    if speedup >= floor:
        return passed(f"{label} is {speedup:.1f}x faster than the slow version (at least {floor:g}x needed)",
                      **details)
    return failed(f"{label} is only {speedup:.2g}x as fast as the slow version, at least {floor:g}x needed",
                  hint or "profile it: where does the time go? (the query log, EXPLAIN or %prun)", **details)


def check_complexity(fn: Callable[[Any], Any], make_input: Callable[[int], Any],
                     sizes: tuple[int, int] = (1_000, 4_000), max_ratio: float | None = None, *,
                     budget: float = 0.2, clock: Callable[[], float] | None = None, name: str | None = None,
                     hint: str | None = None) -> CheckResult:
    """Time ``fn(make_input(n))`` at two sizes and infer how its time grows with n.

    >>> check_complexity(sorted, lambda n: list(range(n, 0, -1)))  # doctest: +SKIP
    ✅ sorted: 4x more input took 4.2x longer (about n^1.0, about linear)

    ``max_ratio`` is the largest time ratio accepted; the default, twice the size ratio, accepts linear
    and n log n and rejects quadratic. ``details`` holds ``ratio``, ``exponent`` and the Measurements.
    Parameters: ``budget`` seconds per measurement; ``clock`` a fake clock for tests; ``name`` of fn in
    messages; ``hint`` replaces the generic hint.
    """
    n1, n2 = sizes
    if not (0 < n1 < n2):
        raise PerflabError(f"sizes must be two growing sizes > 0, got {sizes!r}; e.g. sizes=(1000, 4000)")
    size_ratio = n2 / n1
    limit = max_ratio if max_ratio is not None else 2 * size_ratio
    label = name or fn_name(fn)
    small, large = make_input(n1), make_input(n2)
    try:
        m1 = _measure(fn, small, budget=budget, clock=clock)
        m2 = _measure(fn, large, budget=budget, clock=clock)
    except Exception as exc:
        return error_result(label, exc)
    ratio = m2.median / m1.median if m1.median > 0 else math.inf
    exponent = math.log(ratio) / math.log(size_ratio) if 0 < ratio < math.inf else math.inf
    details = {"ratio": ratio, "exponent": exponent, "sizes": sizes, "small": m1, "large": m2}
    text = (f"{size_ratio:g}x more input took {ratio:.1f}x longer "
            f"(about n^{exponent:.1f}, {growth_name(exponent)})")
    if ratio <= limit:
        return passed(f"{label}: {text}", **details)
    return failed(f"{label}: {text}; at most {limit:g}x allowed",
                  hint or "look for a loop inside a loop (or `x in some_list` inside a loop): a set or dict "
                  "lookup makes the inner step constant time", **details)
