"""The picture of a page's statements and time as N grows: log axes, one colour per approach, both legends."""

from __future__ import annotations

import matplotlib
import pandas as pd

from perflab.page_growth import plot_page_growth


def test_statements_left_times_right_both_legends() -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    here, away = "in this process", "1 ms away"
    results = pd.DataFrame({"approach": ["naive loop", "naive loop", "IN batch", "IN batch"], "N": [10, 100, 10, 100],
                            "statements": [11, 101, 2, 2], here: [0.4, 3.2, 0.2, 1.2], away: [14.7, 114.2, 6.8, 7.7]})
    fig = plot_page_growth(results, here=here, away=away)
    left, right = fig.axes
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"] and right.get_yscale() == "log"
    assert [line.get_label() for line in left.get_lines()] == ["naive loop", "IN batch"]
    assert list(left.get_lines()[0].get_ydata()) == [11, 101]
    assert [line.get_linestyle() for line in right.get_lines()] == ["-", ":", "-", ":"]
    assert list(right.get_lines()[1].get_ydata()) == [0.4, 3.2]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [away, here]
    plt.close(fig)
