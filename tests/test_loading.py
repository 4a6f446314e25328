"""perflab.loading on real databases: statement, row and value counts, memory, crossovers and their plot."""

from __future__ import annotations

from functools import partial

import matplotlib
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload

from perflab.errors import PerflabError
from perflab.latency import inject_latency
from perflab.loading import (
    LOCAL,
    MEMORY,
    REMOTE,
    ROUND_TRIPS,
    best_ms,
    cost,
    crossing,
    crossovers,
    once_ms,
    plot_tradeoff,
    quick_ms,
    share_sweep,
    transferred,
)
from perflab.querylog import query_log
from perflab.schema import Order, User


def users_with_orders(eng: Engine, loader: object = None) -> list[tuple[int, int]]:
    options = [loader(User.orders)] if loader else []  # type: ignore[operator]
    with Session(eng) as session:
        users = session.scalars(select(User).order_by(User.id).limit(20).options(*options)).unique()
        return [(u.id, len(u.orders)) for u in users]


def order_count(eng: Engine) -> int:
    with eng.connect() as conn:
        return len(conn.execute(select(Order.id).join(User).where(User.id <= 20)).all())


def test_cost_counts_the_statements_of_each_strategy(sqlite_engine: Engine) -> None:
    lazy = cost(users_with_orders, sqlite_engine, memory=False)
    selectin = cost(lambda eng: users_with_orders(eng, selectinload), sqlite_engine, memory=False)
    joined = cost(lambda eng: users_with_orders(eng, joinedload), sqlite_engine, memory=False)
    assert (lazy["statements"], selectin["statements"], joined["statements"]) == (21, 2, 1)
    # one session: its BEGIN and ROLLBACK are round trips too
    assert (lazy[ROUND_TRIPS], selectin[ROUND_TRIPS], joined[ROUND_TRIPS]) == (23, 4, 3)
    assert set(lazy) == {"statements", ROUND_TRIPS, LOCAL}  # no remote engine, no transfer, no memory: not measured


def test_round_trips_count_each_connections_begin_and_rollback(sqlite_engine: Engine) -> None:
    def connection_per_user(eng: Engine) -> None:
        for uid in range(1, 11):
            with eng.connect() as conn:
                conn.execute(select(Order.id).where(Order.user_id == uid)).all()

    row = cost(connection_per_user, sqlite_engine, local=False, memory=False)
    assert row == {"statements": 10, ROUND_TRIPS: 30}  # BEGIN, SELECT, ROLLBACK per user


def test_transfer_counts_rows_and_values(sqlite_engine: Engine) -> None:
    orders = order_count(sqlite_engine)
    selectin = cost(lambda eng: users_with_orders(eng, selectinload), sqlite_engine, transfer=True, memory=False)
    joined = cost(lambda eng: users_with_orders(eng, joinedload), sqlite_engine, transfer=True, memory=False)
    users = len(User.__table__.columns)
    assert selectin["rows"] == 20 + orders
    assert selectin["values"] == 20 * users + orders * (len(Order.__table__.columns))
    # the JOIN sends one row per order (at least one per user) carrying the user's columns on each
    assert joined["rows"] < selectin["rows"] and joined["values"] > selectin["values"]


def test_transferred_runs_each_statement_again(sqlite_engine: Engine) -> None:
    with query_log(sqlite_engine) as log:
        users_with_orders(sqlite_engine, selectinload)
    rows, values = transferred(sqlite_engine, log.statements)
    assert rows == 20 + order_count(sqlite_engine) and values > rows
    assert transferred(sqlite_engine, []) == (0, 0)


def test_cost_times_the_remote_engine_and_measures_memory(sqlite_engine: Engine, sqlite_path: object) -> None:
    import sqlalchemy as sa

    remote = sa.create_engine(f"sqlite:///{sqlite_path}")
    calls: list[float] = []
    inject_latency(remote, 1, sleep=calls.append)  # no real sleep: the fake records each delay
    row = cost(lambda eng: users_with_orders(eng, selectinload), sqlite_engine, remote)
    remote.dispose()
    assert set(row) == {"statements", ROUND_TRIPS, LOCAL, REMOTE, MEMORY}
    assert len(calls) in (4, 12) and set(calls) == {0.001}  # 2 statements + BEGIN + ROLLBACK a run, 1 or 3 runs
    assert row[MEMORY] > 0 and row[LOCAL] > 0


def test_cost_refuses_a_page_that_is_not_a_function(sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="needs the page as a function of an engine"):
        cost("users_with_orders", sqlite_engine)  # type: ignore[arg-type]


def test_quick_ms_runs_a_fast_function_three_times() -> None:
    calls: list[int] = []
    assert quick_ms(calls.append, 1) >= 0
    assert calls == [1, 1, 1]


def test_once_ms_times_one_call_on_the_clock_given() -> None:
    from conftest import FakeClock

    clock = FakeClock()
    assert once_ms(clock.advance, 0.25, clock=clock) == 250.0


def test_best_ms_takes_the_calls_in_turn_and_keeps_each_ones_best() -> None:
    from conftest import FakeClock

    clock = FakeClock()
    order: list[str] = []
    durations = {"a": iter([0.5, 0.1, 0.3]), "b": iter([0.2, 0.4, 0.05])}  # seconds, run by run

    def call(name: str) -> None:
        order.append(name)
        clock.advance(next(durations[name]))

    assert best_ms([partial(call, "a"), partial(call, "b")], runs=3, clock=clock) == pytest.approx([100.0, 50.0])
    assert order == ["a", "b"] * 3


def test_crossing_interpolates_where_lazy_stops_being_cheaper() -> None:
    assert crossing([0, 10, 20], [1.0, 4.0, 6.0], [5.0, 5.0, 5.0]) == (15.0, 15.0)


def test_crossing_reports_the_first_and_the_last_when_the_costs_cross_more_than_once() -> None:
    # noise near the crossover: dearer at 1, cheaper again at 2 and 5, dearer from 10
    first, last = crossing([0, 1, 2, 5, 10], [1, 9, 2, 3, 8], [5, 5, 5, 5, 5])  # type: ignore[misc]
    assert first == pytest.approx(0.5) and last == pytest.approx(5 + 5 * 2 / 5)


def test_crossing_edges() -> None:
    assert crossing([0, 0.5, 1], [1, 2, 3], [5, 5, 5]) is None
    assert crossing([0, 0.5, 1], [6, 7, 8], [5, 5, 5]) == (0.0, 0.0)
    assert crossing([0.1, 0.5], [5, 6], [5, 5]) == (0.1, 0.1)  # a tie is not cheaper


@pytest.mark.parametrize(("args", "message"), [
    (([0, 1], [1], [1, 2]), "equally long"),
    (([], [], []), "non-empty"),
    (([1, 0], [1, 2], [2, 2]), "ascending"),
])
def test_crossing_bad_input(args: tuple[list[float], ...], message: str) -> None:
    with pytest.raises(PerflabError, match=message):
        crossing(*args)


@pytest.mark.postgres
def test_cost_on_postgresql(pg_dataset_engine: Engine) -> None:
    lazy = cost(users_with_orders, pg_dataset_engine, memory=False)
    selectin = cost(lambda eng: users_with_orders(eng, selectinload), pg_dataset_engine, transfer=True)
    assert lazy["statements"] == 21 and selectin["statements"] == 2
    assert selectin["rows"] == 20 + order_count(pg_dataset_engine)
    assert selectin[MEMORY] > 0


def test_share_sweep_times_every_point_in_turn(sqlite_engine: Engine, sqlite_path: object) -> None:
    import sqlalchemy as sa

    remote = sa.create_engine(f"sqlite:///{sqlite_path}")
    inject_latency(remote, 1, sleep=lambda seconds: None)  # no real sleep
    calls: list[tuple[str, float]] = []

    def page(eng: Engine, load: str, fraction: float) -> None:
        calls.append((load, fraction))
        with eng.connect() as conn:
            conn.execute(select(User.id).limit(1)).all()

    sweep = share_sweep(page, {"lazy": "L", "eager": "E"}, (0, 50, 100), sqlite_engine, remote, runs=2)
    remote.dispose()
    assert list(sweep["used"]) == [0, 0, 50, 50, 100, 100] and list(sweep["loading"]) == ["lazy", "eager"] * 3
    assert {"statements", ROUND_TRIPS, LOCAL, REMOTE, MEMORY} <= set(sweep.columns)
    in_turn = [("L", 0.0), ("E", 0.0), ("L", 0.5), ("E", 0.5), ("L", 1.0), ("E", 1.0)]
    assert calls[-12:] == in_turn * 2  # the local runs: every point once, then every point again


def a_sweep() -> pd.DataFrame:
    rows = []
    for used, lazy, eager in ((0, 1.0, 10.0), (1, 4.0, 10.0), (10, 30.0, 10.0), (100, 300.0, 11.0)):
        rows.append({"used": used, "loading": "lazy", LOCAL: lazy / 2, REMOTE: lazy, MEMORY: lazy * 50})
        rows.append({"used": used, "loading": "eager", LOCAL: eager, REMOTE: eager, MEMORY: 1000.0})
    return pd.DataFrame(rows)


def test_crossovers_of_a_sweep() -> None:
    found = crossovers(a_sweep())
    assert found[REMOTE] == pytest.approx((1 + 9 * 6 / 26,) * 2)
    assert found[LOCAL] == pytest.approx((1 + 9 * 8 / 13,) * 2)
    assert found[MEMORY] == pytest.approx((1 + 9 * 800 / 1300,) * 2)


def test_crossovers_refuse_a_sweep_without_both_loadings() -> None:
    sweep = a_sweep()
    with pytest.raises(PerflabError, match="rows for 'lazy' and 'eager'"):
        crossovers(sweep[sweep["loading"] == "lazy"])


def test_plot_tradeoff_labels_axes_and_marks_crossovers() -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = a_sweep()
    lazy = sweep["loading"] == "lazy"
    sweep.loc[lazy & (sweep["used"] == 1), LOCAL] = 12.0  # a noisy point: dearer at 1%, cheaper again at 10%
    sweep.loc[lazy & (sweep["used"] == 10), LOCAL] = 8.0
    fig = plot_tradeoff(sweep, local="SQLite in this process", remote="+1 ms a round trip")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "symlog" and left.get_yscale() == "log"
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes) and "KiB" in right.get_ylabel()
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert "lazy, +1 ms a round trip" in labels and "eager, SQLite in this process" in labels
    assert any(text.startswith("crossover, +1 ms a round trip: 3.1%") for text in labels)
    assert "crossover, SQLite in this process: 0.8-11.3%" in labels  # a band between the first and the last
    assert "crossover, memory: 6.5%" in [t.get_text() for t in right.get_legend().get_texts()]
    plt.close(fig)
