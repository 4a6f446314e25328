"""Chapter 09 changes the schema only through perflab.indexes, and closes what it opens (the helpers' own tests,
tests/test_indexes.py, prove that what they make is dropped and the fingerprint is unchanged)."""

from __future__ import annotations

import re
from pathlib import Path

from tools.nbtools import read_notebook

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09-indexes.ipynb"
DDL = re.compile(r"\b(CREATE|DROP|ALTER|TRUNCATE|VACUUM|ANALYZE)\b(?!\s+(?:INDEX\s+\.\.\.|TEMP B-TREE))")


def code_cells() -> list[tuple[list[str], str]]:
    return [(c.metadata.get("tags", []), c.source) for c in read_notebook(NOTEBOOK).cells if c.cell_type == "code"]


def test_no_cell_changes_the_schema_by_hand() -> None:
    for tags, source in code_cells():
        if "exercise-starter" in tags:
            continue
        assert not DDL.search(source), f"schema change outside perflab.indexes:\n{source}"


def test_every_scratch_object_is_made_in_a_with_block_or_the_lab_stack() -> None:
    sources = [source for _tags, source in code_cells()]
    joined = "\n".join(sources)
    for call in re.findall(r".*scratch_(?:index|table)\(.*", joined):
        assert "with " in call or "enter_context(" in call, call
    opened = next(i for i, s in enumerate(sources) if "lab = ExitStack()" in s)
    closed = next(i for i, s in enumerate(sources) if re.search(r"^lab\.close\(\)", s, re.MULTILINE))
    assert opened < closed and not any("{copy}" in s or "copy," in s for s in sources[closed + 1:])


def test_the_last_cell_checks_the_indexes_are_as_before() -> None:
    last = [source for _tags, source in code_cells()][-1]
    assert "list_indexes(engine) == indexes_before" in last
