"""Compare a learner's value with the reference: equal values in any usual form pass, the first difference is named.

>>> check_result((x for x in [3, 1, 2]), [1, 2, 3])
✅ the result matches the reference
>>> check_result([[1, "a", 3.63]], [(1, "a", 3.62)], tolerance=0.01)
✅ the result matches the reference (numbers within 0.01)

What counts as the same value: a generator, a NumPy array, a pandas Series or Index is a list (a
Series is a dict, index to value, where a dict is expected); a one-column DataFrame is that column, a
wider one its rows; a SQLAlchemy row is a tuple; a list where a
tuple is expected (a record) is that tuple; NumPy numbers are numbers; NaN where None is expected is
None. Lists compare as multisets unless ordered; dict key order never matters.
"""

from __future__ import annotations

import math
import numbers
import reprlib
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from perflab.exercises.result import CheckResult, failed, passed

_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = 6
_short.maxdict = 4
_short.maxstring = _short.maxother = 60
_short.maxlevel = 3

#: The default tolerance for floats: rounding noise only (0.1 + 0.2 == 0.3).
EXACT = 1e-9


def short_repr(value: Any) -> str:
    """A repr cut to a readable length.

    >>> short_repr(list(range(100)))
    '[0, 1, 2, 3, 4, 5, ...]'
    """
    return _short.repr(value)


def materialize(value: Any) -> Any:
    """Run whatever is lazy in ``value`` now: any iterable becomes a list, any mapping a dict, at every level.

    >>> materialize({1: (x for x in "ab")})
    {1: ['a', 'b']}
    >>> materialize(range(3)), materialize((1, iter([2])))
    ([0, 1, 2], (1, [2]))

    The checks call it inside the region where statements are counted, so whatever queries the database
    as it is read is counted too: a generator, a class with ``__iter__``, a ``Mapping`` whose
    ``__getitem__`` queries. Tuples (records) and SQLAlchemy rows become tuples, sets stay sets (lists
    when their items are not hashable), subclasses of int, float and str become those types (no
    ``__eq__`` of the learner's runs later); strings, bytes, NumPy and pandas values (instances of their real
    classes) are kept as they are.
    """
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if _computed_array(value):
        return value
    if isinstance(value, Mapping):
        return {k: materialize(value[k]) for k in value}  # as the comparison reads it: value[k]
    if isinstance(value, tuple) or (hasattr(value, "_mapping") and hasattr(value, "_fields")):
        return tuple(materialize(v) for v in value)
    if isinstance(value, (set, frozenset)):
        items = [materialize(v) for v in value]
        try:
            return type(value)(items) if type(value) in (set, frozenset) else set(items)
        except TypeError:  # an item became a list
            return items
    if isinstance(value, Iterable):
        return [materialize(v) for v in value]
    return value


def _computed_array(value: Any) -> bool:
    """A real NumPy array or number, or pandas Series, DataFrame, Index or array: computed already, kept as is.

    Tested against the classes of the modules themselves (only if imported: no such value exists otherwise), not
    against what a class says its ``__module__`` is, so a lazy class that claims to be NumPy is still read here.
    """
    numpy, pandas = sys.modules.get("numpy"), sys.modules.get("pandas")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return True
    return pandas is not None and isinstance(value, (pandas.Series, pandas.DataFrame, pandas.Index,
                                                     pandas.api.extensions.ExtensionArray))


def plain(x: Any) -> Any:
    """Turn rows, NumPy/pandas values and iterators into plain Python values (one level).

    >>> plain(x * 2 for x in range(3))
    [0, 2, 4]
    """
    if hasattr(x, "_mapping") and hasattr(x, "_fields"):  # a SQLAlchemy Row
        return tuple(x)
    module = type(x).__module__
    if module == "numpy":
        return x.tolist() if hasattr(x, "tolist") else x
    if module.startswith("pandas"):
        if hasattr(x, "columns") and hasattr(x, "itertuples"):  # a DataFrame
            if len(x.columns) == 1:
                return x.iloc[:, 0].tolist()
            return list(x.itertuples(index=False, name=None))
        if hasattr(x, "tolist"):
            return x.tolist()
    if isinstance(x, (str, bytes, Mapping, list, tuple, set, frozenset)):
        return x
    if isinstance(x, Iterable):  # generator, map object, dict view, ...
        return list(x)
    return x


def _is_series(x: Any) -> bool:
    """A pandas Series (without importing pandas): one column of values with an index."""
    return type(x).__module__.startswith("pandas") and hasattr(x, "to_dict") and not hasattr(x, "columns")


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def conform(actual: Any, expected: Any) -> Any:
    """``actual`` in the containers ``expected`` uses, where only the container differs.

    >>> conform([[1, "a"], [2, "b"]], [(1, "a")])
    [(1, 'a'), (2, 'b')]
    >>> conform(float("nan"), None) is None
    True
    >>> conform([(1, [2])], {1: [2]})
    {1: [2]}
    """
    if isinstance(expected, Mapping) and _is_series(actual):
        actual = actual.to_dict()  # keyed by its index, e.g. a groupby's
    actual, expected = plain(actual), plain(expected)
    if expected is None and _is_nan(actual):
        return None
    if isinstance(expected, Mapping) and isinstance(actual, list) and all(
            isinstance(p, tuple) and len(p) == 2 for p in map(plain, actual)):
        actual = dict(map(plain, actual))  # (key, value) pairs, e.g. from a generator
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return {k: conform(v, expected[k]) if k in expected else v for k, v in actual.items()}
    sequences = (list, tuple)
    if isinstance(expected, sequences) and isinstance(actual, sequences):
        items = list(actual)
        if isinstance(expected, tuple):  # a record: conform position by position
            if len(items) == len(expected):
                items = [conform(a, e) for a, e in zip(items, expected)]
            return tuple(items)
        if expected:  # a list: its items are alike, conform each to the first
            template = expected[0]
            items = [conform(a, template) for a in items]
        return items
    return actual


def _canon(x: Any, ordered: bool) -> Any:
    """A hashable form of ``x`` that is equal for values the checks treat as equal."""
    x = plain(x)
    if isinstance(x, Mapping):
        return ("map", frozenset((k, _canon(v, ordered)) for k, v in x.items()))
    if isinstance(x, (set, frozenset)):
        return ("set", frozenset(_canon(v, ordered) for v in x))
    if isinstance(x, tuple):
        return ("tuple", tuple(_canon(v, ordered) for v in x))
    if isinstance(x, list):
        items = [_canon(v, ordered) for v in x]
        return ("list", tuple(items)) if ordered else ("bag", frozenset(Counter(items).items()))
    if _is_nan(x):
        return None  # pandas' "no value" (an average of no reviews): the same as SQL's NULL here
    if isinstance(x, float) and math.isfinite(x):
        return float(f"{x:.12g}")  # 0.1 + 0.2 and 0.3 are the same value here
    try:
        hash(x)
    except TypeError:
        return ("repr", repr(x))
    return x


def describe_value(x: Any) -> str:
    """``a list``, ``a dict`` or the type and a short repr, for messages.

    >>> describe_value([1]), describe_value(None)
    ('a list', 'NoneType None')
    """
    if isinstance(x, Mapping):
        return "a dict"
    if isinstance(x, (list, tuple, set, frozenset)):
        return f"a {type(x).__name__}"
    return f"{type(x).__name__} {short_repr(x)}"


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _unmatched(actual: list[Any], expected: list[Any], ordered: bool, tol: float) -> tuple[list[Any], list[Any]]:
    """Items of ``expected`` with no equal item in ``actual`` and the other way round (within ``tol``)."""
    exp_bag = Counter(_canon(v, ordered) for v in expected)
    act_bag = Counter(_canon(v, ordered) for v in actual)
    lacking, surplus = exp_bag - act_bag, act_bag - exp_bag
    missing = [v for v in expected if lacking[_canon(v, ordered)]]
    extra = [v for v in actual if surplus[_canon(v, ordered)]]
    if tol > EXACT and missing and extra:  # pair what is equal within the tolerance
        left = list(extra)
        still_missing = []
        for e in missing:
            match = next((i for i, a in enumerate(left) if _diff(a, e, ordered, "", tol) is None), None)
            if match is None:
                still_missing.append(e)
            else:
                left.pop(match)
        missing, extra = still_missing, left
    return missing, extra


def _diff(actual: Any, expected: Any, ordered: bool, path: str, tol: float) -> str | None:
    """Describe the first difference between ``actual`` and ``expected`` in one line, or None."""
    actual, expected = plain(actual), plain(expected)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path} should be a dict, got {describe_value(actual)}"
        missing_keys = [k for k in expected if k not in actual]
        extra_keys = [k for k in actual if k not in expected]
        if missing_keys:
            return (f"{path} is missing {len(missing_keys)} of {len(expected)} keys, "
                    f"e.g. {short_repr(missing_keys[:3])}")
        if extra_keys:
            return f"{path} has {len(extra_keys)} unexpected keys, e.g. {short_repr(extra_keys[:3])}"
        for k in expected:
            d = _diff(actual[k], expected[k], ordered, f"{path}[{k!r}]", tol)
            if d:
                return d
        return None
    if isinstance(expected, (list, tuple, set, frozenset)):
        if isinstance(actual, (str, bytes, Mapping)) or not isinstance(actual, (list, tuple, set, frozenset)):
            return f"{path} should be a {type(expected).__name__}, got {describe_value(actual)}"
        in_order = isinstance(expected, tuple) or (ordered and isinstance(expected, list))
        exp_items, act_items = list(expected), list(actual)
        missing, extra = _unmatched(act_items, exp_items, ordered, tol)
        if missing or extra or len(act_items) != len(exp_items):
            if len(act_items) != len(exp_items):
                size = f"has {len(act_items)} items instead of {len(exp_items)}"
            else:
                size = "has the right number of items but not the right ones"
            parts = []
            if missing:
                parts.append(f"missing e.g. {short_repr(missing[0])}")
            if extra:
                parts.append(f"unexpected e.g. {short_repr(extra[0])}")
            return f"{path} {size}: {', '.join(parts)}" if parts else f"{path} {size}"
        if in_order:
            for i, (a, e) in enumerate(zip(act_items, exp_items, strict=True)):
                d = _diff(a, e, ordered, f"{path}[{i}]", tol)
                if d:
                    if isinstance(expected, list):
                        return (f"{path} has the right items in the wrong order: expected "
                                f"{short_repr(exp_items)}, got {short_repr(act_items)}")
                    return d
        return None
    if expected is None and _is_nan(actual):
        return None
    if _is_number(actual) and _is_number(expected):
        if isinstance(actual, float) or isinstance(expected, float):
            same = math.isclose(actual, expected, rel_tol=EXACT, abs_tol=tol + EXACT)
        else:
            same = actual == expected
    else:
        same = type(actual) is type(expected) and actual == expected
    return None if same else f"{path} should be {short_repr(expected)}, got {short_repr(actual)}"


def check_result(actual: Any, expected: Any, ordered: bool = False, *, what: str = "the result",
                 hint: str | None = None, tolerance: float = EXACT) -> CheckResult:
    """Compare a learner's result with the reference; say the first difference in one line.

    >>> check_result([3, 1, 2], [1, 2, 3])
    ✅ the result matches the reference
    >>> check_result([3, 1, 2], [1, 2, 3], ordered=True).details["problem"]
    'the result has the right items in the wrong order: expected [1, 2, 3], got [3, 1, 2]'

    Lists are compared as multisets unless ``ordered=True`` (applies at every level); tuples are
    records and always keep their order; sets never have one; dict key order never matters.
    Parameters: ``what`` names the value in messages; ``hint`` replaces the generic hint;
    ``tolerance`` the largest difference between two floats that still counts as equal (stated in
    the ✅ line when it is not just rounding noise).
    """
    try:
        problem = _diff(conform(actual, expected), expected, ordered, what, tolerance)
    except Exception as exc:  # a learner's value that cannot even be compared
        problem = f"{what} could not be compared with the reference ({type(exc).__name__}: {exc})"
    if problem is None:
        within = f" (numbers within {tolerance:g})" if tolerance > EXACT else ""
        return passed(f"{what} matches the reference{within}")
    if hint is None:
        hint = ("sort it (ORDER BY, or sorted())" if "wrong order" in problem
                else "try your function on a small input and compare with what you expect by hand")
    return failed(problem, hint, actual=actual, expected=expected)
