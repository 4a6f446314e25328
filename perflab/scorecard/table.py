"""The scorecard: every claim, the book's figure, the latest figure measured here per backend, the verdict.

>>> rows = scorecard_rows([])                       # nothing recorded yet
>>> len(rows) == len(CLAIMS), rows[0].status
(True, 'not measured')
>>> rec = {"key": "n_plus_one", "measured": 31.0, "status": "within", "backend": "sqlite", "time": "t1"}
>>> row = next(r for r in scorecard_rows([rec]) if r.key == "n_plus_one")
>>> (row.here, row.verdict_text, row.chapter)
('31x', '✅ within the claim', '02-n-plus-one')

Rows come in the order of :data:`perflab.claims.CLAIMS`; a claim measured on both backends has two rows.
:func:`to_text`, :func:`to_markdown` and :func:`to_html` render them (``perflab report``), :func:`to_frame`
gives a DataFrame (chapter 12), :func:`priorities` checks the book's optimization order against them.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perflab.claims import CLAIMS, format_ratio
from perflab.scorecard.notes import NOTES
from perflab.scorecard.records import describe_machine, read_records

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("sqlite", "postgresql")
NOT_MEASURED = "not measured"
VERDICT_TEXT = {
    "within": "✅ within the claim",
    "above": "✅ better than the book",
    "below": "❌ below the claim",
    NOT_MEASURED: "not measured yet",
}

#: The book's optimization priority, first to last, and the claims (speedups) that measure each step.
PRIORITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database", ("index", "n_plus_one", "batching", "explain_index", "batch_insert")),
    ("caching", ("caching", "query_cache", "cache_l1", "cache_l2")),
    ("async", ("async", "async_parallel")),
    ("code", ("find_duplicates", "set_lookup", "loop_cached_len", "list_comprehension", "numpy_vectorized",
              "numpy_vs_comprehension")),
)


def chapter_number(chapter: str) -> str:
    """The two digits of a chapter name: ``'06-algorithms'`` → ``'06'``.

    >>> chapter_number("06-algorithms")
    '06'
    """
    return chapter.split("-", 1)[0]


def how_to_measure(key: str) -> str:
    """The command that measures a claim on this machine.

    >>> how_to_measure("set_lookup")
    'run notebooks/06-algorithms.ipynb, or: perflab report --run 06'
    """
    chapter = NOTES[key].chapter
    return f"run notebooks/{chapter}.ipynb, or: perflab report --run {chapter_number(chapter)}"


@dataclass(frozen=True)
class Row:
    """One line of the scorecard: a claim and its latest measurement on one backend (or none yet)."""

    key: str
    status: str
    measured: float | None = None
    backend: str | None = None
    chapter: str = ""
    time: str | None = None
    context: str = ""
    machine: str = ""

    @property
    def topic(self) -> str:
        return CLAIMS[self.key].topic

    @property
    def book(self) -> str:
        """The book's figure, e.g. ``'10-50x faster'``."""
        return CLAIMS[self.key].figure

    @property
    def here(self) -> str:
        """The measured ratio as text, ``'31x'``, or ``'—'``."""
        return "—" if self.measured is None else f"{format_ratio(self.measured)}x"

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT.get(self.status, self.status)

    @property
    def why(self) -> str:
        """Why it held or did not; for a claim not measured yet, the command that measures it."""
        if self.status == NOT_MEASURED:
            return how_to_measure(self.key)
        return NOTES[self.key].why(self.status)


def latest(records: Iterable[dict[str, Any]], backend: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest record per (claim key, backend), optionally of one backend only.

    >>> a = {"key": "async", "measured": 2.0, "backend": "sqlite", "time": "2026-01-01T00:00:00+00:00"}
    >>> b = {**a, "measured": 3.0, "time": "2026-01-02T00:00:00+00:00"}
    >>> latest([b, a])[("async", "sqlite")]["measured"]
    3.0
    """
    found: dict[tuple[str, str], tuple[tuple[str, int], dict[str, Any]]] = {}
    for index, rec in enumerate(records):
        rec_backend = str(rec.get("backend") or "unknown")
        if backend is not None and rec_backend != backend:
            continue
        slot = (str(rec["key"]), rec_backend)
        order = (str(rec.get("time") or ""), index)  # the file's order breaks ties within one second
        if slot not in found or order >= found[slot][0]:
            found[slot] = (order, rec)
    return {slot: pair[1] for slot, pair in found.items()}


def check_backend(backend: str | None) -> str | None:
    """``backend`` if it is one of BACKENDS (or None); else PerflabError saying the choices."""
    if backend is None or backend in BACKENDS:
        return backend
    from perflab.errors import PerflabError

    raise PerflabError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def scorecard_rows(records: Iterable[dict[str, Any]] | None = None, backend: str | None = None) -> list[Row]:
    """Every claim once per backend it was measured on (latest record), or once as "not measured".

    Parameters: ``records``, recorded verdicts (default: :func:`perflab.scorecard.records.read_records`);
    ``backend``, "sqlite" or "postgresql" to keep only that backend's measurements.
    """
    check_backend(backend)
    recs = read_records() if records is None else list(records)
    newest = latest(recs, backend)
    order = {b: i for i, b in enumerate(BACKENDS)}
    rows = []
    for key in CLAIMS:
        measured = sorted((b for k, b in newest if k == key), key=lambda b: (order.get(b, len(order)), b))
        if not measured:
            rows.append(Row(key, NOT_MEASURED, backend=backend, chapter=NOTES[key].chapter))
        for b in measured:
            rec = newest[(key, b)]
            machine = rec.get("machine")
            rows.append(Row(
                key, str(rec.get("status") or "?"), float(rec["measured"]), b,
                str(rec.get("chapter") or NOTES[key].chapter), rec.get("time"), str(rec.get("context") or ""),
                describe_machine(machine) if isinstance(machine, dict) else "",
            ))
    return rows


def summary(rows: Sequence[Row]) -> str:
    """One line: how many claims were measured and how many held.

    >>> summary(scorecard_rows([]))
    '0 of 26 claims measured here yet'
    """
    measured = {r.key for r in rows if r.status != NOT_MEASURED}
    held = {r.key for r in rows if r.status in {"within", "above"}}
    total = len({r.key for r in rows})
    if not measured:
        return f"0 of {total} claims measured here yet"
    return f"{len(measured)} of {total} claims measured here; the book's figure held for {len(held)} of them"


def machines(rows: Sequence[Row]) -> list[str]:
    """The machines the rows were measured on (normally one)."""
    return sorted({r.machine for r in rows if r.machine})


COLUMNS = ("claim", "book", "here", "verdict", "backend", "setup", "chapter", "why")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.topic, row.book, row.here, row.verdict_text, row.backend or "—", row.context, row.chapter, row.why)


def to_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """The rows as a DataFrame with the columns of :data:`COLUMNS` (for a notebook)."""
    import pandas as pd

    return pd.DataFrame([_cells(r) for r in rows], columns=list(COLUMNS))


def to_text(rows: Sequence[Row]) -> str:
    """The scorecard for a terminal: one line per row, and why (or how to measure it) indented below."""
    head = ("claim", "book", "here", "backend", "chapter", "verdict")
    table = [(r.topic, r.book, r.here, r.backend or "—", r.chapter, r.verdict_text) for r in rows]
    widths = [max(len(x[i]) for x in [head, *table]) for i in range(len(head) - 1)]
    lines = [summary(rows)] + [f"measured on {m}" for m in machines(rows)] + [""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[-1])
    for cells, row in zip(table, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1])
        lines.append(f"    {row.why}")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: Sequence[Row]) -> str:
    """The scorecard as a Markdown document (a table), to share."""
    lines = ["# perflab scorecard", "", summary(rows) + ".", ""]
    lines += [f"Measured on {m}." for m in machines(rows)] + [""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    lines += ["| " + " | ".join(_md(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_html(rows: Sequence[Row]) -> str:
    """The scorecard as a standalone HTML page, to share."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    notes = "".join(f"<p>Measured on {esc(m)}.</p>" for m in machines(rows))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>perflab scorecard</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style></head>\n"
        f"<body><h1>perflab scorecard</h1><p>{esc(summary(rows))}.</p>{notes}\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></body></html>\n"
    )


@dataclass(frozen=True)
class Step:
    """One step of the book's priority list and the median speedup measured for its claims (None: none)."""

    name: str
    median: float | None
    claims: tuple[str, ...]


def priorities(rows: Sequence[Row]) -> list[Step]:
    """The book's priority steps (database, caching, async, code) with their median measured speedup.

    >>> [s.name for s in priorities(scorecard_rows([]))]
    ['database', 'caching', 'async', 'code']
    """
    steps = []
    for name, keys in PRIORITY:
        found = [r for r in rows if r.key in keys and r.measured is not None]
        value = statistics.median(r.measured for r in found if r.measured is not None) if found else None
        steps.append(Step(name, value, tuple(sorted({r.key for r in found}))))
    return steps


def ranked(steps: Sequence[Step]) -> list[Step]:
    """The measured steps, largest median speedup first."""
    return sorted((s for s in steps if s.median is not None), key=lambda s: -(s.median or 0.0))


def agreement(steps: Sequence[Step]) -> str:
    """The book's priority order next to this machine's (by median speedup), and whether they agree.

    >>> print(agreement([Step("database", 20.0, ("index",)), Step("code", 300.0, ("set_lookup",))]))
    book's order:            database > code
    here, by median speedup: code (300x) > database (20x)
    this machine does not agree with the book's order
    """
    measured = ranked(steps)
    if not measured:
        return "nothing measured yet: run the chapters, or perflab report --run"
    book = [s.name for s in steps if s.median is not None]
    here = " > ".join(f"{s.name} ({format_ratio(s.median or 0.0)}x)" for s in measured)
    agrees = [s.name for s in measured] == book
    return (f"book's order:            {' > '.join(book)}\n"
            f"here, by median speedup: {here}\n"
            f"this machine {'agrees' if agrees else 'does not agree'} with the book's order")
