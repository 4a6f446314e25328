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

from perflab.claims import CLAIMS, as_ratio, format_ratio, status_of
from perflab.scorecard.notes import NOTES
from perflab.scorecard.records import ANY_BACKEND, describe_machine, read_records

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("sqlite", "postgresql")
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", ANY_BACKEND: "any backend"}
NOT_MEASURED = "not measured"
VERDICT_TEXT = {
    "within": "✅ within the claim",
    "above": "✅ better than the book",
    "below": "❌ below the claim",
    NOT_MEASURED: "not measured yet",
}
SHORT_VERDICT = {"within": "✅ within", "above": "✅ better", "below": "❌ below", NOT_MEASURED: "not yet"}
BELOW_FLOOR = "below this notebook's floor: rerun"
#: How ``perflab report`` names a PostgreSQL database in the command it suggests (the user fills it in).
POSTGRES_HINT = "PERFLAB_DATABASE_URL=postgresql://…"

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


def run_command(chapters: Iterable[str], backend: str | None = None) -> str:
    """The command that measures these chapters here (on PostgreSQL: with its URL to fill in).

    >>> run_command(["09-indexes", "02-n-plus-one"], "postgresql")
    'PERFLAB_DATABASE_URL=postgresql://… perflab report --run 02 09'
    """
    numbers = " ".join(sorted({chapter_number(c) for c in chapters}))
    prefix = f"{POSTGRES_HINT} " if backend == "postgresql" else ""
    return f"{prefix}perflab report --run {numbers}"


def how_to_measure(key: str, backend: str | None = None) -> str:
    """The command that measures a claim on this machine (on ``backend`` if given and the claim needs it).

    >>> how_to_measure("set_lookup")
    'run notebooks/06-algorithms.ipynb, or: perflab report --run 06'
    >>> how_to_measure("index", "postgresql")
    'run notebooks/09-indexes.ipynb on PostgreSQL, or: PERFLAB_DATABASE_URL=postgresql://… perflab report --run 09'
    """
    note = NOTES[key]
    on = backend if note.database and backend in BACKENDS else None
    where = f" on {BACKEND_NAMES[on]}" if on else ""
    return f"run notebooks/{note.chapter}.ipynb{where}, or: {run_command([note.chapter], on)}"


def _short_figure(figure: str) -> str:
    """The book's figure with its unit cut to a word or two.

    >>> _short_figure(">1x less memory than eager")
    '>1x less memory'
    """
    number, _, unit = figure.partition("x ")
    words = unit.split()
    keep = words[:2] if words and words[0] in {"less", "fewer"} else words[:1]
    return f"{number}x {' '.join(keep)}".rstrip()


@dataclass(frozen=True)
class Row:
    """One line of the scorecard: a claim and its latest measurement on one backend (or none yet).

    ``backend`` is "sqlite", "postgresql", or "any" for a claim whose chapter never touches the database.
    """

    key: str
    status: str
    measured: float | None = None
    backend: str | None = None
    chapter: str = ""
    time: str | None = None
    context: str = ""
    machine: str = ""
    ok_floor: bool | None = None

    @property
    def topic(self) -> str:
        return CLAIMS[self.key].topic

    @property
    def book(self) -> str:
        """The book's figure, e.g. ``'10-50x faster'``."""
        return CLAIMS[self.key].figure

    @property
    def book_short(self) -> str:
        """The book's figure with a short unit, for narrow tables: ``'>1x less memory'``."""
        return _short_figure(self.book)

    @property
    def here(self) -> str:
        """The measured ratio as text, ``'31x'``, or ``'—'``."""
        return "—" if self.measured is None else f"{format_ratio(self.measured)}x"

    @property
    def date(self) -> str:
        """The day it was measured (UTC), ``'2026-11-30'``, or ``'—'``."""
        return str(self.time)[:10] if self.time else "—"

    @property
    def backend_text(self) -> str:
        """``'sqlite'``, ``'postgresql'``, ``'any'``; ``'—'`` when not measured on any."""
        return self.backend or "—"

    @property
    def verdict_text(self) -> str:
        text = VERDICT_TEXT.get(self.status, self.status)
        return f"{text} ({BELOW_FLOOR})" if self.ok_floor is False else text

    @property
    def short_verdict(self) -> str:
        text = SHORT_VERDICT.get(self.status, self.status)
        return f"{text}, below floor: rerun" if self.ok_floor is False else text

    @property
    def why(self) -> str:
        """Why it held or did not (for its backend); for a claim not measured yet, the command that measures it."""
        if self.status == NOT_MEASURED:
            return how_to_measure(self.key, self.backend)
        return NOTES[self.key].why(self.status, self.backend)


def slot_backend(key: str, backend: object) -> str:
    """The backend a record counts for: its own, or "any" for a claim that never touches the database.

    >>> slot_backend("index", "postgresql"), slot_backend("set_lookup", "postgresql")
    ('postgresql', 'any')
    """
    if not NOTES[key].database:
        return ANY_BACKEND
    return str(backend or "unknown")


def latest(records: Iterable[dict[str, Any]], backend: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest record per (claim key, backend), optionally of one backend only (claims that never touch
    the database count for every backend, as "any").

    >>> a = {"key": "async", "measured": 2.0, "backend": "sqlite", "time": "2026-01-01T00:00:00+00:00"}
    >>> b = {**a, "measured": 3.0, "time": "2026-01-02T00:00:00+00:00"}
    >>> latest([b, a])[("async", "sqlite")]["measured"]
    3.0
    """
    found: dict[tuple[str, str], tuple[tuple[str, int], dict[str, Any]]] = {}
    for index, rec in enumerate(records):
        rec_backend = slot_backend(str(rec["key"]), rec.get("backend"))
        if backend is not None and rec_backend not in {backend, ANY_BACKEND}:
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

    A claim whose chapter never touches the database has one row ("any" backend), kept under any ``backend``.

    Parameters: ``records``, recorded verdicts (default: :func:`perflab.scorecard.records.read_records`);
    ``backend``, "sqlite" or "postgresql" to keep only that backend's measurements.
    """
    check_backend(backend)
    recs = read_records() if records is None else list(records)
    newest = latest(recs, backend)
    order = {b: i for i, b in enumerate((ANY_BACKEND, *BACKENDS))}
    rows = []
    for key in CLAIMS:
        measured = sorted((b for k, b in newest if k == key), key=lambda b: (order.get(b, len(order)), b))
        if not measured:
            rows.append(Row(key, NOT_MEASURED, backend=backend if NOTES[key].database else None,
                            chapter=NOTES[key].chapter))
        for b in measured:
            rec = newest[(key, b)]
            machine = rec.get("machine")
            value = as_ratio(rec.get("measured"))
            if value is None:  # records not read by read_records: checked here too
                continue
            floor = as_ratio(rec.get("floor"))
            rows.append(Row(
                key, status_of(key, value), value, b,
                str(rec.get("chapter") or NOTES[key].chapter), rec.get("time"), str(rec.get("context") or ""),
                describe_machine(machine) if isinstance(machine, dict) else "",
                None if floor is None else value >= floor,
            ))
    return rows


def backends_of(rows: Sequence[Row]) -> list[str]:
    """The database backends the rows were measured on, SQLite first.

    >>> backends_of([Row("index", "within", 20.0, "postgresql"), Row("async", "within", 3.0, "sqlite")])
    ['sqlite', 'postgresql']
    """
    found = {r.backend for r in rows if r.status != NOT_MEASURED and r.backend in BACKENDS}
    return [b for b in BACKENDS if b in found]


def _on(rows: Sequence[Row], backend: str) -> list[Row]:
    """The measured rows that count for ``backend``: its own and those for any backend."""
    return [r for r in rows if r.status != NOT_MEASURED and r.backend in {backend, ANY_BACKEND}]


def missing_chapters(rows: Sequence[Row]) -> list[str]:
    """The chapters whose claims are still not measured in these rows."""
    return sorted({r.chapter for r in rows if r.status == NOT_MEASURED})


def missing_command(rows: Sequence[Row], backend: str | None = None) -> str:
    """One line: the command that measures every claim still missing, or that none is.

    >>> missing_command(scorecard_rows([]))[:40]
    'not measured yet: perflab report --run 0'
    """
    missing = missing_chapters(rows)
    if not missing:
        return "every claim is measured here"
    on = backend if any(NOTES[r.key].database for r in rows if r.status == NOT_MEASURED) else None
    return f"not measured yet: {run_command(missing, on)}"


def summary(rows: Sequence[Row]) -> str:
    """One line: how many claims were measured and how many held, per backend when there are two.

    >>> summary(scorecard_rows([]))
    '0 of 26 claims measured here yet'
    >>> recs = [{"key": "index", "measured": 20.0, "backend": b} for b in BACKENDS]
    >>> summary(scorecard_rows(recs + [{"key": "set_lookup", "measured": 1.0, "backend": "sqlite"}]))
    "of 26 claims, measured here: 2 on SQLite, 2 on PostgreSQL; the book's figure held for 1 on SQLite, 1 on PostgreSQL"
    """
    total = len({r.key for r in rows})
    measured_any = {r.key for r in rows if r.status != NOT_MEASURED}
    if not measured_any:
        return f"0 of {total} claims measured here yet"
    backends = backends_of(rows)
    if len(backends) < 2:
        held_keys = {r.key for r in rows if r.status in {"within", "above"}}
        on = f" (on {BACKEND_NAMES[backends[0]]})" if backends else ""
        return (f"{len(measured_any)} of {total} claims measured here{on}; "
                f"the book's figure held for {len(held_keys)} of them")
    counts = {b: _on(rows, b) for b in backends}
    measured = ", ".join(f"{len({r.key for r in counts[b]})} on {BACKEND_NAMES[b]}" for b in backends)
    held = ", ".join(f"{len({r.key for r in counts[b] if r.status in {'within', 'above'}})} on {BACKEND_NAMES[b]}"
                     for b in backends)
    return f"of {total} claims, measured here: {measured}; the book's figure held for {held}"


def machines(rows: Sequence[Row]) -> list[str]:
    """The machines the rows were measured on (normally one)."""
    return sorted({r.machine for r in rows if r.machine})


COLUMNS = ("claim", "book", "here", "verdict", "backend", "measured", "setup", "chapter", "why")
WIDE_COLUMNS = ("claim", "book", "SQLite", "PostgreSQL", "measured", "chapter", "why")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.topic, row.book, row.here, row.verdict_text, row.backend_text, row.date, row.context, row.chapter,
            row.why)


def _figure(row: Row | None) -> str:
    """A measurement in one cell: ``'31x ✅'``, ``'4.2x ❌ (below floor: rerun)'``, ``'—'``."""
    if row is None or row.status == NOT_MEASURED:
        return "—"
    mark = "❌" if row.status == "below" else "✅"
    any_backend = " (any backend)" if row.backend == ANY_BACKEND else ""
    floor = " (below floor: rerun)" if row.ok_floor is False else ""
    return f"{row.here} {mark}{any_backend}{floor}"


def _wide(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    """One line per claim: the SQLite and PostgreSQL figures side by side, the latest date, why once."""
    out: list[tuple[str, ...]] = []
    for key in dict.fromkeys(r.key for r in rows):
        mine = [r for r in rows if r.key == key]
        by = {r.backend: r for r in mine if r.status != NOT_MEASURED}
        sqlite, pg = by.get("sqlite", by.get(ANY_BACKEND)), by.get("postgresql", by.get(ANY_BACKEND))
        whys = list(dict.fromkeys(r.why for r in (sqlite, pg) if r is not None))
        if len(whys) == 2:
            why = f"SQLite: {whys[0]} PostgreSQL: {whys[1]}"
        else:
            why = whys[0] if whys else mine[0].why
        dates = sorted(r.date for r in (sqlite, pg) if r is not None)
        chapter = (sqlite or pg or mine[0]).chapter
        out.append((mine[0].topic, mine[0].book, _figure(sqlite), _figure(pg), dates[-1] if dates else "—",
                    chapter, why))
    return out


def to_frame(rows: Sequence[Row], *, wide: bool = False) -> pd.DataFrame:
    """The rows as a DataFrame with the columns of :data:`COLUMNS` (for a notebook).

    ``wide=True``: one row per claim, the SQLite and PostgreSQL figures side by side (:data:`WIDE_COLUMNS`).

    >>> to_frame(scorecard_rows([]), wide=True).shape
    (26, 7)
    """
    import pandas as pd

    if wide:
        return pd.DataFrame(_wide(rows), columns=list(WIDE_COLUMNS))
    return pd.DataFrame([_cells(r) for r in rows], columns=list(COLUMNS))


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def to_text(rows: Sequence[Row], width: int | None = None, skipped: str = "") -> str:
    """The scorecard for a terminal, fitted to ``width`` columns (default: the terminal's): one line per row,
    why it held or missed wrapped below it, and one command for the claims not measured yet.

    ``skipped``: a note on the verdicts file (e.g. "2 unreadable lines skipped"), shown under the summary.
    """
    import shutil
    import textwrap

    width = width or shutil.get_terminal_size((100, 24)).columns
    width = max(width, 60)
    head = ("claim", "book", "here", "backend", "ch", "measured", "verdict")
    table = [(r.topic, r.book_short, r.here, r.backend_text, chapter_number(r.chapter), r.date, r.short_verdict)
             for r in rows]
    widths = [max(len(x[i]) for x in [head, *table]) for i in range(len(head))]
    overflow = sum(widths) + 2 * (len(head) - 1) - width
    if overflow > 0:  # the claim's name gives way first, down to 14 characters
        widths[0] = max(14, widths[0] - overflow)
    lines = [summary(rows)] + ([skipped] if skipped else [])
    lines += [f"measured on {m}" for m in machines(rows)]
    if any(r.status == NOT_MEASURED for r in rows):
        lines.append(missing_command(rows, next((r.backend for r in rows if r.backend in BACKENDS
                                                  and r.status == NOT_MEASURED), None)))
    lines.append("")
    lines.append("  ".join(h.ljust(w) for h, w in zip(head[:-1], widths)) + "  " + head[-1])
    for cells, row in zip(table, rows):
        fitted = [_fit(c, w).ljust(w) for c, w in zip(cells[:-1], widths)]
        lines.append("  ".join(fitted) + "  " + cells[-1])
        if row.status != NOT_MEASURED:
            lines += textwrap.wrap(row.why, width=width, initial_indent="    ", subsequent_indent="    ")
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
    """One step of the book's priority list and the median ratio measured for its claims (None: none),
    over ``count`` measurements of one backend (claims that need no database count for each)."""

    name: str
    median: float | None
    claims: tuple[str, ...]
    count: int = 0
    backend: str | None = None


def priorities(rows: Sequence[Row], backend: str | None = None) -> list[Step]:
    """The book's priority steps (database, caching, async, code) with their median measured ratio on one
    backend (default: the first measured, SQLite before PostgreSQL), so no measurement counts twice.

    >>> [s.name for s in priorities(scorecard_rows([]))]
    ['database', 'caching', 'async', 'code']
    """
    measured = backends_of(rows)
    backend = backend or (measured[0] if measured else None)
    pool = [r for r in rows if r.measured is not None and r.backend in {backend, ANY_BACKEND}]
    steps = []
    for name, keys in PRIORITY:
        found = [r.measured for r in pool if r.key in keys and r.measured is not None]
        value = statistics.median(found) if found else None
        steps.append(Step(name, value, tuple(sorted({r.key for r in pool if r.key in keys})), len(found), backend))
    return steps


def ranked(steps: Sequence[Step]) -> list[Step]:
    """The measured steps, largest median ratio first."""
    return sorted((s for s in steps if s.median is not None), key=lambda s: -(s.median or 0.0))


def agreement(steps: Sequence[Step]) -> str:
    """The book's priority order next to this machine's (by median ratio), and whether they agree.

    >>> print(agreement([Step("database", 20.0, ("index",)), Step("code", 300.0, ("set_lookup",))]))
    book's order:           database > code
    here, by median ratio:  code (300x) > database (20x)
    ranked by ratio, this machine does not agree with the book's order
    """
    measured = ranked(steps)
    if not measured:
        return "nothing measured yet: run the chapters, or perflab report --run"
    book = [s.name for s in steps if s.median is not None]
    here = " > ".join(f"{s.name} ({format_ratio(s.median or 0.0)}x)" for s in measured)
    agrees = [s.name for s in measured] == book
    return (f"book's order:           {' > '.join(book)}\n"
            f"here, by median ratio:  {here}\n"
            f"ranked by ratio, this machine {'agrees' if agrees else 'does not agree'} with the book's order")
