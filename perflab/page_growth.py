"""A page's statements and time as N grows, side by side: chapter 02's picture of the N+1 and its fixes.

>>> import pandas as pd
>>> results = pd.DataFrame({"approach": ["loop", "loop", "JOIN", "JOIN"], "N": [10, 100, 10, 100],
...                         "statements": [11, 101, 1, 1], "here": [0.4, 3.2, 0.1, 1.4],
...                         "away": [14.7, 114.2, 3.4, 4.9]})
>>> fig = plot_page_growth(results, here="here", away="away")
>>> [ax.get_ylabel() for ax in fig.axes]
['statements per page', 'ms per page']

Both axes of both plots are logarithmic: a straight line of slope 1 is linear growth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_page_growth(results: pd.DataFrame, *, here: str, away: str) -> Figure:
    """Statements per page (left) and milliseconds per page (right) against N, one colour per approach.

    On the right, solid lines are the times ``away`` (with the round trip), dotted ones ``here``; a legend
    for the colours sits in the left plot, one for the line styles below both.

    Parameters:
        results: one row per approach and N, with the columns ``approach``, ``N``, ``statements`` and the
            times in milliseconds in the columns named by ``here`` and ``away``.
        here, away: the two time columns, as the legend names them (e.g. ``describe_backend(engine)``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    for i, (name, rows) in enumerate(results.groupby("approach", sort=False)):
        left.plot(rows["N"], rows["statements"], "o-", color=f"C{i}", label=name)
        for where, style in ((away, "o-"), (here, "o:")):
            right.plot(rows["N"], rows[where], style, color=f"C{i}")
    left.set(xscale="log", yscale="log", xlabel="N (users on the page)", ylabel="statements per page")
    right.set(xscale="log", yscale="log", xlabel="N (users on the page)", ylabel="ms per page")
    left.legend(title="colour")
    fig.legend(handles=[Line2D([], [], color="0.3", ls=ls, label=w) for ls, w in (("-", away), (":", here))],
               loc="lower center", ncols=2, title="line")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig
