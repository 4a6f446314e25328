"""The exercises by id: register a checker, run the check a notebook asks for, give hints one at a time.

>>> @exercise("99-demo", hints="return 42")
... def _demo(learner_fn):
...     return require(check_result(run_learner(learner_fn), 42))
>>> check("99-demo", lambda: 42).ok
✅ the result matches the reference
True
>>> del EXERCISES["99-demo"]  # (keep the registry to the course's own exercises)

Each chapter's checks live in ``perflab/exercises/chNN.py`` and register themselves when that module
is imported; ``check("02-…")`` imports ``ch02`` on first use.
"""

from __future__ import annotations

import importlib
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perflab.display import fn_name, one_line
from perflab.errors import PerflabError
from perflab.exercises.guard import Snapshot
from perflab.exercises.result import CheckResult, CheckStopped, failed, require, run_learner  # noqa: F401 (doctests)
from perflab.exercises.values import check_result, describe_value  # noqa: F401


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id, the checker, hints (shown one by one), a title and the reference."""

    id: str
    checker: Callable[..., CheckResult]
    hints: tuple[str, ...]
    title: str = ""
    reference: Callable[..., Any] | None = None


#: Every registered exercise, by id.
EXERCISES: dict[str, Exercise] = {}
#: How many hints :func:`hint` has shown per exercise in this session.
HINTS_SHOWN: Counter[str] = Counter()


def exercise(exercise_id: str, *, hints: str | Sequence[str] = (), title: str = "",
             reference: Callable[..., Any] | None = None) -> Callable[[Callable[..., CheckResult]],
                                                                    Callable[..., CheckResult]]:
    """Register a checker under ``exercise_id`` (decorator); ``check(exercise_id, fn, **kw)`` calls it.

    >>> @exercise("99-demo", hints=("it is a number", "return 42"))
    ... def _demo(learner_fn):
    ...     return require(check_result(run_learner(learner_fn), 42))
    >>> EXERCISES["99-demo"].hints[0]
    'it is a number'
    >>> del EXERCISES["99-demo"]

    The checker gets the learner's function plus the keywords given to ``check`` and returns a
    CheckResult (``passed(...)``, or a failing block through ``require``). Parameters: ``hints`` one or
    more hints, from the symptom to the fix (the first is what a ❌ shows); ``title`` (default: the
    checker's docstring summary); ``reference`` the reference solution, for tests and instructors.
    """
    hint_list = (hints,) if isinstance(hints, str) else tuple(hints)

    def register(checker: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        doc = (checker.__doc__ or "").strip().splitlines()
        EXERCISES[exercise_id] = Exercise(exercise_id, checker, hint_list, title or (doc[0] if doc else ""),
                                          reference)
        return checker

    return register


def lookup(exercise_id: str) -> Exercise:
    """Find a registered exercise, importing its chapter's module (``perflab.exercises.chNN``) first.

    >>> lookup("06-find-duplicates").id
    '06-find-duplicates'
    """
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
    ex = lookup(exercise_id)
    first_hint = ex.hints[0] if ex.hints else "read the exercise text again"
    if not callable(learner_fn):
        result = failed(f"expected your function, got {describe_value(learner_fn)}",
                        f"pass the function itself, without calling it: check({exercise_id!r}, my_function)")
    else:
        snapshot = Snapshot.take()
        try:
            result = ex.checker(learner_fn, **kwargs)
        except CheckStopped as stop:
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
        finally:
            rebound = snapshot.rebound()
            snapshot.restore()
        if rebound:
            result = failed(f"{fn_name(learner_fn)} changed the check itself ({', '.join(rebound[:3])}"
                            f"{', …' if len(rebound) > 3 else ''}); it is put back",
                            "a check your function can rewrite proves nothing: leave perflab's names alone and "
                            "solve the exercise inside your function")
    result.details.setdefault("exercise", exercise_id)
    _count_hint_shown(ex, result)
    result.announce()
    return result


def _count_hint_shown(ex: Exercise, result: CheckResult) -> None:
    """A ❌ that showed one of the exercise's hints counts as having shown it: :func:`hint` goes on from there."""
    shown = result.details.get("hint")
    if not result.ok and shown in ex.hints:
        HINTS_SHOWN[ex.id] = max(HINTS_SHOWN[ex.id], ex.hints.index(shown) + 1)


def _checker_crashed(exc: Exception, hint: str) -> CheckResult:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return failed(f"checking your answer failed with {type(exc).__name__}: {one_line(str(exc), 120)}", hint,
                  exception=exc, traceback=tb)


class Hint(str):
    """A hint text; shown without quotes in a notebook."""

    def __repr__(self) -> str:
        return str(self)


def hint(exercise_id: str, n: int | None = None) -> Hint:
    """The next hint for an exercise (or hint number ``n``, from 1), e.g. ``hint 1/2: ...``.

    >>> hint("06-find-duplicates", 1)  # doctest: +ELLIPSIS
    hint 1/3: Comparing every item ...

    Each call without ``n`` shows the next hint, staying on the last one; a ❌ that showed one of the
    hints counts as having shown it, so the next call does not repeat it.
    """
    ex = lookup(exercise_id)
    if not ex.hints:
        return Hint(f"no hints for {exercise_id}: compare your result with the reference on a small input")
    if n is None:
        HINTS_SHOWN[exercise_id] += 1
        n = min(HINTS_SHOWN[exercise_id], len(ex.hints))
    if not (isinstance(n, int) and 1 <= n <= len(ex.hints)):
        raise PerflabError(f"{exercise_id} has hints 1 to {len(ex.hints)}, got n={n!r}")
    return Hint(f"hint {n}/{len(ex.hints)}: {ex.hints[n - 1]}")
