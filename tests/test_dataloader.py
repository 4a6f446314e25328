"""Tests for perflab.dataloader: one batch per event-loop tick, run for real on SQLite (and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from perflab.dataloader import DataLoader
from perflab.errors import PerflabError
from perflab.querylog import query_log

ORDERS_OF_USERS = sa.text("SELECT user_id, id FROM orders WHERE user_id IN :ids ORDER BY id").bindparams(
    sa.bindparam("ids", expanding=True)
)


def orders_of_users(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The batch function of the chapter: every user's order ids, in one IN statement."""
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    with engine.connect() as conn:
        for user_id, order_id in conn.execute(ORDERS_OF_USERS, {"ids": user_ids}):
            result[user_id].append(order_id)
    return result


def orders_one_by_one(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
    """The per-user query the loader replaces (the expected answers)."""
    with engine.connect() as conn:
        return {uid: list(conn.scalars(sa.text("SELECT id FROM orders WHERE user_id = :u ORDER BY id"), {"u": uid}))
                for uid in user_ids}


def gathered(engine: Engine, user_ids: list[int]) -> tuple[list[list[int]], DataLoader[int, list[int]], int]:
    """Resolve every user concurrently through one loader; return (answers, loader, statements run)."""
    loader: DataLoader[int, list[int]] = DataLoader(lambda ids: orders_of_users(engine, ids))

    async def page() -> list[list[int]]:
        return list(await asyncio.gather(*(loader.load(uid) for uid in user_ids)))

    with query_log(engine) as log:
        answers = asyncio.run(page())
    return answers, loader, log.count


def test_concurrent_loads_in_one_tick_send_one_statement(sqlite_engine: Engine) -> None:
    user_ids = list(range(1, 41))
    answers, loader, statements = gathered(sqlite_engine, user_ids)
    expected = orders_one_by_one(sqlite_engine, user_ids)
    assert answers == [expected[uid] for uid in user_ids]
    assert any(answers) and [] in answers  # users with orders and users without: both answered
    assert statements == 1
    assert loader.batches == [user_ids]


def test_awaiting_each_load_in_turn_sends_one_statement_per_key(sqlite_engine: Engine) -> None:
    loader: DataLoader[int, list[int]] = DataLoader(lambda ids: orders_of_users(sqlite_engine, ids))

    async def one_by_one() -> list[list[int]]:
        return [await loader.load(uid) for uid in (1, 2, 3, 4)]

    with query_log(sqlite_engine) as log:
        answers = asyncio.run(one_by_one())
    assert answers == list(orders_one_by_one(sqlite_engine, [1, 2, 3, 4]).values())
    assert log.count == 4
    assert loader.batches == [[1], [2], [3], [4]]


def test_a_key_asked_for_twice_in_a_tick_is_fetched_once(sqlite_engine: Engine) -> None:
    answers, loader, statements = gathered(sqlite_engine, [7, 3, 7, 3, 9])
    assert loader.batches == [[7, 3, 9]]
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert statements == 1


def test_each_tick_is_its_own_batch(sqlite_engine: Engine) -> None:
    loader: DataLoader[int, list[int]] = DataLoader(lambda ids: orders_of_users(sqlite_engine, ids))

    async def two_pages() -> None:
        await asyncio.gather(*(loader.load(uid) for uid in (1, 2)))
        await asyncio.gather(*(loader.load(uid) for uid in (3, 4, 5)))

    asyncio.run(two_pages())
    assert loader.batches == [[1, 2], [3, 4, 5]]


def test_the_batch_runs_in_a_worker_thread_so_the_loop_stays_free() -> None:
    import threading

    seen: list[str] = []

    def batch(keys: list[int]) -> Mapping[int, str]:
        seen.append(threading.current_thread().name)
        return {k: str(k) for k in keys}

    async def run() -> list[str]:
        return list(await asyncio.gather(*(DataLoader(batch).load(k) for k in (1,))))

    assert asyncio.run(run()) == ["1"]
    assert seen and seen[0] != threading.main_thread().name


def test_a_failing_batch_fails_every_caller_of_that_batch(sqlite_engine: Engine) -> None:
    def broken(ids: list[int]) -> dict[int, list[int]]:
        with sqlite_engine.connect() as conn:
            conn.exec_driver_sql("SELECT no_such_column FROM orders")
        return {}

    loader: DataLoader[int, list[int]] = DataLoader(broken)

    async def page() -> list[object]:
        return list(await asyncio.gather(*(loader.load(uid) for uid in (1, 2)), return_exceptions=True))

    results = asyncio.run(page())
    assert len(results) == 2 and all(isinstance(r, sa.exc.OperationalError) for r in results)


def test_a_batch_function_that_forgets_a_key_is_named_in_the_error() -> None:
    def forgetful(keys: list[int]) -> dict[int, int]:
        return {k: k for k in keys if k != 2}

    async def page() -> list[int]:
        loader = DataLoader(forgetful)
        return list(await asyncio.gather(*(loader.load(k) for k in (1, 2, 3))))

    with pytest.raises(PerflabError, match=r"forgetful returned no value for 1 of 3 keys \(2\)"):
        asyncio.run(page())


def test_a_batch_function_must_return_a_mapping() -> None:
    async def page() -> object:
        return await DataLoader(lambda keys: [k * 2 for k in keys]).load(1)

    with pytest.raises(PerflabError, match="must return a mapping .*got list"):
        asyncio.run(page())


def test_a_cancelled_caller_does_not_break_the_others() -> None:
    async def page() -> list[int]:
        loader = DataLoader(lambda keys: {k: k * 10 for k in keys})
        first, second = loader.load(1), loader.load(2)
        first.cancel()
        return [await second]

    assert asyncio.run(page()) == [20]


def test_load_outside_an_event_loop_says_so() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        DataLoader(lambda keys: {}).load(1)


def test_not_a_function_is_refused() -> None:
    with pytest.raises(PerflabError, match="needs a batch function .* got 42"):
        DataLoader(42)  # type: ignore[arg-type]


def test_concurrent_loads_send_one_statement_on_postgresql(pg_dataset_engine: Engine) -> None:
    user_ids = list(range(1, 31))
    answers, loader, statements = gathered(pg_dataset_engine, user_ids)
    expected = orders_one_by_one(pg_dataset_engine, user_ids)
    assert answers == [expected[uid] for uid in user_ids]
    assert statements == 1 and loader.batches == [user_ids]
