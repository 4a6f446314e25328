"""perflab.exercises.scratch: a copy of some tables on the course's backend, changed freely, removed afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from perflab import dataset
from perflab.db import make_engine
from perflab.exercises import scratch
from perflab.exercises.scratch import scratch_copy
from perflab.schema import OrderItem

TABLES = ("products", "orders", "order_items")
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


def rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() for name in TABLES}


def quantities(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(OrderItem.quantity).order_by(OrderItem.id)))


def scratch_schemas(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    return {name for name in sa.inspect(engine).get_schema_names() if name.startswith(scratch.SCHEMA_PREFIX)}


def change_the_copy(copy: Engine) -> None:
    with copy.begin() as conn:
        conn.execute(sa.update(OrderItem).values(quantity=OrderItem.quantity + 100))


@pytest.mark.parametrize("name", ENGINES)
def test_a_copy_on_the_same_backend_changes_nothing_of_the_course_and_goes_away(
        request: pytest.FixtureRequest, name: str) -> None:
    engine = request.getfixturevalue(name)
    before, copies = quantities(engine), scratch_schemas(engine)
    with scratch_copy(engine, TABLES) as copy:
        assert copy.dialect.name == engine.dialect.name
        assert rows(copy) == rows(engine) and quantities(copy) == before
        with copy.connect() as conn:  # the tables not asked for are not there
            assert not sa.inspect(conn).has_table("users")
        change_the_copy(copy)
        where = copy.url.database if copy.dialect.name == "sqlite" else copy.url
    assert quantities(engine) == before
    if engine.dialect.name == "sqlite":
        assert not Path(str(where)).parent.exists()
    else:
        assert scratch_schemas(engine) == copies


def test_an_in_memory_course_is_copied_through_python() -> None:
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    dataset.build(engine, 0.01, 5, progress=False)
    with scratch_copy(engine, TABLES) as copy:
        assert copy.url.database and copy.url.database != engine.url.database
        assert rows(copy) == rows(engine) and quantities(copy) == quantities(engine)


@pytest.mark.postgres
def test_a_role_that_may_not_create_a_schema_gets_a_sqlite_copy(pg_dataset_url: tuple[str, str]) -> None:
    url, schema = pg_dataset_url
    role = f"perflab_test_role_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
    learner = make_engine(sa.make_url(url).set(username=role).render_as_string(hide_password=False), schema=schema)
    try:
        with scratch_copy(learner, TABLES) as copy:
            assert copy.dialect.name == "sqlite"
            assert rows(copy) == rows(learner)
    finally:
        learner.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"'))
            conn.execute(sa.text(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.mark.postgres
def test_a_connection_left_open_on_the_copy_does_not_hold_the_check_and_reset_drops_it(
        pg_dataset_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scratch, "DROP_WAIT", "200ms")
    with scratch_copy(pg_dataset_engine, TABLES) as copy:
        left_open = copy.connect()  # a learner's session never closed: in a transaction on the copy's tables
        left_open.execute(sa.select(OrderItem.id).limit(1)).all()
        schema = left_open.execute(sa.text("SELECT current_schema()")).scalar_one()
    try:
        assert schema in sa.inspect(pg_dataset_engine).get_schema_names()  # left, not waited for
    finally:
        left_open.close()
    assert schema in scratch.drop_scratch(pg_dataset_engine)
    assert schema not in sa.inspect(pg_dataset_engine).get_schema_names()
