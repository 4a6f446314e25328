from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TEST_SCALE, TEST_SEED
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.errors import PerflabError

#: The fingerprint of scale 0.02, seed 17: the same on every machine and on both backends.
EXPECTED = "v2-a453cf7682fa718d"


def _engine(path: Path) -> Engine:
    return sa.create_engine(f"sqlite:///{path}")


def test_build_records_counts_and_fingerprint(sqlite_engine: Engine) -> None:
    meta = dataset.recorded(sqlite_engine)
    assert meta is not None and meta["status"] == "complete"
    counts = dataset.counts(sqlite_engine)
    assert counts["users"] == 200 and counts["orders"] == 1000 and counts["order_items"] > 2000
    assert meta["fingerprint"] == dataset.fingerprint(sqlite_engine) == EXPECTED
    assert dataset.is_current(sqlite_engine, TEST_SCALE, TEST_SEED)
    assert not dataset.is_current(sqlite_engine, TEST_SCALE, TEST_SEED + 1)


def test_orders_add_up_in_the_database(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        mismatched = conn.exec_driver_sql(
            "SELECT count(*) FROM orders o WHERE o.total_cents != "
            "(SELECT sum(quantity * unit_price_cents) FROM order_items i WHERE i.order_id = o.id)"
        ).scalar_one()
    assert mismatched == 0


def test_orm_reads_the_bulk_loaded_rows(sqlite_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from perflab.schema import Notification, Order

    with Session(sqlite_engine) as session:
        order = session.get(Order, 1)
        assert order is not None and order.created_at.year >= 2019
        assert sum(i.quantity * i.unit_price_cents for i in order.items) == order.total_cents
        note = session.scalars(sa.select(Notification).limit(1)).one()
        assert isinstance(note.is_read, bool)


def test_fingerprint_sees_a_changed_value(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "x.sqlite")
    dataset.build(engine, TEST_SCALE, TEST_SEED, progress=False)
    before = dataset.fingerprint(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE products SET price_cents = price_cents + 1 WHERE id = 3")
    assert dataset.fingerprint(engine) != before


def test_ensure_builds_once_then_only_reads_the_record(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "x.sqlite")
    assert dataset.ensure(engine, TEST_SCALE, TEST_SEED, progress=False) is True
    assert dataset.ensure(engine, TEST_SCALE, TEST_SEED, progress=False) is False
    assert dataset.ensure(engine, TEST_SCALE, TEST_SEED + 1, progress=False) is True  # other seed: rebuilt
    assert dataset.recorded(engine)["seed"] == str(TEST_SEED + 1)  # type: ignore[index]


def test_ensure_does_not_create_an_empty_file_when_checking(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    assert dataset.recorded(_engine(path)) is None
    assert not path.exists()


def test_reset_removes_the_dataset(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    engine = _engine(path)
    dataset.build(engine, TEST_SCALE, TEST_SEED, progress=False)
    dataset.reset(engine)
    assert not path.exists() and dataset.recorded(engine) is None


def test_in_memory_build() -> None:
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    report = dataset.build(engine, 0.01, 1, progress=False)
    assert report is not None and dataset.counts(engine)["users"] == 100


def test_bad_scale_builds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    with pytest.raises(PerflabError, match="scale must be > 0, got -1"):
        dataset.build(_engine(path), -1)
    assert not path.exists()


def test_unwritable_folder_is_one_clear_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/sys/perflab.sqlite")  # read-only even for root
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = ro / "perflab.sqlite"
    with pytest.raises(PerflabError, match="cannot write the dataset to .* make the folder writable"):
        dataset.build(_engine(target), TEST_SCALE, progress=False)


BUILD_SCRIPT = """
import sys, sqlalchemy as sa
from perflab import dataset
engine = sa.create_engine("sqlite:///" + sys.argv[1])
built = dataset.ensure(engine, float(sys.argv[2]), 17, progress=False)
print("built" if built else "skipped")
"""


def _spawn(path: Path, scale: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(path), str(scale)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_ensuring_at_once_end_with_one_good_database(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    procs = [_spawn(path, 0.2) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(out.strip() for out, _ in outputs) == ["built", "skipped"]
    engine = _engine(path)
    assert dataset.is_current(engine, 0.2, 17)
    assert dataset.fingerprint(engine) == dataset.recorded(engine)["fingerprint"]  # type: ignore[index]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_killed_build_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    proc = _spawn(path, 3.0)  # big enough to still be running when we kill it
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(tmp_path.glob(".*.tmp")), "the build never started writing its temporary file"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not path.exists(), "a killed build must not leave a database in place"
    engine = _engine(path)
    assert dataset.ensure(engine, TEST_SCALE, TEST_SEED, progress=False) is True
    assert dataset.fingerprint(engine) == EXPECTED
    assert not list(tmp_path.glob(".*.tmp")), "the stale temporary file is cleaned up"


@pytest.mark.postgres
def test_postgres_gets_the_same_rows_as_sqlite(pg_dataset_engine: Engine) -> None:
    assert dataset.recorded(pg_dataset_engine)["fingerprint"] == EXPECTED  # type: ignore[index]
    assert dataset.fingerprint(pg_dataset_engine) == EXPECTED
    assert dataset.is_current(pg_dataset_engine, TEST_SCALE, TEST_SEED)


@pytest.mark.postgres
def test_postgres_foreign_keys_exist_after_the_load(pg_dataset_engine: Engine) -> None:
    fks = sa.inspect(pg_dataset_engine).get_foreign_keys("order_items")
    assert {fk["referred_table"] for fk in fks} == {"orders", "products"}


@pytest.mark.postgres
def test_postgres_schemas_keep_learners_apart(pg_url: str, pg_schema: str, pg_dataset_engine: Engine) -> None:
    from perflab.db import make_engine

    other = make_engine(pg_url, schema=pg_schema)
    assert dataset.recorded(other) is None, "a fresh schema sees no other learner's dataset"
    dataset.build(other, 0.01, 3, progress=False)
    assert dataset.counts(other)["users"] == 100
    assert dataset.counts(pg_dataset_engine)["users"] == 200
    other.dispose()


@pytest.mark.postgres
def test_postgres_failed_build_keeps_the_previous_dataset(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset.build(pg_engine, 0.01, 1, progress=False)
    good = dataset.recorded(pg_engine)
    real = dataset.generate_tables

    def broken(scale: float, seed: int):  # type: ignore[no-untyped-def]
        yield from list(real(scale, seed))[:3]
        raise KeyboardInterrupt  # as if the learner pressed stop half-way

    monkeypatch.setattr(dataset, "generate_tables", broken)
    with pytest.raises(KeyboardInterrupt):
        dataset.build(pg_engine, 0.01, 2, progress=False)
    assert dataset.recorded(pg_engine) == good
    assert dataset.counts(pg_engine)["users"] == 100


def test_progress_bar_when_asked_and_silence_when_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset.build(_engine(tmp_path / "a.sqlite"), 0.01, 1, progress=True)
    assert "building dataset" in capsys.readouterr().err
    dataset.build(_engine(tmp_path / "b.sqlite"), 0.01, 1, progress=False)
    assert capsys.readouterr().err == ""


def _delete_some_orders(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM order_items WHERE order_id > 900")
        conn.exec_driver_sql("DELETE FROM orders WHERE id > 900")


def test_deleted_rows_are_noticed_and_the_dataset_rebuilt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from perflab.db import connect

    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    engine = connect(url, scale=TEST_SCALE, seed=TEST_SEED, progress=False)
    _delete_some_orders(engine)
    assert dataset.stale_reason(engine, TEST_SCALE, TEST_SEED) == (
        "orders has 900 rows where the build recorded 1,000 (rows were deleted or added since)")
    capsys.readouterr()
    engine = connect(url, scale=TEST_SCALE, seed=TEST_SEED, progress=False)
    message = capsys.readouterr().err
    assert message == (f"perflab: rebuilding the dataset at {url}: orders has 900 rows where the build "
                       "recorded 1,000 (rows were deleted or added since)\n")
    assert dataset.counts(engine)["orders"] == 1000 and dataset.fingerprint(engine) == EXPECTED
    assert dataset.ensure(engine, TEST_SCALE, TEST_SEED, progress=False) is False
    assert capsys.readouterr().err == "", "a dataset that is intact is not rebuilt, and nothing is printed"


def test_counting_leaves_the_connection_as_it_was(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA mmap_size = 4096")
        assert dataset.counts(conn)["users"] == 200
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar_one() == 4096


LEAVE_A_HOT_JOURNAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")  # spill changed pages into the file before the commit
conn.execute("BEGIN")
conn.execute("UPDATE notifications SET message = 'overwritten by a crashed writer'")
os._exit(0)  # crash: the rollback journal stays behind, hot
"""

LEAVE_A_WAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("UPDATE notifications SET message = 'overwritten by a crashed writer'")
os._exit(0)  # crash: -wal and -shm stay behind, holding the change
"""


@pytest.mark.parametrize("script, leftovers", [(LEAVE_A_HOT_JOURNAL, ["-journal"]), (LEAVE_A_WAL, ["-wal", "-shm"])])
def test_leftover_journal_files_of_the_old_file_are_removed(tmp_path: Path, script: str, leftovers: list[str]) -> None:
    path = tmp_path / "x.sqlite"
    dataset.build(_engine(path), TEST_SCALE, TEST_SEED + 1, progress=False)  # the old file: other rows
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert all(Path(f"{path}{suffix}").stat().st_size > 0 for suffix in leftovers), "the crash left its files"
    dataset.build(_engine(path), TEST_SCALE, TEST_SEED, progress=False)
    assert not [s for s in ("-journal", "-wal", "-shm") if Path(f"{path}{s}").exists()]
    engine = _engine(path)
    with engine.connect() as conn:  # left in place, the old file's log makes this "database disk image is malformed"
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    assert dataset.fingerprint(engine) == EXPECTED


@pytest.mark.postgres
def test_postgres_deleted_rows_are_noticed_and_the_dataset_rebuilt(
    pg_url: str, pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from perflab.db import connect

    engine = connect(pg_url, schema=pg_schema, scale=TEST_SCALE, seed=TEST_SEED, progress=False)
    _delete_some_orders(engine)
    capsys.readouterr()
    engine = connect(pg_url, schema=pg_schema, scale=TEST_SCALE, seed=TEST_SEED, progress=False)
    message = capsys.readouterr().err
    assert message.startswith("perflab: rebuilding the dataset at postgresql+psycopg://")
    assert message.endswith(": orders has 900 rows where the build recorded 1,000 (rows were deleted or added since)\n")
    assert dataset.counts(engine)["orders"] == 1000 and dataset.fingerprint(engine) == EXPECTED
    engine.dispose()


@pytest.mark.postgres
def test_postgres_builds_in_other_schemas_do_not_wait_for_each_other(pg_url: str, pg_schema: str) -> None:
    from perflab.db import make_engine

    holder = make_engine(pg_url)
    no_waiting = {"connect_args": {"options": "-c lock_timeout=2000"}}  # wait 2 s at most, then fail
    other_schema = f"{pg_schema}_b"
    with holder.connect() as held:
        got = held.execute(sa.text("SELECT pg_try_advisory_lock(:cls, :key)"),
                           {"cls": dataset.PG_LOCK_CLASS, "key": dataset.build_lock_key(pg_schema)}).scalar_one()
        assert got, "the lock of schema A is free before the test"
        try:
            other = make_engine(pg_url, schema=other_schema, **no_waiting)
            assert dataset.build(other, 0.01, 1, progress=False) is not None, "schema B builds while A is locked"
            other.dispose()
            same = make_engine(pg_url, schema=pg_schema, **no_waiting)
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                dataset.build(same, 0.01, 1, progress=False)  # schema A waits for its own lock
            same.dispose()
        finally:
            held.execute(sa.text("SELECT pg_advisory_unlock_all()"))
            with holder.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{other_schema}" CASCADE')
    holder.dispose()
