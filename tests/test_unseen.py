"""The checks' second dataset leaves nothing behind: its SQLite folder goes with the kernel, `perflab reset` drops
its PostgreSQL schema (and a kernel that finds it gone builds it again); one made for a single check is new to
that check and gone after it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from jupyter_client.manager import start_new_kernel

from perflab.cli import main
from perflab.dataset import fingerprint
from perflab.db import make_engine
from perflab.exercises import unseen

ROOT = Path(__file__).resolve().parent.parent

CHECK_IN_A_KERNEL = """
import sqlalchemy as sa
from perflab.exercises import check
from perflab.exercises.ch02 import orders_by_user_reference
from perflab.exercises.unseen import unseen_engine
engine = sa.create_engine({url!r})
assert check("02-orders-per-user", orders_by_user_reference, engine=engine).ok
print(Path(unseen_engine(engine).url.database).parent)
""".replace("import sqlalchemy", "from pathlib import Path\nimport sqlalchemy")


def test_a_kernel_that_ran_a_check_leaves_no_unseen_folder(sqlite_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    printed: list[str] = []
    try:
        reply = client.execute_interactive(
            CHECK_IN_A_KERNEL.format(url=f"sqlite:///{sqlite_path}"), timeout=120,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        folder = Path("".join(printed).strip())
        assert folder.name.startswith("perflab-unseen-") and folder.is_dir()  # there while the kernel runs
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)  # as JupyterLab's "Shut Down Kernel" does
    assert not folder.exists()


@pytest.mark.postgres
def test_perflab_reset_drops_the_unseen_schema_and_a_kernel_builds_it_again(
        pg_url: str, pg_schema: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(unseen, "UNSEEN_SEED", 2719)  # a schema of this test's own: other runs keep theirs
    monkeypatch.setenv("PERFLAB_DATABASE_URL", pg_url)
    monkeypatch.setenv("PERFLAB_SCHEMA", pg_schema)
    monkeypatch.setenv("PERFLAB_SCALE", "0.01")
    engine = make_engine(pg_url, schema=pg_schema)
    try:
        other = unseen.unseen_engine(engine)
        assert other.dialect.name == "postgresql" and schemas(pg_url) >= {"perflab_unseen_2719"}

        assert main(["reset", "--yes"]) == 0
        assert "dropped the exercise checks' second dataset (schema perflab_unseen_2719)" in capsys.readouterr().out
        assert "perflab_unseen_2719" not in schemas(pg_url)

        again = unseen.unseen_engine(engine)  # the kernel's next check: built again, not a missing table
        with again.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 200
    finally:
        assert unseen.drop_unseen(engine)
        engine.dispose()
    assert "perflab_unseen_2719" not in schemas(pg_url)


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("users", "orders", "order_items")}


def test_each_check_gets_an_unseen_dataset_of_its_own_and_nothing_of_it_stays(sqlite_engine: sa.Engine) -> None:
    seen = []
    for _ in range(2):
        datasets = list(unseen.both_datasets(sqlite_engine))  # the loop runs to its end: the second is removed
        (course, where), (other, other_where) = datasets
        assert course is sqlite_engine and where == "" and other_where == unseen.UNSEEN_WHERE
        path = Path(str(other.url.database))
        assert path.parent.name.startswith("perflab-unseen-") and not path.parent.exists()
        seen.append(path)
    assert seen[0] != seen[1]


def test_a_check_that_stops_half_way_removes_its_unseen_dataset_too(sqlite_engine: sa.Engine) -> None:
    loop = unseen.both_datasets(sqlite_engine)
    next(loop)
    other, _ = next(loop)
    assert counts(other)["users"] == 200  # there while the check runs, at the unseen scale
    folder = Path(str(other.url.database)).parent
    del loop  # the check raised: its loop is dropped
    assert not folder.exists()


def test_unseen_datasets_of_two_checks_differ(sqlite_engine: sa.Engine) -> None:
    with unseen.fresh_unseen(sqlite_engine) as first, unseen.fresh_unseen(sqlite_engine) as second:
        assert fingerprint(first) != fingerprint(second)  # seeded at random, each


@pytest.mark.postgres
def test_on_postgresql_a_checks_own_schema_is_dropped_after_it_and_by_reset(
        pg_url: str, pg_engine: sa.Engine) -> None:
    with unseen.fresh_unseen(pg_engine) as other:
        assert other.dialect.name == "postgresql" and counts(other)["users"] == 200
        with other.connect() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        assert schema.startswith(unseen.CHECK_SCHEMA_PREFIX) and schema in schemas(pg_url)
    assert schema not in schemas(pg_url)

    left = f"{unseen.CHECK_SCHEMA_PREFIX}1"  # as a kernel stopped half-way through a check leaves it
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{left}"')
    admin.dispose()
    assert left in unseen.drop_unseen(pg_engine) and left not in schemas(pg_url)


def schemas(url: str) -> set[str]:
    admin = make_engine(url)
    try:
        return set(sa.inspect(admin).get_schema_names())
    finally:
        admin.dispose()
