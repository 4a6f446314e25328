"""What a check returns and shows: a ✅ or ❌ line with a hint, and the learner's exceptions turned into one.

>>> passed("3 queries, fine")
✅ 3 queries, fine
>>> failed("ran 101 queries", "it sends one query per user")
❌ ran 101 queries — hint: it sends one query per user

A wrong answer never shows a traceback: an exception inside the learner's function, a wrong result,
too many queries or a slow solution all end as one line ``❌ <what went wrong> — hint: ...`` and a
:class:`CheckResult` with ``ok=False`` (its ``details`` keep the traceback and the numbers).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perflab.callsite import user_frame_of
from perflab.claims import ShownOnce, html_line
from perflab.display import fn_name, one_line


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
        return html_line(self.message, self.ok)


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
    message = f"❌ {one_line(problem)} — hint: {one_line(hint)}"
    return CheckResult(False, message, {"problem": problem, "hint": hint, **details})


class CheckStopped(Exception):
    """Raised by :func:`require` and :func:`run_learner` to end a checker early with a failing result."""

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
        raise CheckStopped(result)
    return result


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
    text = f"{name} raised {type(exc).__name__}" + (f": {one_line(first, 120)}" if first else "")
    site = user_frame_of(exc)
    if site is not None and site.line:
        text += f" at line {site.lineno} (`{one_line(site.line, 60)}`)"
    return text


def error_result(name: str, exc: BaseException, hint: str | None = None) -> CheckResult:
    """The ❌ for a learner's function that raised: what, where, and the traceback in ``details``.

    >>> error_result("report", ValueError("no rows")).message
    '❌ report raised ValueError: no rows — hint: call it yourself on a small input to see the full error'
    """
    if hint is None:
        hint = ("write the function body, then run its cell again" if isinstance(exc, NotImplementedError)
                else "call it yourself on a small input to see the full error")
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return failed(describe_error(name, exc), hint, exception=exc, traceback=tb)


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
        raise CheckStopped(error_result(name or fn_name(fn), exc, hint)) from None
