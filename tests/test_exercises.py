from __future__ import annotations

import importlib
import pkgutil
import sys
import types
from collections.abc import Iterator, Mapping
from sqlite3 import connect as bound_connect  # bound at import time, before any counting
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import FakeClock
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from perflab import exercises
from perflab.errors import PerflabError
from perflab.exercises import (
    EXERCISES,
    CheckResult,
    check,
    check_complexity,
    check_query_count,
    check_result,
    check_speedup,
    check_uses_index,
    exercise,
    failed,
    hint,
    materialize,
    passed,
    require,
    run_learner,
)
from perflab.exercises.ch02 import orders_by_user_reference, sample_user_ids
from perflab.exercises.dbapi import SentStatements
from perflab.exercises.probes import is_probe
from perflab.exercises.registry import HINTS_SHOWN
from perflab.schema import Order, User

# ---------------------------------------------------------------------------------------------------------
# Fake clocks (no timing asserts in unit tests)


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert isinstance(result, CheckResult)
    assert result.ok is False and not result
    assert result.message.startswith("❌ ") and " — hint: " in result.message
    assert "\n" not in result.message
    assert repr(result) == result.message
    for fragment in fragments:
        assert fragment in result.message, result.message


def assert_passed(result: CheckResult, *fragments: str) -> None:
    assert result.ok is True, result.message
    assert result.message.startswith("✅ ") and "\n" not in result.message
    for fragment in fragments:
        assert fragment in result.message, result.message


# ---------------------------------------------------------------------------------------------------------
# Results and the small helpers


def test_passed_and_failed() -> None:
    assert repr(passed("fine")) == "✅ fine"
    r = failed("ran 101 queries\nsecond line", "use one query")
    assert repr(r) == "❌ ran 101 queries second line — hint: use one query"
    assert r.details["hint"] == "use one query"
    assert "perflab-result" in r._repr_html_()


def test_require_stops_a_checker_only_on_failure() -> None:
    ok = passed("fine")
    assert require(ok) is ok
    with pytest.raises(exercises.CheckStopped):
        require(failed("no", "yes"))


def test_run_learner_turns_exceptions_into_a_failure() -> None:
    def lookup(d: dict[str, int]) -> int:
        return d["missing"]

    with pytest.raises(exercises.CheckStopped) as stop:
        run_learner(lookup, {})
    result = stop.value.result
    assert_failed_with_hint(result, "lookup raised KeyError: 'missing'", 'return d["missing"]')
    assert "Traceback" in result.details["traceback"]


# ---------------------------------------------------------------------------------------------------------
# check_result


def test_check_result_unordered_by_default() -> None:
    assert_passed(check_result([3, 1, 2], [1, 2, 3]), "matches the reference")
    assert_passed(check_result((x for x in [2, 1]), [1, 2]))  # a generator counts as a list
    assert_passed(check_result({2, 1}, [1, 2]))


def test_check_result_ordered() -> None:
    r = check_result([3, 1, 2], [1, 2, 3], ordered=True)
    assert_failed_with_hint(r, "right items in the wrong order", "sort")


def test_check_result_multiset() -> None:
    r = check_result([1, 1, 2], [1, 2])
    assert_failed_with_hint(r, "has 3 items instead of 2", "unexpected e.g. 1")
    r = check_result([1, 3], [1, 2])
    assert_failed_with_hint(r, "not the right ones", "missing e.g. 2", "unexpected e.g. 3")


def test_check_result_dicts() -> None:
    expected = {1: [10, 11], 2: [], 3: [12]}
    assert_passed(check_result({3: [12], 1: [11, 10], 2: []}, expected))
    assert_failed_with_hint(check_result({1: [10, 11], 3: [12]}, expected), "missing 1 of 3 keys, e.g. [2]")
    assert_failed_with_hint(check_result({**expected, 9: []}, expected), "1 unexpected keys, e.g. [9]")
    assert_failed_with_hint(check_result({**expected, 3: [13]}, expected, what="r"), "r[3] has")
    assert_failed_with_hint(check_result([1, 2, 3], expected), "should be a dict, got a list")
    r = check_result({1: [11, 10], 2: [], 3: [12]}, expected, ordered=True, what="r")
    assert_failed_with_hint(r, "r[1] has the right items in the wrong order")


def test_check_result_tuples_are_records() -> None:
    assert_passed(check_result([(2, "b"), (1, "a")], [(1, "a"), (2, "b")]))
    assert_failed_with_hint(check_result([("a", 1)], [(1, "a")]), "not the right ones")


def test_check_result_scalars_and_numbers() -> None:
    assert_passed(check_result(0.1 + 0.2, 0.3))
    assert_passed(check_result([0.1 + 0.2, 1], [1.0, 0.3]))
    assert_passed(check_result(3, 3.0))
    assert_failed_with_hint(check_result(True, 1), "should be 1, got True")
    assert_failed_with_hint(check_result("42", 42), "should be 42, got '42'")
    assert_failed_with_hint(check_result(None, [1]), "should be a list, got NoneType None")


def test_check_result_accepts_rows_and_numpy(sqlite_engine: Engine) -> None:
    import numpy as np

    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.select(User.id, User.country).order_by(User.id).limit(3)).all()
    expected = [tuple(r) for r in rows]
    assert_passed(check_result(rows, expected[::-1]))
    assert_passed(check_result(np.array([3, 1, 2]), [1, 2, 3]))
    assert_passed(check_result({1: np.int64(5)}, {1: 5}))


def test_a_series_is_a_dict_where_a_dict_is_expected_and_a_list_elsewhere() -> None:
    import pandas as pd

    by_user = pd.Series({1: [12, 480], 2: []})
    assert_passed(check_result(by_user, {1: [12, 480], 2: []}))
    assert_passed(check_result(by_user, [[12, 480], []]))
    assert "is missing 1 of 3 keys" in check_result(by_user, {1: [12, 480], 2: [], 3: []}).message


def test_check_result_never_raises_on_odd_values() -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing me")

        __hash__ = object.__hash__

    assert_failed_with_hint(check_result(Weird(), Weird()), "could not be compared")
    assert_failed_with_hint(check_result(Weird(), 1), "should be 1")


# ---------------------------------------------------------------------------------------------------------
# check_query_count


def orders_n_plus_one(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    with engine.connect() as conn:
        for uid in user_ids:
            stmt = sa.select(Order.id).where(Order.user_id == uid).order_by(Order.id)
            result[uid] = list(conn.scalars(stmt))
    return result


def test_check_query_count_passes(sqlite_engine: Engine) -> None:
    r = check_query_count(lambda: orders_by_user_reference(sqlite_engine, [1, 2, 3]), sqlite_engine, 2,
                          name="reference")
    assert_passed(r, "reference sent 1 SQL statement (at most 2 allowed)")
    assert r.details["count"] == 1 and set(r.details["value"]) == {1, 2, 3}


def test_check_query_count_spots_n_plus_one(sqlite_engine: Engine) -> None:
    ids = sample_user_ids(sqlite_engine, 20)
    r = check_query_count(lambda: orders_n_plus_one(sqlite_engine, ids), sqlite_engine, 2, name="mine")
    assert_failed_with_hint(r, "mine sent 20 SQL statements, at most 2 allowed",
                            "`SELECT orders.id FROM orders WHERE orders.user_id = ? ORDER BY orders.id` ran 20 times")
    assert r.details["count"] == 20


def test_check_query_count_reports_a_raising_function(sqlite_engine: Engine) -> None:
    def broken() -> None:
        with sqlite_engine.connect() as conn:
            conn.exec_driver_sql("SELECT nope FROM users")

    r = check_query_count(broken, sqlite_engine, 2)
    assert_failed_with_hint(r, "broken raised OperationalError", "no such column")


def test_sent_statements_sees_connections_opened_with_the_driver(sqlite_engine: Engine) -> None:
    import sqlite3

    before = sqlite3.connect
    with SentStatements() as sent:
        assert sqlite3.connect is not before  # wrapped while active
        raw = sqlite3.connect(str(sqlite_engine.url.database))
        raw.execute("SELECT user_id FROM orders WHERE id <= 3").fetchall()
        raw.close()
    assert sqlite3.connect is before and sqlite3.dbapi2.connect is before  # restored
    assert [s.sql for s in sent.asked] == ["SELECT user_id FROM orders WHERE id <= 3"]
    assert sent.rows() == 3


def test_sent_statements_sees_sqlite_connections_however_connect_was_reached(sqlite_engine: Engine) -> None:
    import sqlite3

    database = str(sqlite_engine.url.database)
    with SentStatements() as sent:
        for opened in (bound_connect(database), sqlite3.Connection(database)):  # bound before counting started
            opened.execute("SELECT user_id FROM orders WHERE id <= 2").fetchall()
            opened.close()
    assert [s.sql for s in sent.asked] == ["SELECT user_id FROM orders WHERE id <= 2"] * 2
    assert sent.rows() == 4 and sys.getprofile() is None  # the one-shot profile function removed itself


def test_the_audit_hook_is_idle_when_nothing_counts_and_never_breaks_a_connection(
        sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    database = str(sqlite_engine.url.database)
    with SentStatements():
        pass  # the hook is installed now, for good
    plain = bound_connect(database)
    assert sys.getprofile() is None and plain.execute("SELECT 1").fetchall() == [(1,)]
    plain.close()

    def broken(self: SentStatements, conn: object) -> None:
        raise RuntimeError("instrumenting failed")

    monkeypatch.setattr(SentStatements, "_instrument", broken)
    with SentStatements():
        conn = bound_connect(database)
        assert conn.execute("SELECT 2").fetchall() == [(2,)]  # the learner's connection works regardless
        conn.close()
    assert sys.getprofile() is None


def test_a_thread_with_a_profiler_keeps_it_and_its_connection_is_not_counted(sqlite_engine: Engine) -> None:
    calls: list[str] = []

    def profiler(_frame: object, event: str, _arg: object) -> None:
        calls.append(event)

    with SentStatements() as sent:
        sys.setprofile(profiler)
        try:
            conn = bound_connect(str(sqlite_engine.url.database))
            conn.execute("SELECT 3").fetchall()
            conn.close()
        finally:
            sys.setprofile(None)
    assert calls and not sent.asked  # the documented gap: left alone rather than the profiler replaced


@pytest.mark.postgres
def test_sent_statements_sees_psycopg_connections(pg_dataset_engine: Engine) -> None:
    import psycopg

    url = pg_dataset_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    before = psycopg.Connection.__dict__["connect"]
    with SentStatements() as sent:
        for connect in (psycopg.connect, psycopg.Connection.connect):
            with connect(url) as pg:
                pg.execute("SELECT 42").fetchall()
    assert psycopg.Connection.__dict__["connect"] is before
    assert [s.sql for s in sent.asked] == ["SELECT 42", "SELECT 42"]
    assert sent.rows() == 2 and sent.chars() == 4


@pytest.mark.postgres
def test_sent_statements_counts_psycopg_stream_and_copy_with_their_rows(pg_dataset_engine: Engine) -> None:
    with SentStatements() as sent:
        raw = pg_dataset_engine.raw_connection()
        try:
            cursor = raw.driver_connection.cursor()
            streamed = list(cursor.stream("SELECT id FROM users WHERE id <= 12"))
            with cursor.copy("COPY (SELECT id FROM users WHERE id <= 10) TO STDOUT") as copy:
                copied = list(copy.rows())
            with cursor.copy("COPY (SELECT id FROM users WHERE id <= 3) TO STDOUT") as copy:
                chunks = [bytes(chunk) for chunk in copy]
        finally:
            raw.close()
    assert len(streamed) == 12 and len(copied) == 10 and chunks == [b"1\n", b"2\n", b"3\n"]
    assert [s.sql for s in sent.asked] == ["SELECT id FROM users WHERE id <= 12",
                                           "COPY (SELECT id FROM users WHERE id <= 10) TO STDOUT",
                                           "COPY (SELECT id FROM users WHERE id <= 3) TO STDOUT"]
    assert [s.rows for s in sent.asked] == [12, 10, 3]
    assert sent.chars() == len("".join(map(str, range(1, 13)))) + len("".join(map(str, range(1, 11)))) + 6


@pytest.mark.parametrize("name", ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)])
def test_sent_statements_measures_the_characters_returned(request: pytest.FixtureRequest, name: str) -> None:
    engine: Engine = request.getfixturevalue(name)
    agg = "string_agg(user_id::text, ',')" if engine.dialect.name == "postgresql" else "group_concat(user_id)"
    with engine.connect() as conn:
        ids = conn.exec_driver_sql("SELECT user_id FROM orders WHERE id <= 20 ORDER BY id").scalars().all()
    with SentStatements() as sent, engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT {agg} FROM orders WHERE id <= 20").scalar()
    assert sent.rows() == 1
    assert sent.chars() == len(",".join(map(str, ids)))


def test_check_query_count_bounds_characters(sqlite_engine: Engine) -> None:
    def one_long_row() -> str:
        with sqlite_engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT group_concat(user_id) FROM orders").scalar())

    r = check_query_count(one_long_row, sqlite_engine, 1, max_rows=5, max_chars=100, rows_hint="send back less")
    assert_failed_with_hint(r, "characters of data from the database (in 1 row), at most 100 needed",
                            "send back less")
    assert r.details["rows"] == 1 and r.details["chars"] > 100


# ---------------------------------------------------------------------------------------------------------
# check_uses_index


def test_check_uses_index(empty_sqlite_engine: Engine) -> None:
    engine = empty_sqlite_engine
    by_user = "SELECT id FROM orders WHERE user_id = :u"
    assert_passed(check_uses_index(engine, by_user, {"u": 1}, "ix_orders_user_id"), "ix_orders_user_id")
    by_status = "SELECT id FROM orders WHERE status = :s"
    r = check_uses_index(engine, by_status, {"s": "paid"})
    assert_failed_with_hint(r, "does not use an index", "full scan of orders", "CREATE INDEX")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_orders_status ON orders (status)")
    assert_passed(check_uses_index(engine, by_status, {"s": "paid"}, "ix_orders_status"))
    assert_failed_with_hint(check_uses_index(engine, by_status, {"s": "paid"}, "ix_other"), "index ix_other")


# ---------------------------------------------------------------------------------------------------------
# check_speedup / check_complexity (fake clocks)


def test_check_speedup() -> None:
    clock = FakeClock()

    def fast() -> None:
        clock.advance(0.001)

    def slow() -> None:
        clock.advance(0.010)

    r = check_speedup(fast, slow, floor=3, clock=clock)
    assert_passed(r, "fast is 10.0x faster than the slow version (at least 3x needed)")
    assert r.details["speedup"] == pytest.approx(10)
    assert_failed_with_hint(check_speedup(fast, slow, floor=20, clock=clock), "only 10x as fast", "20x")


def test_check_speedup_reports_a_raising_function() -> None:
    def fast() -> None:
        raise ValueError("boom")

    r = check_speedup(fast, lambda: None, floor=2, clock=FakeClock())
    assert_failed_with_hint(r, "fast raised ValueError: boom")


def test_check_complexity_linear_and_quadratic() -> None:
    clock = FakeClock()

    def linear(items: list[int]) -> None:
        clock.advance(len(items) * 1e-6)

    def quadratic(items: list[int]) -> None:
        clock.advance(len(items) ** 2 * 1e-6)

    r = check_complexity(linear, lambda n: list(range(n)), sizes=(100, 400), clock=clock)
    assert_passed(r, "linear: 4x more input took 4.0x longer (about n^1.0, about linear)")
    r = check_complexity(quadratic, lambda n: list(range(n)), sizes=(100, 400), clock=clock)
    assert_failed_with_hint(r, "took 16.0x longer (about n^2.0, about quadratic); at most 8x allowed", "set")
    assert r.details["exponent"] == pytest.approx(2)
    assert_passed(check_complexity(quadratic, lambda n: list(range(n)), (100, 400), 20, clock=clock))


def test_check_complexity_bad_sizes() -> None:
    with pytest.raises(PerflabError, match="sizes"):
        check_complexity(len, lambda n: [0] * n, sizes=(400, 100))


# ---------------------------------------------------------------------------------------------------------
# The registry


@pytest.fixture
def demo_exercise() -> Iterator[str]:
    @exercise("99-answer", hints=("think of the answer", "it is 42"))
    def _check(learner_fn: Any, *, offset: int = 0) -> CheckResult:
        """Return the answer."""
        value = run_learner(learner_fn)
        require(check_result(value, 42 + offset, what="answer()"))
        return passed("right answer")

    yield "99-answer"
    EXERCISES.pop("99-answer")
    HINTS_SHOWN.pop("99-answer", None)


def test_registered_exercise(demo_exercise: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert EXERCISES[demo_exercise].title == "Return the answer."
    r = check(demo_exercise, lambda: 42)
    assert_passed(r, "right answer")
    assert capsys.readouterr().out == "✅ right answer\n"  # shown exactly once
    r = check(demo_exercise, lambda: 41)
    assert_failed_with_hint(r, "answer() should be 42, got 41")
    assert r.details["exercise"] == demo_exercise
    assert_passed(check(demo_exercise, lambda: 43, offset=1))


def test_check_never_lets_a_wrong_answer_raise(demo_exercise: str) -> None:
    def starter() -> int:
        raise NotImplementedError("your code here")

    assert_failed_with_hint(check(demo_exercise, starter), "starter is not written yet", "write the function")
    assert_failed_with_hint(check(demo_exercise, 42), "expected your function, got int 42",
                            "without calling it")
    assert_failed_with_hint(check(demo_exercise, lambda: 1 / 0), "raised ZeroDivisionError")


def test_check_reports_a_crashing_checker(demo_exercise: str) -> None:
    @exercise("99-crash", hints="a hint")
    def _crash(learner_fn: Any) -> CheckResult:
        return {}["no"]  # type: ignore[no-any-return]

    try:
        assert_failed_with_hint(check("99-crash", lambda: 1), "checking your answer failed with KeyError",
                                "a hint")
    finally:
        EXERCISES.pop("99-crash")


def test_check_usage_errors_raise(demo_exercise: str) -> None:
    with pytest.raises(PerflabError, match="unknown exercise '99-answr' — did you mean '99-answer'"):
        check("99-answr", lambda: 42)
    with pytest.raises(PerflabError, match="wrong keywords"):
        check(demo_exercise, lambda: 42, engine=None)
    with pytest.raises(PerflabError, match="wrong keywords"):
        check("02-orders-per-user", lambda e, ids: {})  # no engine=


def test_hints_come_one_by_one(demo_exercise: str) -> None:
    assert hint(demo_exercise) == "hint 1/2: think of the answer"
    assert hint(demo_exercise) == "hint 2/2: it is 42"
    assert hint(demo_exercise) == "hint 2/2: it is 42"
    assert hint(demo_exercise, 1) == "hint 1/2: think of the answer"
    assert repr(hint(demo_exercise, 1)) == "hint 1/2: think of the answer"
    with pytest.raises(PerflabError, match="hints 1 to 2"):
        hint(demo_exercise, 3)


def test_a_hint_shown_by_a_cross_is_not_repeated_by_hint(demo_exercise: str) -> None:
    @exercise("99-hinted", hints=("think of the answer", "it is 42", "return 42"))
    def _check(learner_fn: Any) -> CheckResult:
        value = run_learner(learner_fn)
        return passed("right answer") if value == 42 else failed(f"got {value}", "it is 42")

    try:
        assert hint("99-hinted", 1) == "hint 1/3: think of the answer"  # looking one up by number moves nothing
        assert_failed_with_hint(check("99-hinted", lambda: 41), "it is 42")
        assert hint("99-hinted") == "hint 3/3: return 42"
        assert_failed_with_hint(check("99-hinted", lambda: 41), "it is 42")  # never moves back
        assert hint("99-hinted") == "hint 3/3: return 42"
    finally:
        EXERCISES.pop("99-hinted")
        HINTS_SHOWN.pop("99-hinted", None)


def test_a_hint_of_its_own_moves_nothing(demo_exercise: str) -> None:
    assert_failed_with_hint(check(demo_exercise, lambda: 41))
    assert hint(demo_exercise) == "hint 1/2: think of the answer"


# ---------------------------------------------------------------------------------------------------------
# 02-orders-per-user


def orders_in(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    stmt = sa.select(Order.user_id, Order.id).where(Order.user_id.in_(user_ids)).order_by(Order.id)
    with engine.connect() as conn:
        for uid, oid in conn.execute(stmt):
            result[uid].append(oid)
    return result


def orders_orm(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    with Session(engine) as session:
        stmt = sa.select(User).where(User.id.in_(user_ids)).options(selectinload(User.orders))
        users = session.scalars(stmt)
        return {u.id: sorted(o.id for o in u.orders) for u in users}


def orders_unsorted(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    return {uid: ids[::-1] for uid, ids in orders_in(engine, user_ids).items()}


def orders_skip_empty(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    return {uid: ids for uid, ids in orders_in(engine, user_ids).items() if ids}


def orders_raises(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    with engine.connect() as conn:
        for uid, oid in conn.execute(sa.select(Order.user_id, Order.id).where(Order.user_id.in_(user_ids))):
            result[uid].append(oid)
    return result


def orders_starter(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    raise NotImplementedError


def test_orders_per_user_dataset_has_users_without_orders(sqlite_engine: Engine) -> None:
    expected = orders_by_user_reference(sqlite_engine, sample_user_ids(sqlite_engine))
    assert len(expected) == 100
    assert any(not v for v in expected.values()) and any(len(v) > 1 for v in expected.values())
    assert all(v == sorted(v) for v in expected.values())


@pytest.mark.parametrize("solution", [orders_by_user_reference, orders_in, orders_orm])
def test_orders_per_user_correct_solutions_pass(sqlite_engine: Engine, solution: Any) -> None:
    r = check("02-orders-per-user", solution, engine=sqlite_engine)
    assert_passed(r, "right orders for 100 users", "(no N+1)")
    assert r.details["count"] <= 2


@pytest.mark.parametrize(
    ("solution", "fragments"),
    [
        (orders_n_plus_one, ("sent 100 SQL statements, at most 2 allowed", "(an N+1)", "one query per user")),
        (orders_unsorted, ("has the right items in the wrong order", "sort")),
        (orders_skip_empty, ("keys, e.g.", "users without orders map to []")),
        (orders_raises, ("orders_raises raised KeyError", "result[uid].append(oid)")),
        (orders_starter, ("orders_starter is not written yet",)),
        (lambda engine, user_ids: None, ("should be a dict, got NoneType None",)),
    ],
)
def test_orders_per_user_wrong_solutions_fail_with_a_hint(sqlite_engine: Engine, solution: Any,
                                                          fragments: tuple[str, ...]) -> None:
    assert_failed_with_hint(check("02-orders-per-user", solution, engine=sqlite_engine), *fragments)


def test_orders_per_user_checks_result_before_query_count(sqlite_engine: Engine) -> None:
    def wrong_and_slow(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
        return {uid: ids[:1] for uid, ids in orders_n_plus_one(engine, user_ids).items()}

    assert_failed_with_hint(check("02-orders-per-user", wrong_and_slow, engine=sqlite_engine), "has 1 items")


def test_orders_per_user_custom_ids(sqlite_engine: Engine) -> None:
    r = check("02-orders-per-user", orders_in, engine=sqlite_engine, user_ids=[1, 2, 3])
    assert_passed(r, "for 3 users")


@pytest.mark.postgres
def test_orders_per_user_on_postgres(pg_dataset_engine: Engine) -> None:
    assert_passed(check("02-orders-per-user", orders_orm, engine=pg_dataset_engine))
    assert_failed_with_hint(check("02-orders-per-user", orders_n_plus_one, engine=pg_dataset_engine), "N+1")


# ---------------------------------------------------------------------------------------------------------
# Every registered exercise passes with its reference


def test_every_exercise_has_a_reference_and_hints() -> None:
    """Each chapter's module registers its exercises; their references pass in tests/test_chNN_exercises.py."""
    for module in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"perflab.exercises.{module.name}")
    assert {"02-orders-per-user", "06-find-duplicates"} <= set(EXERCISES)
    for exercise_id, ex in EXERCISES.items():
        assert ex.reference is not None and ex.hints, exercise_id
        assert exercise_id[:2].isdigit() and exercise_id[2] == "-", exercise_id


@pytest.mark.parametrize("name", ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)])
def test_what_pandas_and_sqlalchemy_ask_by_themselves_is_not_counted(request: pytest.FixtureRequest,
                                                                      name: str) -> None:
    import pandas as pd

    engine: Engine = request.getfixturevalue(name)
    with SentStatements() as sent:
        pd.read_sql("SELECT id FROM users WHERE id <= 2", engine)
        pd.read_sql_table("products", engine)
        sa.Table("reviews", sa.MetaData(), autoload_with=engine)
    asked = [" ".join(s.sql.split()) for s in sent.asked]
    assert len(asked) == 2 and asked[0] == "SELECT id FROM users WHERE id <= 2"
    assert asked[1].startswith("SELECT products.id, products.name,") and asked[1].endswith(" FROM products")
    assert len(sent.all) > 10  # the table-name probes and reflection queries were sent, and left out


@pytest.mark.parametrize("sql", [
    "SELECT pg_o.id FROM orders AS pg_o WHERE pg_o.user_id = 1",  # an alias that looks like a catalog name
    "SELECT id FROM orders WHERE user_id = 1 ORDER BY id /* sqlite_master */",
    "SELECT id FROM orders -- pg_catalog",
    "SELECT relname FROM pg_catalog.pg_class, orders",
    "SELECT c.relname FROM (SELECT relname FROM pg_catalog.pg_class) AS c, orders",
    "SELECT * FROM pg_catalog.pg_class JOIN orders ON true",
    "SELECT relname FROM pg_catalog.pg_class WHERE EXISTS (TABLE orders)",
    "SELECT (SELECT string_agg(id::text, ',') FROM orders) FROM pg_catalog.pg_class",
    "SELECT query_to_xml('select * from orders', true, false, '') FROM pg_catalog.pg_class",
    "SELECT relname FROM pg_catalog.pg_class; SELECT * FROM orders",
    "SHOW x; SELECT * FROM orders",
    "SELECT name FROM sqlite_master WHERE name = (SELECT group_concat(id) FROM orders)",
    "SELECT name FROM sqlite_master WHERE 1 UNION SELECT id FROM orders",
    "select current_schema(), (select count(*) from orders)",
    "SELECT 1",
])
def test_a_statement_is_a_probe_only_by_its_whole_shape(sql: str) -> None:
    assert not any(is_probe(sql, backend) for backend in ("sqlite", "postgresql", None))


def test_catalog_names_are_probes_only_on_their_own_backend() -> None:
    sqlite_lookup = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
    pg_lookup = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
    assert is_probe(sqlite_lookup, "sqlite") and not is_probe(sqlite_lookup, "postgresql")  # a table of that name
    assert is_probe(pg_lookup, "postgresql") and not is_probe(pg_lookup, "sqlite")
    assert is_probe('/* why */ PRAGMA main.table_info("SELECT ""a"" FROM t;")', "sqlite")


class _Queried(Mapping[int, int]):
    def __init__(self) -> None:
        self.reads = 0

    def __iter__(self) -> Iterator[int]:
        return iter([1, 2])

    def __len__(self) -> int:
        return 2

    def __getitem__(self, key: int) -> int:
        self.reads += 1
        return key * 10


class _Squares:
    def __iter__(self) -> Iterator[int]:
        yield from (1, 4)


class _Loud(int):
    def __eq__(self, other: object) -> bool:
        raise AssertionError("compared after counting")

    __hash__ = int.__hash__


def test_materialize_consumes_every_iterable_and_mapping_now() -> None:
    lazy = _Queried()
    value = materialize({"m": lazy, "i": _Squares(), "t": (_Loud(3), range(2)), "s": {1}})
    assert lazy.reads == 2
    assert value == {"m": {1: 10, 2: 20}, "i": [1, 4], "t": (3, [0, 1]), "s": {1}}
    assert type(value["m"]) is dict and type(value["t"][0]) is int


def test_a_learner_function_that_rebinds_the_checkers_code_fails_and_the_code_is_put_back() -> None:
    import perflab.exercises.ch06 as ch06

    limit, helper = ch06.ALLOWED_GROWTH, ch06.find_duplicates_reference

    def find_duplicates(items: list[int]) -> list[int]:
        ch06.ALLOWED_GROWTH = 10**9  # any pair loop would now pass the growth test
        ch06.find_duplicates_reference = lambda items: []
        return sorted({x for x in items if items.count(x) > 1})

    result = exercises.check("06-find-duplicates", find_duplicates)
    assert not result.ok
    assert "find_duplicates changed the check itself (perflab.exercises.ch06.ALLOWED_GROWTH" in result.message
    assert "leave perflab's names alone" in result.message
    assert ch06.ALLOWED_GROWTH is limit and ch06.find_duplicates_reference is helper


def test_a_name_rebound_to_a_module_is_the_import_system_not_a_rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing a submodule for the first time binds its name on the package to the module (a function of the same
    name is replaced: why perflab's explain lives in perflab.plans)."""

    from perflab.exercises.guard import Snapshot

    package = types.ModuleType("perflab._guard_demo")
    package.explain = len  # type: ignore[attr-defined]  # a function of the same name as a submodule
    package.limit = 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "perflab._guard_demo", package)
    snapshot = Snapshot.take()
    package.explain = types.ModuleType("perflab._guard_demo.explain")  # type: ignore[attr-defined]
    assert snapshot.rebound() == []
    package.limit = 10**9  # type: ignore[attr-defined]
    assert snapshot.rebound() == ["perflab._guard_demo.limit"]


def test_a_learner_function_that_patches_the_clocks_the_check_reads_fails() -> None:
    import statistics
    import time

    clock, median = time.perf_counter, statistics.median

    def find_duplicates(items: list[int]) -> list[int]:
        time.perf_counter = time.process_time = lambda: 0.0  # every timing the same
        statistics.median = lambda xs: 1.0
        return sorted({x for x in items if items.count(x) > 1})

    process_time = time.process_time
    try:
        result = exercises.check("06-find-duplicates", find_duplicates)
    finally:
        time.process_time = process_time
    assert not result.ok and "changed the check itself (" in result.message
    assert "time.perf_counter" in result.message or "statistics.median" in result.message
    assert time.perf_counter is clock and statistics.median is median


def test_nan_where_the_reference_has_none_is_the_same_value_in_a_bag_of_records() -> None:
    """pandas gives NaN for the average of no reviews where SQL (and the reference) gives NULL → None."""
    expected = [(1, "Lamp", 2, 3.5), (20, "Travel Bed", 0, None)]
    got = [(20, "Travel Bed", 0.0, float("nan")), (1, "Lamp", 2.0, 3.5)]
    assert exercises.check_result(got, expected).ok
    assert not exercises.check_result([(20, "Travel Bed", 0.0, 4.0), (1, "Lamp", 2.0, 3.5)], expected).ok
