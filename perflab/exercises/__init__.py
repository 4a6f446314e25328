"""Exercise checks: run the learner's function, compare with the reference, check the performance property.

>>> from perflab.exercises import check
>>> def find_duplicates(items):
...     seen, dups = set(), set()
...     for x in items:
...         (dups if x in seen else seen).add(x)
...     return list(dups)
>>> check("06-find-duplicates", find_duplicates)  # doctest: +SKIP
✅ find_duplicates finds the right duplicates, and 4x more input took 4.1x longer (about n^1.0, about linear)

A wrong answer never shows a traceback: an exception inside the learner's function, a wrong result,
too many queries, a missing index or a slow solution all end as one line
``❌ <what went wrong> — hint: ...`` and a :class:`CheckResult` with ``ok=False`` (its ``details``
keep the traceback and the numbers for whoever wants them).

Each chapter's checks live in ``perflab/exercises/chNN.py`` and register themselves when that module
is imported; ``check("02-…")`` imports ``ch02`` on first use. How a chapter adds an exercise (a checker
gets the learner's function plus the keywords given to ``check``; the building blocks return
CheckResults, ``require`` stops at the first failing one)::

    from perflab.exercises import check_query_count, check_result, exercise, passed, require

    @exercise("02-batch-orders", hints=("Insert all rows with one executemany call.",
                                        "conn.execute(insert(Order), rows) sends them as one batch."))
    def _check_batch_orders(learner_fn, *, engine):
        \"\"\"Insert 500 orders in one batch.\"\"\"
        counted = require(check_query_count(lambda: learner_fn(engine, ROWS), engine, max_queries=1,
                                            name=learner_fn.__name__))
        require(check_result(count_new_orders(engine), 500))
        return passed(f"{learner_fn.__name__} inserted 500 orders in {counted.details['count']} statement")

and the notebook's check cell is ``perflab.exercises.check("02-batch-orders", insert_orders, engine=engine)``.
"""

from __future__ import annotations

import importlib
import math
import numbers
import reprlib
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.claims import ShownOnce, _html_line
from perflab.errors import PerflabError

if TYPE_CHECKING:
    from sqlalchemy import Engine

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = 6
_short.maxdict = 4
_short.maxstring = _short.maxother = 60
_short.maxlevel = 3


# ---------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, repr=False, eq=False)
class CheckResult(ShownOnce):
    """The outcome of a check: ``ok``, the one-line ``message`` (its repr), ``details`` (numbers, traceback).

    >>> passed("3 queries, fine").message
    '✅ 3 queries, fine'
    >>> bool(failed("ran 101 queries", "use one query"))
    False
    """

    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    _shown_in: int | None = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:
        return self.message

    __str__ = __repr__

    def __bool__(self) -> bool:
        return self.ok

    def _repr_html_(self) -> str:
        return _html_line(self.message, self.ok)


def passed(message: str, **details: Any) -> CheckResult:
    """A passing CheckResult: ``✅ <message>``.

    >>> passed("same result")
    ✅ same result
    """
    return CheckResult(True, f"✅ {message}", details)


def failed(problem: str, hint: str, **details: Any) -> CheckResult:
    """A failing CheckResult: ``❌ <problem> — hint: <hint>`` (both kept to one line).

    >>> failed("expected 3, got 4", "count the rows again")
    ❌ expected 3, got 4 — hint: count the rows again
    """
    message = f"❌ {_one_line(problem)} — hint: {_one_line(hint)}"
    return CheckResult(False, message, {"problem": problem, "hint": hint, **details})


class _Stop(Exception):
    """Raised by ``require`` to end a checker early with a failing result."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


def require(result: CheckResult) -> CheckResult:
    """Return ``result`` if it passed; otherwise stop the current check and report it.

    >>> require(passed("fine")).ok
    True

    Use inside a checker registered with ``@exercise``; ``check`` turns the stop into the ❌ line.
    """
    if not result.ok:
        raise _Stop(result)
    return result


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _learner_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The deepest traceback frame in the learner's code (not perflab, not an installed library)."""
    import sysconfig

    skip = [_PACKAGE_DIR] + [p for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}]
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen") and not any(f.filename.startswith(p) for p in skip)
    ]
    return frames[-1] if frames else None


def describe_error(name: str, exc: BaseException) -> str:
    """One line saying what the learner's function raised and where.

    >>> try:
    ...     {}["x"]
    ... except KeyError as e:
    ...     describe_error("lookup", e).split(" at ")[0]
    "lookup raised KeyError: 'x'"
    """
    if isinstance(exc, NotImplementedError):
        return f"{name} is not written yet (it raises NotImplementedError)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{name} raised {type(exc).__name__}" + (f": {_one_line(first, 120)}" if first else "")
    frame = _learner_frame(exc)
    if frame is not None and frame.line:
        text += f" at line {frame.lineno} (`{_one_line(frame.line, 60)}`)"
    return text


def run_learner(fn: Callable[..., Any], *args: Any, name: str | None = None, hint: str | None = None,
                **kwargs: Any) -> Any:
    """Call the learner's function; if it raises, stop the check with a one-line ❌ (no traceback).

    >>> run_learner(len, [1, 2])
    2

    Parameters: ``fn`` and its arguments; ``name`` (shown in the message, default ``fn.__name__``);
    ``hint`` (default: read the error and try the function on a small input).
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise _Stop(_raised(name or _fn_name(fn), exc, hint)) from None


def _raised(name: str, exc: BaseException, hint: str | None) -> CheckResult:
    if hint is None:
        hint = ("write the function body, then run its cell again" if isinstance(exc, NotImplementedError)
                else "call it yourself on a small input to see the full error")
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return failed(describe_error(name, exc), hint, exception=exc, traceback=tb)


# ---------------------------------------------------------------------------------------------------------
# Building blocks


def _canon(x: Any, ordered: bool) -> Any:
    """A hashable form of ``x`` that is equal for values the checks treat as equal."""
    x = _plain(x)
    if isinstance(x, Mapping):
        return ("map", frozenset((k, _canon(v, ordered)) for k, v in x.items()))
    if isinstance(x, (set, frozenset)):
        return ("set", frozenset(_canon(v, ordered) for v in x))
    if isinstance(x, tuple):
        return ("tuple", tuple(_canon(v, ordered) for v in x))
    if isinstance(x, list):
        items = [_canon(v, ordered) for v in x]
        return ("list", tuple(items)) if ordered else ("bag", frozenset(Counter(items).items()))
    if isinstance(x, float) and math.isfinite(x):
        return float(f"{x:.12g}")  # 0.1 + 0.2 and 0.3 are the same value here
    try:
        hash(x)
    except TypeError:
        return ("repr", repr(x))
    return x


def _plain(x: Any) -> Any:
    """Turn rows, numpy values and iterators into plain Python values."""
    if hasattr(x, "_mapping") and hasattr(x, "_fields"):  # a SQLAlchemy Row
        return tuple(x)
    if type(x).__module__ == "numpy":
        return x.tolist() if hasattr(x, "tolist") else x
    if isinstance(x, (str, bytes, Mapping, list, tuple, set, frozenset)):
        return x
    if isinstance(x, Iterable):  # generator, map object, dict view, ...
        return list(x)
    return x


def _kind(x: Any) -> str:
    if isinstance(x, Mapping):
        return "a dict"
    if isinstance(x, (list, tuple, set, frozenset)):
        return f"a {type(x).__name__}"
    return f"{type(x).__name__} {_short.repr(x)}"


def _diff(actual: Any, expected: Any, ordered: bool, path: str) -> str | None:
    """Describe the first difference between ``actual`` and ``expected`` in one line, or None."""
    actual, expected = _plain(actual), _plain(expected)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path} should be a dict, got {_kind(actual)}"
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing:
            return (f"{path} is missing {len(missing)} of {len(expected)} keys, "
                    f"e.g. {_short.repr(missing[:3])}")
        if extra:
            return f"{path} has {len(extra)} unexpected keys, e.g. {_short.repr(extra[:3])}"
        for k in expected:
            d = _diff(actual[k], expected[k], ordered, f"{path}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(expected, (list, tuple, set, frozenset)):
        if isinstance(actual, (str, bytes, Mapping)) or not isinstance(actual, (list, tuple, set, frozenset)):
            return f"{path} should be a {type(expected).__name__}, got {_kind(actual)}"
        in_order = isinstance(expected, tuple) or (ordered and isinstance(expected, list))
        exp_items, act_items = list(expected), list(actual)
        exp_bag = Counter(_canon(v, ordered) for v in exp_items)
        act_bag = Counter(_canon(v, ordered) for v in act_items)
        if exp_bag != act_bag:
            if len(act_items) != len(exp_items):
                size = f"has {len(act_items)} items instead of {len(exp_items)}"
            else:
                size = "has the right number of items but not the right ones"
            lacking, surplus = exp_bag - act_bag, act_bag - exp_bag
            missing = [v for v in exp_items if lacking[_canon(v, ordered)]][:1]
            extra = [v for v in act_items if surplus[_canon(v, ordered)]][:1]
            parts = []
            if missing:
                parts.append(f"missing e.g. {_short.repr(missing[0])}")
            if extra:
                parts.append(f"unexpected e.g. {_short.repr(extra[0])}")
            return f"{path} {size}: {', '.join(parts)}"
        if in_order:
            for i, (a, e) in enumerate(zip(act_items, exp_items, strict=True)):
                d = _diff(a, e, ordered, f"{path}[{i}]")
                if d:
                    if _canon(a, ordered) != _canon(e, ordered) and isinstance(expected, list):
                        return (f"{path} has the right items in the wrong order: expected "
                                f"{_short.repr(exp_items)}, got {_short.repr(act_items)}")
                    return d
        return None
    if _is_number(actual) and _is_number(expected):
        if isinstance(actual, float) or isinstance(expected, float):
            same = math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
        else:
            same = actual == expected
    else:
        same = type(actual) is type(expected) and actual == expected
    return None if same else f"{path} should be {_short.repr(expected)}, got {_short.repr(actual)}"


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def check_result(actual: Any, expected: Any, ordered: bool = False, *, what: str = "the result",
                 hint: str | None = None) -> CheckResult:
    """Compare a learner's result with the reference; say the first difference in one line.

    >>> check_result([3, 1, 2], [1, 2, 3])
    ✅ the result matches the reference
    >>> check_result([3, 1, 2], [1, 2, 3], ordered=True).details["problem"]
    'the result has the right items in the wrong order: expected [1, 2, 3], got [3, 1, 2]'

    Lists are compared as multisets unless ``ordered=True`` (applies at every level); tuples are
    records and always keep their order; sets never have one; dict key order never matters.
    SQLAlchemy rows count as tuples, numpy values as plain numbers, generators as lists.
    Parameters: ``what`` names the value in messages; ``hint`` replaces the generic hint.
    """
    try:
        problem = _diff(actual, expected, ordered, what)
    except Exception as exc:  # a learner's value that cannot even be compared
        problem = f"{what} could not be compared with the reference ({type(exc).__name__}: {exc})"
    if problem is None:
        return passed(f"{what} matches the reference")
    if hint is None:
        hint = ("sort it (ORDER BY, or sorted())" if "wrong order" in problem
                else "try your function on a small input and compare with what you expect by hand")
    return failed(problem, hint, actual=actual, expected=expected)


def check_query_count(fn: Callable[[], Any], engine: Engine, max_queries: int, *, name: str | None = None,
                      hint: str | None = None) -> CheckResult:
    """Run ``fn()`` and count the SQL statements it sends to ``engine``; fail above ``max_queries``.

    >>> check_query_count(lambda: orders_by_user_reference(engine, [1, 2, 3]), engine, 2)  # doctest: +SKIP
    ✅ orders_by_user_reference ran 1 SQL statement (at most 2 allowed)

    ``details`` holds ``count``, ``value`` (what fn returned, so a checker need not run it twice),
    ``statements`` and ``suspects`` (N+1 candidates) from :func:`perflab.queries.query_log`.
    Parameters: ``name`` of the function in messages; ``hint`` replaces the generic hint.
    """
    from perflab.querylog import query_log

    label = name or _fn_name(fn)
    with query_log(engine) as log:
        try:
            value = fn()
        except Exception as exc:
            return _raised(label, exc, None)
    count = int(log.count)
    suspects = log.suspects()
    details: dict[str, Any] = {"count": count, "value": value, "statements": list(log.statements),
                               "suspects": suspects}
    s = "" if count == 1 else "s"
    if count <= max_queries:
        return passed(f"{label} ran {count} SQL statement{s} (at most {max_queries} allowed)", **details)
    problem = f"{label} ran {count} SQL statements, at most {max_queries} allowed"
    if suspects:
        problem += f"; N+1: `{_one_line(suspects[0].short, 80)}` ran {suspects[0].count} times"
    return failed(problem, hint or "load the related rows in one query (JOIN, WHERE ... IN (...), or "
                  "selectinload) instead of one query per item", **details)


def check_uses_index(engine: Engine, sql: Any, params: Mapping[str, Any] | None = None,
                     index: str | None = None, *, hint: str | None = None) -> CheckResult:
    """Check that the database's plan for ``sql`` uses ``index`` (or any index when None).

    >>> check_uses_index(engine, "SELECT * FROM orders WHERE status = :s", {"s": "paid"})  # doctest: +SKIP
    ❌ the plan for this query does not use an index: full scan of orders — hint: CREATE INDEX on the \
column(s) in the WHERE clause, then run the check again

    Parameters: ``sql`` (text or a SQLAlchemy statement) with bound ``params``; ``index`` (a name, e.g.
    "ix_orders_status"); ``hint`` replaces the generic hint.
    """
    from perflab.explain import explain

    plan = explain(engine, sql, params)
    wanted = f"index {index}" if index else "an index"
    summary = _one_line(str(getattr(plan, "summary", plan)), 120)
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

    ``details`` holds ``speedup``, ``fast`` and ``slow`` (the Measurements).
    Parameters: ``budget`` seconds per measurement; ``clock`` a fake clock for tests; ``name`` of the fast
    function in messages; ``hint`` replaces the generic hint.
    """
    label = name or _fn_name(fast)
    try:
        m_fast = _measure(fast, budget=budget, clock=clock)
    except Exception as exc:
        return _raised(label, exc, None)
    try:
        m_slow = _measure(slow, budget=budget, clock=clock)
    except Exception as exc:
        return _raised(name and f"the slow version of {name}" or _fn_name(slow), exc, None)
    speedup = m_slow.median / m_fast.median if m_fast.median > 0 else math.inf
    details = {"speedup": speedup, "fast": m_fast, "slow": m_slow}
    if speedup >= floor:
        return passed(f"{label} is {speedup:.1f}x faster than the slow version (at least {floor:g}x needed)",
                      **details)
    return failed(f"{label} is only {speedup:.2g}x as fast as the slow version, at least {floor:g}x needed",
                  hint or "profile it: where does the time go? (the query log, EXPLAIN or %prun)", **details)


def _growth(exponent: float) -> str:
    if exponent < 0.5:
        return "about constant"
    if exponent < 1.4:
        return "about linear"
    if exponent < 1.8:
        return "between linear and quadratic"
    if exponent < 2.5:
        return "about quadratic"
    return "worse than quadratic"


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
    label = name or _fn_name(fn)
    small, large = make_input(n1), make_input(n2)
    try:
        m1 = _measure(fn, small, budget=budget, clock=clock)
        m2 = _measure(fn, large, budget=budget, clock=clock)
    except Exception as exc:
        return _raised(label, exc, None)
    ratio = m2.median / m1.median if m1.median > 0 else math.inf
    exponent = math.log(ratio) / math.log(size_ratio) if 0 < ratio < math.inf else math.inf
    details = {"ratio": ratio, "exponent": exponent, "sizes": sizes, "small": m1, "large": m2}
    text = (f"{size_ratio:g}x more input took {ratio:.1f}x longer "
            f"(about n^{exponent:.1f}, {_growth(exponent)})")
    if ratio <= limit:
        return passed(f"{label}: {text}", **details)
    return failed(f"{label}: {text}; at most {limit:g}x allowed",
                  hint or "look for a loop inside a loop (or `x in some_list` inside a loop): a set or dict "
                  "lookup makes the inner step constant time", **details)


# ---------------------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id, the checker, hints (shown one by one), a title and the reference."""

    id: str
    checker: Callable[..., CheckResult]
    hints: tuple[str, ...]
    title: str = ""
    reference: Callable[..., Any] | None = None


EXERCISES: dict[str, Exercise] = {}
_hints_shown: Counter[str] = Counter()


def exercise(exercise_id: str, *, hints: str | Sequence[str] = (), title: str = "",
             reference: Callable[..., Any] | None = None) -> Callable[[Callable[..., CheckResult]],
                                                                    Callable[..., CheckResult]]:
    """Register a checker under ``exercise_id`` (decorator); ``check(exercise_id, fn, **kw)`` calls it.

    >>> @exercise("99-demo", hints="return 42")
    ... def _demo(learner_fn):
    ...     return require(check_result(run_learner(learner_fn), 42))
    >>> check("99-demo", lambda: 42).ok
    ✅ the result matches the reference
    True
    >>> del EXERCISES["99-demo"]  # (keep the registry to the course's own exercises)

    The checker gets the learner's function plus the keywords given to ``check`` and returns a
    CheckResult (``passed(...)``, or a failing block through ``require``). Parameters: ``hints`` one or
    more hints, from gentle to explicit; ``title`` (default: the checker's docstring summary);
    ``reference`` the reference solution, for tests and instructors.
    """
    hint_list = (hints,) if isinstance(hints, str) else tuple(hints)

    def register(checker: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        doc = (checker.__doc__ or "").strip().splitlines()
        EXERCISES[exercise_id] = Exercise(exercise_id, checker, hint_list, title or (doc[0] if doc else ""),
                                          reference)
        return checker

    return register


def _lookup(exercise_id: str) -> Exercise:
    """Find a registered exercise, importing its chapter's module (``perflab.exercises.chNN``) first."""
    chapter = str(exercise_id)[:2]
    if exercise_id not in EXERCISES and chapter.isdigit():
        try:
            importlib.import_module(f"perflab.exercises.ch{chapter}")
        except ModuleNotFoundError:
            pass
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        import difflib

        close = difflib.get_close_matches(str(exercise_id), EXERCISES, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        known = ", ".join(sorted(EXERCISES))
        raise PerflabError(f"unknown exercise {exercise_id!r} — {guess}known: {known}") from None


def check(exercise_id: str, learner_fn: Any, /, **kwargs: Any) -> CheckResult:
    """Check the learner's function for an exercise; show ✅ or ❌ with a hint and return the CheckResult.

    >>> def find_duplicates(items):
    ...     return items
    >>> r = check("06-find-duplicates", find_duplicates)
    ❌ find_duplicates(items) has 3 items instead of 0: unexpected e.g. 1 — hint: try your function on a \
small input and compare with what you expect by hand
    >>> r.ok
    False

    Parameters: ``exercise_id`` (e.g. "02-orders-per-user"); ``learner_fn`` the function itself (not
    its result); keywords the exercise needs (e.g. ``engine=engine``). Problems with the answer never
    raise; a wrong call of ``check`` itself (unknown id, missing engine) raises PerflabError.
    """
    ex = _lookup(exercise_id)
    first_hint = ex.hints[0] if ex.hints else "read the exercise text again"
    if not callable(learner_fn):
        result = failed(f"expected your function, got {_kind(learner_fn)}",
                        f"pass the function itself, without calling it: check({exercise_id!r}, my_function)")
    else:
        try:
            result = ex.checker(learner_fn, **kwargs)
        except _Stop as stop:
            result = stop.result
        except PerflabError:
            raise
        except TypeError as exc:
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:  # the call itself failed
                raise PerflabError(f"check({exercise_id!r}, ...) got the wrong keywords: {exc} — see "
                                   f"help(perflab.exercises.EXERCISES[{exercise_id!r}].checker)") from None
            result = _checker_crashed(exc, first_hint)
        except Exception as exc:  # the learner's answer broke the comparison in an unforeseen way
            result = _checker_crashed(exc, first_hint)
    result.details.setdefault("exercise", exercise_id)
    result.announce()
    return result


def _checker_crashed(exc: Exception, hint: str) -> CheckResult:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return failed(f"checking your answer failed with {type(exc).__name__}: {_one_line(str(exc), 120)}", hint,
                  exception=exc, traceback=tb)


class Hint(str):
    """A hint text; shown without quotes in a notebook."""

    def __repr__(self) -> str:
        return str(self)


def hint(exercise_id: str, n: int | None = None) -> Hint:
    """The next hint for an exercise (or hint number ``n``, from 1), e.g. ``hint 1/2: ...``.

    >>> hint("06-find-duplicates", 1)  # doctest: +ELLIPSIS
    hint 1/3: Comparing every item ...

    Each call without ``n`` shows the next hint, staying on the last one.
    """
    ex = _lookup(exercise_id)
    if not ex.hints:
        return Hint(f"no hints for {exercise_id}: compare your result with the reference on a small input")
    if n is None:
        _hints_shown[exercise_id] += 1
        n = min(_hints_shown[exercise_id], len(ex.hints))
    if not (isinstance(n, int) and 1 <= n <= len(ex.hints)):
        raise PerflabError(f"{exercise_id} has hints 1 to {len(ex.hints)}, got n={n!r}")
    return Hint(f"hint {n}/{len(ex.hints)}: {ex.hints[n - 1]}")
