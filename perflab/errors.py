"""The one exception type perflab raises for problems a user can fix."""

from __future__ import annotations


class PerflabError(Exception):
    """A problem the user can fix, explained in one line: what was wrong, the value, the fix.

    The CLI prints it without a traceback and exits non-zero; in a notebook it is a
    single-line error.

    >>> str(PerflabError("scale must be > 0, got -1"))
    'scale must be > 0, got -1'
    """

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it: one line, no traceback wall."""
        return [f"{type(self).__name__}: {self}"]


class StrictCheckFailed(PerflabError, AssertionError):
    """A measured effect fell below the floor a notebook states (only with PERFLAB_STRICT=1)."""
