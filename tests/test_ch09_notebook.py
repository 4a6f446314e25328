"""Chapter 09 changes the schema only through perflab.indexes, closes what it opens, and its last cell would catch
what it left: the cells that record the dataset at the start and compare at the end, run here on a copy of the test
dataset with a leftover of each kind (the helpers' own tests, tests/test_indexes.py, prove what they make is dropped).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

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


def test_the_last_cell_checks_indexes_scratch_objects_and_fingerprint() -> None:
    last = [source for _tags, source in code_cells()][-1]
    assert "list_indexes(engine) == indexes_before" in last
    assert "not scratch_objects(engine)" in last
    assert "perflab.fingerprint(engine) == fingerprint_before" in last


def cleanup_proof(engine: sa.Engine) -> Callable[[], None]:
    """Run the notebook's imports and the cell that records the dataset on ``engine``; return the last cell to run."""
    sources = [source for _tags, source in code_cells()]
    scope: dict[str, Any] = {}
    imports = "\n".join(line for line in sources[0].splitlines() if not line.startswith("%"))
    exec(compile(imports, "<imports of 09>", "exec"), scope)
    scope["engine"] = engine
    record = next(s for s in sources if "fingerprint_before = " in s)
    exec(compile(record, "<record cell of 09>", "exec"), scope)
    return lambda: exec(compile(sources[-1], "<last cell of 09>", "exec"), scope)


LEFTOVERS = {  # what is left: (statements, what the last cell's failing assert says)
    "nothing": ([], ""),
    "a scratch table": (["CREATE TABLE scratch_orders (id INTEGER PRIMARY KEY)"], "left behind: ['scratch_orders']"),
    "a scratch index": (["CREATE INDEX scratch_ix_orders_status ON orders (status)"], "an index was left behind"),
    "an index": (["CREATE INDEX ix_orders_status ON orders (status)"], "an index was left behind"),
    "a dropped index": (["DROP INDEX ix_orders_user_id"], "one is missing"),
    "a changed row": (["UPDATE orders SET total_cents = total_cents + 1 WHERE id = 3"], "rows changed"),
    "a deleted row": (["DELETE FROM notifications WHERE id = 16"], "rows changed"),
}


@pytest.mark.parametrize("left", LEFTOVERS)
def test_the_last_cell_catches_what_the_chapter_left(sqlite_path: Path, tmp_path: Path, left: str) -> None:
    shutil.copy(sqlite_path, tmp_path / "copy.sqlite")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    try:
        last_cell = cleanup_proof(engine)
        statements, message = LEFTOVERS[left]
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        if not statements:
            last_cell()
        else:
            with pytest.raises(AssertionError, match=re.escape(message)):
                last_cell()
    finally:
        engine.dispose()
