"""The scorecard of chapter 12 and ``perflab report``: every claim next to what this machine measured.

>>> from perflab.scorecard import scorecard_rows, to_text
>>> print(to_text(scorecard_rows()))  # doctest: +SKIP
7 of 26 claims measured here (on SQLite); the book's figure held for 5 of them
...

- :mod:`~perflab.scorecard.records`: every ``verdict`` appended to a file (``PERFLAB_VERDICTS``), read back
  (damaged lines skipped and counted, statuses recomputed);
- :mod:`~perflab.scorecard.notes`: per claim, the chapter that measures it and why it holds or not;
- :mod:`~perflab.scorecard.table`: the latest measurement per claim and backend, as text, Markdown, HTML,
  a DataFrame, and the book's priority list checked against it;
- :mod:`~perflab.scorecard.plot`: the book's bands and the measured points on a log scale;
- :mod:`~perflab.scorecard.rerun`: re-run chapters headless to record their verdicts.
"""

from __future__ import annotations

from perflab.scorecard.records import Recorded, load, read_records, record, verdicts_file
from perflab.scorecard.table import (
    Row,
    agreement,
    latest,
    priorities,
    ranked,
    scorecard_rows,
    summary,
    to_frame,
    to_html,
    to_markdown,
    to_text,
)

__all__ = [
    "Recorded",
    "Row",
    "agreement",
    "latest",
    "load",
    "priorities",
    "ranked",
    "read_records",
    "record",
    "scorecard_rows",
    "summary",
    "to_frame",
    "to_html",
    "to_markdown",
    "to_text",
    "verdicts_file",
]
