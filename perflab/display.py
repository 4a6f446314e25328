"""How perflab writes numbers and names for people: durations, counts, callables, one-line text.

>>> format_time(0.0032149, spread=0.00008)
'3.21 ms ± 0.08 ms'
>>> plural(1, "statement"), plural(3, "statement")
('1 statement', '3 statements')

Every module that shows a duration or a count to a learner uses these, so a chapter reads one way.
"""

from __future__ import annotations

import math
from typing import Any

_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit (name, seconds per unit) that shows ``seconds`` with 1-3 digits before the point.

    >>> time_unit(0.0042)
    ('ms', 0.001)
    """
    rounded = abs(float(f"{seconds:.3g}"))
    return next(((name, f) for name, f in _UNITS if rounded >= f), _UNITS[-1])


def format_time(seconds: float, spread: float | None = None) -> str:
    """Format seconds with 3 significant digits in ns, µs, ms or s (and an optional ± spread).

    >>> format_time(0.0032149, spread=0.00008)
    '3.21 ms ± 0.08 ms'
    >>> format_time(1.5)
    '1.50 s'

    Parameters:
        seconds: the value shown; it picks the unit.
        spread: shown in the same unit and with the same decimals.
    """
    name, factor = time_unit(seconds)
    scaled = float(f"{seconds / factor:.3g}")
    decimals = max(0, 2 - math.floor(math.log10(abs(scaled)))) if scaled else 0
    text = f"{seconds / factor:.{decimals}f} {name}"
    return text if spread is None else f"{text} ± {spread / factor:.{decimals}f} {name}"


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, with an ``s`` unless ``n`` is 1.

    >>> plural(0, "run")
    '0 runs'
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def fn_name(fn: Any) -> str:
    """The name a learner gave a callable (``__name__``), or its type's name.

    >>> fn_name(len), fn_name(3)
    ('len', 'int')
    """
    return getattr(fn, "__name__", None) or type(fn).__name__


def one_line(text: object, limit: int = 240) -> str:
    """``text`` on one line (whitespace collapsed), cut with ``…`` at ``limit`` characters.

    >>> one_line("a\\n  b", 10)
    'a b'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
