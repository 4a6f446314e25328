"""perflab.indexes on a real SQLite file and a real PostgreSQL schema: what it makes, it drops, even on failure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.errors import PerflabError
from perflab.indexes import (
    SCRATCH_PREFIX,
    drop_scratch,
    index_columns,
    index_name,
    index_sql,
    list_indexes,
    scratch_index,
    scratch_objects,
    scratch_table,
    stored_columns,
)

ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(request.param)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_list_indexes_names_the_foreign_key_indexes(engine: Engine) -> None:
    found = list_indexes(engine)
    assert ("orders", "ix_orders_user_id", ("user_id",)) in found
    assert found == sorted(found) and not any(name.startswith(SCRATCH_PREFIX) for _t, name, _c in found)
    assert index_columns(engine, "ix_orders_user_id") == ("orders", ("user_id",))


def test_list_indexes_sees_expression_indexes_and_index_sql_makes_them_again(engine: Engine) -> None:
    """SQLAlchemy's inspector skips expression indexes; the catalog does not."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_test_day ON orders (date(created_at), status)")
    try:
        assert ("orders", "ix_test_day", ("date(created_at)", "status")) in list_indexes(engine)
        assert index_columns(engine, "ix_test_day") == ("orders", ("date(created_at)", "status"))
        definition = index_sql(engine, "ix_test_day")
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_test_day")
            conn.exec_driver_sql(definition)
        assert ("orders", "ix_test_day", ("date(created_at)", "status")) in list_indexes(engine)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_test_day")
    with pytest.raises(PerflabError, match="no index named 'ix_test_day'"):
        index_sql(engine, "ix_test_day")


def held_by(engine: Engine, definition: str) -> tuple[str, ...]:
    """stored_columns of an index made from ``definition`` (dropped again)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX ix_test_held ON orders {definition}")
    try:
        return stored_columns(engine, "ix_test_held")
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_test_held")


@pytest.mark.parametrize(("definition", "held"), [
    ("(created_at DESC, status)", ("created_at", "status")),
    ("(created_at, (status || '|' || user_id))", ("created_at", "status", "user_id")),
    ("(created_at, (\"status\" || 'user_id' || [total_cents]))", ("created_at", "status", "total_cents")),
    ("(created_at) WHERE status = 'paid'", ("created_at",)),
], ids=["keys", "expression", "quoted-and-literal", "partial"])
def test_stored_columns_counts_what_an_index_holds(engine: Engine, definition: str, held: tuple[str, ...]) -> None:
    if engine.dialect.name == "postgresql":
        definition = definition.replace("[total_cents]", "total_cents::text").replace("|| user_id", "|| user_id::text")
    assert held_by(engine, definition) == held
    with pytest.raises(PerflabError, match="no index named 'ix_test_held'"):
        stored_columns(engine, "ix_test_held")


@pytest.mark.postgres
def test_stored_columns_counts_include_and_whole_row_references(pg_dataset_engine: Engine) -> None:
    assert held_by(pg_dataset_engine, "(created_at) INCLUDE (status, total_cents, id)") == (
        "created_at", "status", "total_cents", "id")
    assert held_by(pg_dataset_engine, "((orders))") == ("id", "user_id", "status", "created_at", "total_cents")


def test_drop_scratch_drops_a_scratch_expression_index(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX scratch_ix_expr ON orders ((total_cents + 0))")
    assert drop_scratch(engine) == ["scratch_ix_expr"]
    assert "scratch_ix_expr" not in {name for _t, name, _c in list_indexes(engine)}


def test_scratch_index_exists_inside_and_is_gone_after(engine: Engine) -> None:
    before = list_indexes(engine)
    with scratch_index(engine, "orders", "user_id", "created_at") as name:
        assert name == index_name("orders", ["user_id", "created_at"])
        assert ("orders", name, ("user_id", "created_at")) in list_indexes(engine)
        with engine.connect() as conn:  # the planner sees it
            from perflab.plans import explain

            plan = explain(conn, "SELECT id FROM orders WHERE user_id = :u AND created_at > :d",
                           {"u": 3, "d": "2024-01-01"})
        assert plan.uses_index()
    assert list_indexes(engine) == before


def test_scratch_index_is_dropped_when_the_block_fails(engine: Engine) -> None:
    before = list_indexes(engine)
    with pytest.raises(ZeroDivisionError), scratch_index(engine, "orders", "status"):
        raise ZeroDivisionError("the experiment failed")
    assert list_indexes(engine) == before


def test_scratch_index_replaces_a_leftover_of_the_same_name(engine: Engine) -> None:
    name = index_name("orders", ["status"])
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX {name} ON orders (total_cents)")  # left by a killed kernel
    with scratch_index(engine, "orders", "status"):
        assert index_columns(engine, name) == ("orders", ("status",))
    assert name not in {ix for _t, ix, _c in list_indexes(engine)}


@pytest.mark.parametrize("args, message", [
    (("orders",), "at least one column"),
    (("orders", "no_such_column"), "has no column no_such_column"),
    (("no_such_table", "id"), "no table 'no_such_table'"),
    (("orders", "id; DROP TABLE orders"), "lower-case SQL name"),
])
def test_scratch_index_rejects_bad_names(engine: Engine, args: tuple[str, ...], message: str) -> None:
    before = list_indexes(engine)
    with pytest.raises(PerflabError, match=message), scratch_index(engine, *args):
        pass
    assert list_indexes(engine) == before


def test_a_scratch_index_name_must_say_scratch(engine: Engine) -> None:
    with pytest.raises(PerflabError, match="must start with 'scratch_'"), \
            scratch_index(engine, "orders", "status", name="ix_orders_status"):
        pass


def test_scratch_table_copies_rows_and_primary_key_only(engine: Engine) -> None:
    with scratch_table(engine, "orders") as copy:
        assert copy == "scratch_orders"
        assert count(engine, copy) == count(engine, "orders")
        assert [ix for ix in list_indexes(engine) if ix[0] == copy] == []
        with engine.connect() as conn:
            assert sa.inspect(conn).get_pk_constraint(copy)["constrained_columns"] == ["id"]
            assert sa.inspect(conn).get_foreign_keys(copy) == []
        with scratch_index(engine, copy, "created_at"):
            pass
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table(copy)


def test_an_empty_scratch_table_takes_inserts_and_is_dropped_on_failure(engine: Engine) -> None:
    with pytest.raises(RuntimeError), scratch_table(engine, "users", rows=False, name="scratch_people") as copy:
        assert count(engine, copy) == 0
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {copy} (id, name, email, country, created_at) "
                                 "VALUES (1, 'a', 'a@example.com', 'DE', '2025-01-01 00:00:00')"))
        assert count(engine, copy) == 1
        raise RuntimeError("the experiment failed")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("scratch_people")


def test_drop_scratch_removes_leftovers_and_nothing_else(engine: Engine) -> None:
    before = list_indexes(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX scratch_ix_left_over ON orders (status)")
        conn.exec_driver_sql("CREATE TABLE scratch_left_over (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE INDEX scratch_ix_on_leftover ON scratch_left_over (id)")
    assert scratch_objects(engine) == ["scratch_ix_left_over", "scratch_left_over"]
    assert sorted(drop_scratch(engine)) == ["scratch_ix_left_over", "scratch_left_over"]
    assert list_indexes(engine) == before and drop_scratch(engine) == [] and scratch_objects(engine) == []


def test_the_dataset_is_unchanged_after_all_of_it(engine: Engine) -> None:
    """What chapter 09 does, in miniature: the fingerprint and the indexes are those of before."""
    from perflab.exercises.ch09 import add_index_reference
    from perflab.exercises.registry import check

    fingerprint, indexes = dataset.fingerprint(engine), list_indexes(engine)
    with scratch_table(engine, "orders") as copy:
        with scratch_index(engine, copy, "user_id", "created_at"), scratch_index(engine, copy, "created_at"):
            with engine.connect() as conn:  # a rolled-back write, as the write-cost cells do
                conn.execute(sa.text(f"UPDATE {copy} SET total_cents = total_cents + 1 WHERE id <= 20"))
                conn.rollback()
    with scratch_index(engine, "orders", "user_id", "created_at", "total_cents"), scratch_index(engine, "orders",
                                                                                                "status"):
        pass
    with scratch_table(engine, "users", rows=False) as empty, engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {empty} (id, name, email, country, created_at) "
                             "VALUES (1, 'a', 'a@example.com', 'DE', '2025-01-01 00:00:00')"))
    check("09-one-index", add_index_reference, engine=engine, floor=0, runs=1)
    assert dataset.fingerprint(engine) == fingerprint
    assert list_indexes(engine) == indexes
    with engine.connect() as conn:
        assert not [t for t in sa.inspect(conn).get_table_names() if t.startswith(SCRATCH_PREFIX)]
