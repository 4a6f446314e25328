"""The chapter's performance claims as data, and ``verdict``: what the book says next to what we measured.

>>> from perflab.claims import claim, verdict
>>> claim("n_plus_one").figure
'10-50x faster'
>>> v = verdict("n_plus_one", 31.0)
book: fix N+1 10-50x faster · measured here 31x ✅ (within the claim)
>>> v.status
'within'

Every chapter ends its main experiment with a ``verdict``.  The notebook states a *floor*
(about a third of the typical measured effect): with ``PERFLAB_STRICT=1`` (CI) a measurement
below that floor raises :class:`perflab.errors.StrictCheckFailed`; a measurement below the
book's claim but above the floor is reported honestly and does not raise.
"""

from __future__ import annotations

import difflib
import html
import math
import numbers
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError, StrictCheckFailed

if TYPE_CHECKING:
    import pandas as pd

#: A single figure (``low == high``) counts as matched within this factor either way (400x: 320x-500x).
POINT_TOLERANCE = 1.25

SUMMARY = "Summary: Performance Wins"
SECTION_4 = "§4 Lazy Loading vs Eager Loading"


@dataclass(frozen=True)
class Claim:
    """One claim of the chapter: an effect between ``low`` and ``high`` (a ratio, e.g. 10-50 "x faster").

    >>> Claim("demo", "demo trick", 2, 5, "x faster", "§0 Demo", "A made-up claim.").figure
    '2-5x faster'

    Parameters: ``key`` (short id), ``topic`` (a few words, shown in the verdict), ``low`` / ``high``
    (the range; ``low == high`` for a single figure), ``unit`` ("x faster", "x less bandwidth", ...),
    ``section`` (where the chapter says it, e.g. "§3 N+1 Query Problem"), ``text`` (our own wording),
    ``book`` (how the chapter writes the number when it is not a plain ratio, e.g. "43% faster").
    A claim the book makes without a figure ("saves memory") is open-ended: ``high=math.inf``.
    """

    key: str
    topic: str
    low: float
    high: float
    unit: str
    section: str
    text: str
    book: str = ""

    def __post_init__(self) -> None:
        if not (0 < self.low <= self.high):
            raise PerflabError(
                f"claim {self.key!r} needs 0 < low <= high, got low={self.low}, high={self.high}"
            )

    @property
    def is_point(self) -> bool:
        """True for a single figure (``low == high``)."""
        return self.low == self.high

    @property
    def is_open(self) -> bool:
        """True for a claim with no upper end (``high`` is infinite): "saves memory" is any ratio above 1."""
        return math.isinf(self.high)

    @property
    def figure(self) -> str:
        """The claim as a short figure: ``'10-50x faster'``, ``'400x faster'``, ``'>1x faster'`` (open-ended)."""
        if self.is_open:
            return f">{self.low:g}{self.unit}"
        if self.is_point:
            return f"{self.low:g}{self.unit}"
        return f"{self.low:g}-{self.high:g}{self.unit}"

    @property
    def band(self) -> tuple[float, float]:
        """The measured range that counts as "within the claim" (a single figure gets POINT_TOLERANCE)."""
        if self.is_point:
            return self.low / POINT_TOLERANCE, self.high * POINT_TOLERANCE
        return self.low, self.high


def _c(
    key: str, topic: str, low: float, high: float, unit: str, section: str, text: str, book: str = ""
) -> Claim:
    return Claim(key, topic, low, high, unit, section, text, book)


_ALL = [
    # The "Performance Wins" table at the end of the chapter.
    _c("index", "add an index", 10, 100, "x faster", SUMMARY,
       "A query filtering on an unindexed column gets 10-100x faster once the column is indexed.",
       "10-100x faster queries"),
    _c("n_plus_one", "fix N+1", 10, 50, "x faster", SUMMARY,
       "Loading related rows in one query instead of one query per parent is 10-50x faster."),
    _c("caching", "add caching", 50, 100, "x faster", SUMMARY,
       "Serving a repeated read from a cache instead of recomputing it is 50-100x faster."),
    _c("async", "async processing", 2, 5, "x faster", SUMMARY,
       "Overlapping independent I/O-bound calls instead of waiting for each in turn is 2-5x faster."),
    _c("compression", "compression", 5, 10, "x less bandwidth", SUMMARY,
       "Compressing text payloads cuts the bytes sent by 5-10x."),
    _c("object_pooling", "object pooling", 2, 3, "x less GC", SUMMARY,
       "Reusing objects from a pool instead of allocating new ones cuts garbage-collection work 2-3x."),
    _c("batching", "batch operations", 10, 50, "x faster", SUMMARY,
       "Sending many rows in one statement or round trip instead of one each is 10-50x faster."),
    # Figures given inside the sections.
    _c("async_parallel", "three calls in parallel", 1.75, 1.75, "x faster", "§5 Asynchronous Processing",
       "Three independent calls (50, 100, 200 ms) run together cost the slowest one: 350 ms → 200 ms.",
       "43% faster (350 ms → 200 ms)"),
    _c("gzip_json", "gzip a JSON response", 10, 10, "x less bandwidth", "§6 Compression Techniques",
       "A large JSON response shrinks to about a tenth of its size with gzip.",
       "90% compression for JSON (500 KB → 50 KB)"),
    _c("find_duplicates", "duplicates with a set", 400, 400, "x faster", "§7 Code-Level Optimizations",
       "Finding duplicates with a set (O(n)) instead of comparing every pair (O(n²)) on 1,500 items.",
       "400x faster (~200 ms → ~0.5 ms)"),
    _c("set_lookup", "set lookup instead of list scan", 5000, 5000, "x faster", "§7 Code-Level Optimizations",
       "Membership tests in a hash set instead of scanning a 10,000-item list.",
       "5000x faster (~5 ms → ~0.001 ms)"),
    _c("loop_cached_len", "len() hoisted out of the loop", 1.4, 1.4, "x faster",
       "§7 Code-Level Optimizations",
       "Computing len() once before the loop instead of in the loop header.",
       "250 ms → 180 ms"),
    _c("list_comprehension", "list comprehension", 2.1, 2.1, "x faster", "§7 Code-Level Optimizations",
       "A list comprehension instead of an index loop with append.",
       "250 ms → 120 ms"),
    _c("numpy_vectorized", "NumPy vectorized", 50, 50, "x faster", "§7 Code-Level Optimizations",
       "One vectorized NumPy operation instead of a Python loop over a million items.",
       "250 ms → 5 ms"),
    _c("fix_the_bottleneck", "fix the bottleneck a profile found", 1, math.inf, "x faster",
       "§1 The Golden Rule",
       "Measure first, fix the bottleneck the measurement points at, measure again: the operation gets faster.",
       "Measure first → fix the bottleneck → measure again"),
    _c("numpy_vs_comprehension", "NumPy instead of a list comprehension", 24, 24, "x faster",
       "§7 Code-Level Optimizations",
       "One vectorized NumPy operation instead of the fastest pure-Python way, a list comprehension.",
       "120 ms → 5 ms"),
    _c("bounded_cache", "a cache with a size limit", 1, math.inf, "x less memory than a cache that never evicts",
       "§8 Memory Management",
       "A cache that evicts old entries (LRU, a size limit) holds less memory than one that keeps every entry.",
       "Old entries automatically evicted"),
    _c("explain_index", "composite index found with EXPLAIN", 200, 200, "x faster",
       "§9 Database Query Optimization",
       "A two-column filter goes from a full scan to an index scan after adding a composite index.",
       "200x improvement (450 ms → 2.3 ms)"),
    _c("batch_insert", "batch insert", 40, 40, "x faster", "§9 Database Query Optimization",
       "Inserting 1,000 rows with one executemany instead of 1,000 separate statements.",
       "40x faster (~2000 ms → ~50 ms)"),
    _c("query_cache", "cached query result", 100, 100, "x faster", "§9 Database Query Optimization",
       "The second identical query is answered from a cache instead of the database.",
       "100x faster (second call from cache)"),
    _c("cache_l1", "in-process (L1) cache hit", 500, 500, "x faster", "§10 Caching Strategies",
       "A hit in an in-process dictionary compared with going to the database.",
       "0.1 ms vs 50 ms"),
    _c("cache_l2", "shared (L2) cache hit (Redis in the book)", 25, 25, "x faster", "§10 Caching Strategies",
       "A hit in a shared cache server compared with going to the database.",
       "2 ms vs 50 ms"),
    _c("case_study", "dashboard endpoint, all fixes", 14, 14, "x faster", "§11 Real-World Performance Tuning",
       "One endpoint after fixing its N+1, caching and running independent calls in parallel.",
       "14x faster (1400 ms → 100 ms)"),
    # §4's pros and cons of lazy and eager loading (chapter 03). The book gives no figures: "saves memory"
    # and "faster initial load" are open-ended (any ratio above 1); "single query" is 1 statement where lazy
    # loading sends 1001 for 1000 users (the book's own count in §3).
    _c("lazy_saves_memory", "lazy loading saves memory", 1, math.inf, "x less memory than eager", SECTION_4,
       "Loading related rows only when they are read needs less memory than loading them all up front.",
       "Saves memory"),
    _c("lazy_initial_load", "lazy loading, faster initial load", 1, math.inf, "x faster than eager", SECTION_4,
       "Loading the parents alone is faster than loading the parents with all their related rows.",
       "Faster initial load"),
    _c("eager_single_query", "eager loading, a single query", 1001, 1001, "x fewer statements than lazy",
       SECTION_4,
       "Eager loading fetches the parents and their related rows in one query: 1 statement for 1000 users, "
       "where lazy loading sends 1001.",
       "Single query"),
]

#: Every claim, by key.
CLAIMS: dict[str, Claim] = {c.key: c for c in _ALL}


def claim(key: str) -> Claim:
    """Look up a claim by key.

    >>> claim("batching").figure
    '10-50x faster'

    Parameters: ``key``, one of ``CLAIMS`` (a typo raises PerflabError listing the valid keys).
    """
    try:
        return CLAIMS[key]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(key), CLAIMS, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise PerflabError(f"unknown claim {key!r} — {guess}valid keys: {', '.join(sorted(CLAIMS))}")


# ---------------------------------------------------------------------------------------------------------
# Showing a result once in a notebook (shared with perflab.exercises).


def _ipython() -> Any:
    """The running IPython shell, or None (without importing IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython half-installed
        return None
    return get_ipython()


class ShownOnce:
    """Mixin for results that announce themselves (``print`` or a rich display) when they are created.

    In IPython the object is displayed right away; if it is also the cell's last expression, the
    automatic display of that same cell is skipped, so the line does not appear twice.  Subclasses
    provide ``__repr__`` and ``_repr_html_``.
    """

    _shown_in: int | None = None

    def _repr_html_(self) -> str:  # pragma: no cover - overridden
        return html.escape(repr(self))

    def _bundle(self) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def _ipython_display_(self) -> None:
        ip = _ipython()
        if ip is not None and self._shown_in is not None and self._shown_in == ip.execution_count:
            return
        from IPython.display import display

        display(self._bundle(), raw=True)

    def announce(self) -> None:
        """Show the result now: rich output inside IPython, a printed line elsewhere."""
        ip = _ipython()
        if ip is None:
            print(repr(self))
            return
        from IPython.display import display

        display(self._bundle(), raw=True)
        object.__setattr__(self, "_shown_in", ip.execution_count)


def html_line(text: str, ok: bool) -> str:
    """``text`` as one HTML line, green when ``ok``, red otherwise (how results show in a notebook).

    >>> html_line("a < b", True)[:30]
    '<div class="perflab-result" st'
    """
    color = "#1a7f37" if ok else "#cf222e"
    style = f"font-family: monospace; color: {color}"
    return f'<div class="perflab-result" style="{style}">{html.escape(text)}</div>'


# ---------------------------------------------------------------------------------------------------------
# Verdicts


def format_ratio(value: float) -> str:
    """A ratio, rounded for reading: 120, 31, 4.2, 0.83.

    >>> format_ratio(31.4), format_ratio(4.21), format_ratio(0.834)
    ('31', '4.2', '0.83')
    """
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


_fmt = format_ratio


@dataclass(frozen=True, repr=False)
class Verdict(ShownOnce):
    """A claim next to a measurement; its repr is the one-line verdict.

    >>> Verdict(claim("async"), 3.0, None, "within", True).line
    'book: async processing 2-5x faster · measured here 3.0x ✅ (within the claim)'
    >>> Verdict(claim("lazy_initial_load"), 2.8, None, "within", True).line.split(" · ")
    ['book: lazy loading, faster initial load: faster than eager (no figure: any ratio above 1x)', \
'measured here 2.8x ✅ (within the claim)']
    """

    claim: Claim
    measured: float
    floor: float | None
    status: str  # "within", "above" or "below"
    ok_floor: bool
    context: str = ""
    _shown_in: int | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True unless the measurement is below the claim."""
        return self.status != "below"

    @property
    def line(self) -> str:
        c = self.claim
        lo, hi = c.band
        shown = _fmt(self.measured)
        if (self.status == "below" and float(shown) >= lo) or (self.status == "above" and float(shown) <= hi):
            shown = f"{self.measured:.4g}"  # rounding must not make a miss look like a hit
        if c.is_open:  # no figure to quote: say what the book says, and what counts
            head = (f"book: {c.topic}: {c.unit.removeprefix('x ')} (no figure: any ratio above {lo:g}x) "
                    f"· measured here {shown}x")
        else:
            head = f"book: {c.topic} {c.figure} · measured here {shown}x"
        if self.status == "within":
            tail = "✅ (close to the book's figure)" if c.is_point else "✅ (within the claim)"
        elif self.status == "above":
            tail = "✅ (better than the book)"
        else:
            why = f"below {_fmt_bound(lo)}x"
            if self.measured < 1:
                why += "; the 'fast' way was slower here" if "faster" in c.unit else "; the other way round here"
            if self.floor is not None:
                if self.ok_floor:
                    why += f"; above this notebook's floor {self.floor:g}x"
                else:
                    why += f", and below this notebook's floor {self.floor:g}x"
            tail = f"— the book's claim does not hold here ❌ ({why})"
        text = f"{head} {tail}"
        if self.context:
            text += f" · {self.context}"
        return text

    def __repr__(self) -> str:
        return self.line

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return html_line(self.line, self.ok)


def _fmt_bound(value: float) -> str:
    return f"{value:.3g}" if value != int(value) else f"{value:g}"


_RECORDED: list[Verdict] = []


def _as_ratio(measured: object, what: str) -> float:
    if isinstance(measured, bool) or not isinstance(measured, numbers.Real):
        raise PerflabError(
            f"{what} must be a number (a ratio such as 12.5 for 12.5x), got {type(measured).__name__} "
            f"{measured!r} — e.g. slow.median / fast.median"
        )
    value = float(measured)
    if not math.isfinite(value) or value <= 0:
        raise PerflabError(
            f"{what} must be a positive finite ratio, got {measured!r} — e.g. slow.median / fast.median"
        )
    return value


def as_ratio(value: object) -> float | None:
    """``value`` as a ratio if it is one a verdict accepts (a finite real number > 0, not a bool), else None.

    >>> as_ratio(3), as_ratio(-3.0), as_ratio(True), as_ratio("lol"), as_ratio(float("inf"))
    (3.0, None, None, None, None)
    """
    try:
        return _as_ratio(value, "value")
    except PerflabError:
        return None


def status_of(claim_or_key: Claim | str, value: float) -> str:
    """Where a measured ratio lands against a claim: "below", "within" or "above" its band.

    >>> status_of("async", 3.0), status_of("async", 1.2), status_of("set_lookup", 4500)
    ('within', 'below', 'within')
    """
    c = claim_or_key if isinstance(claim_or_key, Claim) else claim(claim_or_key)
    lo, hi = c.band
    return "below" if value < lo else "above" if value > hi else "within"


def verdict(
    claim_or_key: Claim | str, measured: float, *, floor: float | None = None, context: str = ""
) -> Verdict:
    """Compare a measured ratio with the book's claim, show the one-line verdict and return it.

    >>> v = verdict("index", 4.2, floor=3)
    book: add an index 10-100x faster · measured here 4.2x — the book's claim does not hold here ❌ \
(below 10x; above this notebook's floor 3x)
    >>> (v.status, v.ok_floor)
    ('below', True)

    Parameters: ``claim_or_key`` (a Claim or a key of ``CLAIMS``); ``measured`` (the effect as a ratio,
    e.g. ``slow.median / fast.median``); ``floor`` (the smallest ratio this notebook accepts; with
    ``PERFLAB_STRICT=1`` a measurement below it raises StrictCheckFailed); ``context`` (a few words
    on the setup, e.g. "SQLite, 1 ms injected latency", appended to the line).
    Each verdict is also appended to the verdicts file (:mod:`perflab.scorecard.records`).
    """
    c = claim_or_key if isinstance(claim_or_key, Claim) else claim(claim_or_key)
    value = _as_ratio(measured, "measured")
    fl = None if floor is None else _as_ratio(floor, "floor")
    status = status_of(c, value)
    ok_floor = fl is None or value >= fl
    v = Verdict(c, value, fl, status, ok_floor, context)
    _RECORDED.append(v)
    from perflab.scorecard.records import record

    record(v)  # on disk too (PERFLAB_VERDICTS): chapter 12 and `perflab report` read every kernel's verdicts
    v.announce()
    if not ok_floor:
        from perflab.config import settings

        if settings().strict:
            raise StrictCheckFailed(
                f"verdict {c.key!r}: measured {_fmt(value)}x is below this notebook's floor {fl:g}x"
                f" (book: {c.figure})"
                " — the effect did not show up; rerun, or unset PERFLAB_STRICT to only report it"
            )
    return v


def scorecard(include_unmeasured: bool = False) -> pd.DataFrame:
    """All verdicts shown in this process, as a DataFrame (one row per verdict, in order).

    >>> scorecard().columns.tolist()[:4]
    ['key', 'topic', 'section', 'book']

    Parameters: ``include_unmeasured`` adds one row (status "not measured") per claim without a verdict.
    """
    import pandas as pd

    columns = ["key", "topic", "section", "book", "low", "high", "unit", "measured", "floor", "status",
               "ok_floor", "context"]
    rows: list[dict[str, Any]] = []
    for v in _RECORDED:
        c = v.claim
        rows.append({"key": c.key, "topic": c.topic, "section": c.section, "book": c.book or c.figure,
                     "low": c.low, "high": c.high, "unit": c.unit, "measured": v.measured, "floor": v.floor,
                     "status": v.status, "ok_floor": v.ok_floor, "context": v.context})
    if include_unmeasured:
        seen = {v.claim.key for v in _RECORDED}
        for c in CLAIMS.values():
            if c.key not in seen:
                rows.append({"key": c.key, "topic": c.topic, "section": c.section, "book": c.book or c.figure,
                             "low": c.low, "high": c.high, "unit": c.unit, "measured": math.nan,
                             "floor": None, "status": "not measured", "ok_floor": None, "context": ""})
    return pd.DataFrame(rows, columns=columns)


def clear_scorecard() -> None:
    """Forget the verdicts recorded so far (tests, or a fresh start in a long session)."""
    _RECORDED.clear()
