"""The scorecard as a picture: the book's range as a band, each measurement as a point, log scale.

>>> from perflab.scorecard.table import scorecard_rows
>>> fig = plot_scorecard(scorecard_rows([]))   # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from perflab.claims import CLAIMS
from perflab.scorecard.table import NOT_MEASURED, Row

MARKERS = {"sqlite": ("o", "#1f77b4", "SQLite"), "postgresql": ("D", "#d62728", "PostgreSQL"),
           "any": ("s", "#2ca02c", "any backend (no database)")}


def _style(backend: str | None) -> tuple[str, str, str]:
    """Marker, colour and legend label of a backend."""
    return MARKERS.get(backend or "", ("s", "0.3", backend or "?"))


def _rank(backend: str | None) -> int:
    return list(MARKERS).index(backend) if backend in MARKERS else len(MARKERS)


def plot_scorecard(rows: Sequence[Row], *, ax: Any = None) -> Any:
    """One row per claim: the book's band (grey; open-ended claims fade to the right), the measurements as points.

    Returns the matplotlib Figure. Parameters: ``rows`` (:func:`perflab.scorecard.table.scorecard_rows`);
    ``ax``, an Axes to draw on (default: a new figure sized to the claims).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    keys = list(dict.fromkeys(r.key for r in rows))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.28 * len(keys) + 1.2))
    values = [r.measured for r in rows if r.measured is not None and math.isfinite(r.measured) and r.measured > 0]
    finite = [v for k in keys for v in CLAIMS[k].band if math.isfinite(v)]
    left = min([*finite, *values]) / 3
    right = max([*finite, *values]) * 3
    for y, key in enumerate(keys):
        lo, hi = CLAIMS[key].band
        ax.barh(y, (right if math.isinf(hi) else hi) - lo, left=lo, height=0.6, color="0.85",
                hatch="//" if math.isinf(hi) else None, edgecolor="0.7" if math.isinf(hi) else "none")
    backends = sorted({r.backend for r in rows if r.measured is not None}, key=lambda b: (_rank(b), b))
    step = 0.3 / max(len(backends) - 1, 1)  # one backend per lane, so a point never hides another
    for row in rows:
        y = keys.index(row.key)
        if row.status == NOT_MEASURED or row.measured is None or row.measured not in values:
            ax.text(left * 1.1, y, "not measured yet", va="center", fontsize=7, color="0.45")
            continue
        marker, color, _ = _style(row.backend)
        lane = y + (backends.index(row.backend) * step - 0.15 if len(backends) > 1 else 0.0)
        ax.plot(row.measured, lane, marker, color=color, markerfacecolor=color if row.status != "below" else "white")
    handles = [Line2D([], [], marker=_style(b)[0], color=_style(b)[1], linestyle="", label=_style(b)[2])
               for b in backends]
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.set_yticks(range(len(keys)), [CLAIMS[k].topic for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio (log scale) · grey: the book's range · point: measured here (hollow: below it)")
    if handles:  # above the axes: inside, it would cover the bands of the last rows
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles), fontsize=8,
                  frameon=False, borderaxespad=0.2)
    ax.figure.tight_layout()
    return ax.figure
