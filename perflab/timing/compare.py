"""Compare several variants: their runs interleaved, a table with speedups over the baseline, a bar plot.

>>> c = compare(slow=Measurement((0.002,)), fast=Measurement((0.0005,)))
>>> c.speedup("fast")
4.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perflab.display import format_time, time_unit
from perflab.errors import PerflabError
from perflab.timing.measure import Clock, Measurement, measure_many, variant_name

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def _speedup_text(x: float) -> str:
    return f"{x:.0f}x" if x >= 100 else f"{x:#.3g}".rstrip(".") + "x"


def _ratio(base: float, value: float) -> float:
    return base / value if value else math.inf


class Comparison:
    """Several measurements side by side, fastest first, with the speedup over the baseline (the first one).

    >>> c = compare(slow=Measurement((0.002, 0.003)), fast=Measurement((0.0005, 0.0006)))
    >>> c.table[["name", "speedup", "speedup_min"]].values.tolist()
    [['fast', 4.545454545454546, 4.0], ['slow', 1.0, 1.0]]

    ``.table`` is a pandas DataFrame (times in ms): name, median_ms, iqr_ms, min_ms, runs, loops, speedup
    (baseline median / this median: the headline) and speedup_min (the same ratio of the best cases).
    ``.plot()`` draws it.

    Parameters:
        measurements: name -> Measurement.
        baseline: the name the speedups are relative to.
    """

    def __init__(self, measurements: dict[str, Measurement], baseline: str) -> None:
        import pandas as pd

        self.measurements, self.baseline = dict(measurements), baseline
        base = measurements[baseline]
        rows = [{"name": name, "median_ms": m.median * 1e3, "iqr_ms": m.iqr * 1e3, "min_ms": m.min * 1e3,
                 "runs": m.runs, "loops": m.loops, "speedup": _ratio(base.median, m.median),
                 "speedup_min": _ratio(base.min, m.min)}
                for name, m in measurements.items()]
        self.table: pd.DataFrame = pd.DataFrame(rows).sort_values("median_ms", kind="stable")
        self.table = self.table.reset_index(drop=True)

    def speedup(self, name: str) -> float:
        """Baseline median / this one's median (above 1: faster than the baseline)."""
        if name not in self.measurements:
            raise PerflabError(f"no measurement named {name!r} in this comparison; "
                               f"use one of {list(self.measurements)}")
        return float(self.table.loc[self.table["name"] == name, "speedup"].iloc[0])

    def _display(self) -> pd.DataFrame:
        import pandas as pd

        ms, names = self.measurements, self.table["name"]
        baseline = [" (baseline)" if n == self.baseline else "" for n in names]
        return pd.DataFrame({
            "name": names,
            "median ± IQR/2": [format_time(ms[n].median, ms[n].iqr / 2) for n in names],
            "min": [format_time(ms[n].min) for n in names],
            "runs × loops": [f"{ms[n].runs} × {ms[n].loops}{', GC on' if ms[n].gc else ''}" for n in names],
            "speedup": [_speedup_text(s) + b for s, b in zip(self.table["speedup"], baseline, strict=True)],
            "speedup of min": [_speedup_text(s) for s in self.table["speedup_min"]],
        })

    def __repr__(self) -> str:
        return self._display().to_string(index=False)

    def _repr_html_(self) -> str:
        return str(self._display().to_html(index=False))

    def plot(self, ax: Axes | None = None, *, log: bool = False) -> Axes:
        """Horizontal bars of the medians (fastest on top) with IQR/2 error bars and speedup labels."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 1 + 0.45 * len(self.table)))
        unit, factor = time_unit(float(self.table["median_ms"].max()) / 1e3)
        scale = 1e-3 / factor
        colors = ["0.6" if n == self.baseline else "C0" for n in self.table["name"]]
        bars = ax.barh(range(len(self.table)), self.table["median_ms"] * scale,
                       xerr=self.table["iqr_ms"] * scale / 2, color=colors, capsize=3)
        ax.bar_label(bars, labels=[_speedup_text(s) for s in self.table["speedup"]], padding=6)
        ax.margins(x=0.15)  # room for the labels
        ax.set_yticks(range(len(self.table)), labels=list(self.table["name"]))
        ax.invert_yaxis()
        ax.set_xlabel(f"median time per call ({unit}, {'log scale, ' if log else ''}error bar: IQR/2)")
        ax.set_title(f"speedup over {self.baseline}")
        if log:
            ax.set_xscale("log")
        return ax


def compare(*entries: Callable[..., Any] | Measurement, names: list[str] | None = None, budget: float = 0.2,
            runs: int = 7, gc: bool = False, clock: Clock = time.perf_counter,
            **named: Callable[..., Any] | Measurement) -> Comparison:
    """Measure (or take measurements of) several variants; the first one is the baseline of the speedups.

    >>> c = compare(slow=lambda: sorted(range(2000), key=str), fast=lambda: sorted(range(2000)), budget=0.05)
    >>> c.table["name"].tolist()
    ['fast', 'slow']

    Functions are measured together by ``measure_many``: each is warmed up and calibrated, then their timed
    runs alternate in rotating rounds (A B C, B C A, …), so drift on a shared machine hits every variant alike. A
    ``Measurement`` is taken as it is (it was timed on its own, at another moment).

    Parameters:
        entries, named: functions or ``Measurement`` objects, positional or by keyword (so no variant can be
            called names, budget, runs, gc or clock).
        names: labels for the positional entries (default: the function's name, or "option N").
        budget, runs, gc, clock: as in ``measure``, per variant.
    """
    if names is not None and len(names) != len(entries):
        raise PerflabError(f"names must label each positional entry: {len(entries)} entries, got "
                           f"{len(names)} names ({names!r})")
    labels: list[str | None] = list(names) if names else [None] * len(entries)
    items = list(zip(labels, entries, strict=True)) + list(named.items())
    if not items:
        raise PerflabError("compare() got nothing to compare; pass functions or measurements, "
                           "e.g. compare(slow=f, fast=g)")
    chosen: dict[str, Callable[..., Any] | Measurement] = {}
    for i, (label, item) in enumerate(items):
        own = item.name if isinstance(item, Measurement) else variant_name(item)
        label = label or (own if own and own != "<lambda>" else f"option {i + 1}")
        unique, n = label, 2
        while unique in chosen:
            unique, n = f"{label} ({n})", n + 1
        chosen[unique] = item
    fns = {name: item for name, item in chosen.items() if not isinstance(item, Measurement)}
    measured = measure_many(fns, budget=budget, runs=runs, gc=gc, clock=clock) if fns else {}
    measurements = {name: item if isinstance(item, Measurement) else measured[name] for name, item in chosen.items()}
    return Comparison(measurements, next(iter(measurements)))
