"""perflab.restore: rows written inside the block are back afterwards, even when the block raises."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from perflab import dataset
from perflab.errors import PerflabError
from perflab.restore import restoring


@pytest.fixture
def engine(sqlite_path: Path, tmp_path: Path) -> sa.Engine:
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(sqlite_path.read_bytes())
    return sa.create_engine(f"sqlite:///{copy}")


def test_rows_come_back_exactly(engine: sa.Engine) -> None:
    before = dataset.fingerprint(engine)
    with pytest.raises(RuntimeError), restoring(engine, "users", [8, 16]):
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE users SET email = 'x@y', name = 'X' WHERE id IN (8, 16)")
        raise RuntimeError("the block failed half-way")
    assert dataset.fingerprint(engine) == before  # ids 8 and 16 are in the fingerprint's sample (id % 8 == 0)


def test_unknown_rows_and_tables_are_one_line_errors(engine: sa.Engine) -> None:
    with pytest.raises(PerflabError, match=r"users has no rows with id \[999999\]"):
        with restoring(engine, "users", [1, 999999]):
            pass
    with pytest.raises(PerflabError, match="no table 'nope'"):
        with restoring(engine, "nope", [1]):
            pass
