"""The checks' second dataset leaves nothing behind: its SQLite folder goes with the kernel, `perflab reset` drops
its PostgreSQL schema (and a kernel that finds it gone builds it again)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from jupyter_client.manager import start_new_kernel

from perflab.cli import main
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


def schemas(url: str) -> set[str]:
    admin = make_engine(url)
    try:
        return set(sa.inspect(admin).get_schema_names())
    finally:
        admin.dispose()
