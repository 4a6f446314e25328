"""perflab.catalog on a real SQLite file and a real PostgreSQL schema: every kind of object seen, what was added
dropped, a dropped or replaced index made again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.catalog import compare, named, schema_objects, undo

ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(request.param)


def run(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_the_dataset_s_tables_and_indexes_are_listed(engine: Engine) -> None:
    objects = schema_objects(engine)
    assert {("table", t, t) for t in ("orders", "users", "perflab_meta")} <= set(objects)
    assert "user_id" in objects[("index", "ix_orders_user_id", "orders")]


def test_added_objects_are_named_and_dropped(engine: Engine) -> None:
    before = schema_objects(engine)
    trigger = ("CREATE TRIGGER side_t AFTER INSERT ON orders BEGIN UPDATE side SET n = n + 1; END"
               if engine.dialect.name == "sqlite" else
               "CREATE TRIGGER side_t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION side_count()")
    statements = ["CREATE TABLE side (id INTEGER PRIMARY KEY, n INTEGER UNIQUE)",
                  "CREATE VIEW side_view AS SELECT id FROM side", "CREATE INDEX ix_side_n ON side (n)",
                  "CREATE INDEX ix_orders_new ON orders (status)", trigger]
    if engine.dialect.name == "postgresql":
        statements.insert(0, "CREATE FUNCTION side_count() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN UPDATE side SET n = n + 1; RETURN NEW; END $$")
    run(engine, *statements)
    change = compare(before, schema_objects(engine))
    added = {f"{kind} {name}" for kind, name, _on in change.added}
    assert {"table side", "view side_view", "index ix_side_n", "index ix_orders_new", "trigger side_t"} <= added
    assert change.new_indexes() == ["ix_orders_new"]  # the side table's indexes come with it
    assert not change.removed and not change.changed
    undo(engine, before, change, keep=("ix_orders_new",))
    assert named(compare(before, schema_objects(engine)).added) == "index ix_orders_new"
    run(engine, "DROP INDEX ix_orders_new")
    assert schema_objects(engine) == before


def test_a_dropped_or_replaced_index_is_made_again(engine: Engine) -> None:
    before = schema_objects(engine)
    run(engine, "DROP INDEX ix_orders_user_id", "DROP INDEX ix_reviews_user_id",
        "CREATE INDEX ix_reviews_user_id ON reviews (rating)")
    change = compare(before, schema_objects(engine))
    assert named(change.removed) == "index ix_orders_user_id"
    assert named(change.changed) == "index ix_reviews_user_id"
    undo(engine, before, change)
    assert schema_objects(engine) == before


def test_sqlite_analyze_leaves_a_table_that_is_dropped(sqlite_engine: Engine) -> None:
    fingerprint, before = dataset.fingerprint(sqlite_engine), schema_objects(sqlite_engine)
    run(sqlite_engine, "ANALYZE")
    change = compare(before, schema_objects(sqlite_engine))
    assert named(change.added) == "table sqlite_stat1"
    undo(sqlite_engine, before, change)
    assert schema_objects(sqlite_engine) == before and dataset.fingerprint(sqlite_engine) == fingerprint


def test_a_changed_table_is_named_and_left_alone(engine: Engine) -> None:
    run(engine, "CREATE TABLE scratch_people (id INTEGER PRIMARY KEY)")
    try:
        before = schema_objects(engine)
        run(engine, "ALTER TABLE scratch_people ADD COLUMN extra INTEGER")
        change = compare(before, schema_objects(engine))
        assert named(change.changed) == "table scratch_people"
        undo(engine, before, change)
        assert compare(before, schema_objects(engine)).changed == change.changed
    finally:
        run(engine, "DROP TABLE scratch_people")


def test_no_change_is_false() -> None:
    engine = sa.create_engine("sqlite://")
    assert not compare(schema_objects(engine), schema_objects(engine))
