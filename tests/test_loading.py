"""perflab.loading on real databases: statement, row and value counts, memory, crossovers and their plot."""

from __future__ import annotations

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
    cost,
    crossover,
    crossovers,
    plot_tradeoff,
    quick_ms,
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
    assert set(lazy) == {"statements", LOCAL}  # no remote engine, no transfer, no memory: not measured


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
    assert set(row) == {"statements", LOCAL, REMOTE, MEMORY}
    assert len(calls) in (4, 12) and set(calls) == {0.001}  # 2 statements + BEGIN + ROLLBACK a run, 1 or 3 runs
    assert row[MEMORY] > 0 and row[LOCAL] > 0


def test_cost_refuses_a_page_that_is_not_a_function(sqlite_engine: Engine) -> None:
    with pytest.raises(PerflabError, match="needs the page as a function of an engine"):
        cost("users_with_orders", sqlite_engine)  # type: ignore[arg-type]


def test_quick_ms_runs_a_fast_function_three_times() -> None:
    calls: list[int] = []
    assert quick_ms(calls.append, 1) >= 0
    assert calls == [1, 1, 1]


def test_crossover_interpolates_between_the_last_cheaper_point_and_the_next() -> None:
    assert crossover([0, 10, 20], [1.0, 4.0, 6.0], [5.0, 5.0, 5.0]) == 15.0
    # one noisy point early on does not hide the real crossing later
    assert crossover([0, 1, 2, 5, 10], [1, 9, 2, 3, 8], [5, 5, 5, 5, 5]) == pytest.approx(5 + 5 * 2 / 5)


def test_crossover_edges() -> None:
    assert crossover([0, 0.5, 1], [1, 2, 3], [5, 5, 5]) is None
    assert crossover([0, 0.5, 1], [6, 7, 8], [5, 5, 5]) == 0.0
    assert crossover([0.1, 0.5], [5, 6], [5, 5]) == 0.1  # a tie is not cheaper


@pytest.mark.parametrize(("args", "message"), [
    (([0, 1], [1], [1, 2]), "equally long"),
    (([], [], []), "non-empty"),
    (([1, 0], [1, 2], [2, 2]), "ascending"),
])
def test_crossover_bad_input(args: tuple[list[float], ...], message: str) -> None:
    with pytest.raises(PerflabError, match=message):
        crossover(*args)


@pytest.mark.postgres
def test_cost_on_postgresql(pg_dataset_engine: Engine) -> None:
    lazy = cost(users_with_orders, pg_dataset_engine, memory=False)
    selectin = cost(lambda eng: users_with_orders(eng, selectinload), pg_dataset_engine, transfer=True)
    assert lazy["statements"] == 21 and selectin["statements"] == 2
    assert selectin["rows"] == 20 + order_count(pg_dataset_engine)
    assert selectin[MEMORY] > 0


def a_sweep() -> pd.DataFrame:
    rows = []
    for used, lazy, eager in ((0, 1.0, 10.0), (1, 4.0, 10.0), (10, 30.0, 10.0), (100, 300.0, 11.0)):
        rows.append({"used": used, "loading": "lazy", LOCAL: lazy / 2, REMOTE: lazy, MEMORY: lazy * 50})
        rows.append({"used": used, "loading": "eager", LOCAL: eager, REMOTE: eager, MEMORY: 1000.0})
    return pd.DataFrame(rows)


def test_crossovers_of_a_sweep() -> None:
    found = crossovers(a_sweep())
    assert found[REMOTE] == pytest.approx(1 + 9 * 6 / 26)
    assert found[LOCAL] == pytest.approx(1 + 9 * 8 / 13)
    assert found[MEMORY] == pytest.approx(1 + 9 * 800 / 1300)


def test_crossovers_refuse_a_sweep_without_both_loadings() -> None:
    sweep = a_sweep()
    with pytest.raises(PerflabError, match="rows for 'lazy' and 'eager'"):
        crossovers(sweep[sweep["loading"] == "lazy"])


def test_plot_tradeoff_labels_axes_and_marks_crossovers() -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_tradeoff(a_sweep(), local="SQLite in this process", remote="+1 ms a round trip")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "symlog" and left.get_yscale() == "log"
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert "lazy, +1 ms a round trip" in labels and "eager, SQLite in this process" in labels
    assert any(text.startswith("crossover, +1 ms a round trip: 3.1%") for text in labels)
    assert "crossover, memory: 6.5%" in [t.get_text() for t in right.get_legend().get_texts()]
    plt.close(fig)
