"""A DataLoader for asyncio: code asks for one key at a time, one batch call answers a whole event-loop tick.

>>> import asyncio
>>> from perflab.dataloader import DataLoader
>>> def squares(keys):  # the batch function: every key asked for during one tick, at once
...     return {k: k * k for k in keys}
>>> async def page():
...     loader = DataLoader(squares)
...     values = await asyncio.gather(*(loader.load(k) for k in (1, 2, 3, 2)))
...     return values, loader.batches
>>> asyncio.run(page())
([1, 4, 9, 4], [[1, 2, 3]])

The idea comes from Facebook's JavaScript ``dataloader``: a GraphQL resolver (or any per-item helper) keeps
its one-item interface, ``await loader.load(key)``, and the loader collects every key requested while the
event loop runs its ready callbacks, then calls the batch function once for all of them (one ``IN`` query
instead of one query per key). The batch function is ordinary blocking code: it runs in a worker thread
(``asyncio.to_thread``), so the event loop stays free while the statement waits for the database.

Only requests made in the same tick share a batch: ``for key in keys: await loader.load(key)`` waits for
each answer before asking for the next key, so it still sends one batch per key. Gather the requests
(``asyncio.gather``) to batch them. A key asked for twice in one tick is fetched once; nothing is cached
across ticks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from perflab.display import fn_name
from perflab.errors import PerflabError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DataLoader(Generic[K, V]):
    """Collect the keys asked for during one event-loop tick; fetch them with one call of ``batch_fn``.

    >>> import asyncio
    >>> async def one_by_one(loader, keys):  # awaits each load in turn: one batch per key
    ...     return [await loader.load(k) for k in keys]
    >>> loader = DataLoader(lambda keys: {k: -k for k in keys})
    >>> asyncio.run(one_by_one(loader, [1, 2, 3])), loader.batches
    ([-1, -2, -3], [[1], [2], [3]])

    Parameters:
        batch_fn: a blocking function given a list of distinct keys that returns a mapping with a value for
            every key (e.g. ``[]`` for a user without orders); it runs in a worker thread, once per tick.

    ``batches`` lists the keys of each batch sent so far, in order (to count the round trips).
    """

    def __init__(self, batch_fn: Callable[[list[K]], Mapping[K, V]]) -> None:
        if not callable(batch_fn):
            raise PerflabError(f"DataLoader needs a batch function (keys -> {{key: value}}), got {batch_fn!r}; "
                               "e.g. DataLoader(lambda ids: orders_of_users(engine, ids))")
        self.batch_fn = batch_fn
        self.batches: list[list[K]] = []
        self._pending: dict[K, asyncio.Future[V]] = {}
        self._running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    def load(self, key: K) -> asyncio.Future[V]:
        """A future for ``key``'s value: every key asked for in this tick is fetched by one batch call."""
        loop = asyncio.get_running_loop()
        if not self._pending:  # the tick's first request: dispatch after the tick's other callbacks ran
            loop.call_soon(self._dispatch)
        if key not in self._pending:
            self._pending[key] = loop.create_future()
        return self._pending[key]

    def _dispatch(self) -> None:
        batch, self._pending = self._pending, {}
        self.batches.append(list(batch))
        task = asyncio.ensure_future(self._resolve(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _resolve(self, batch: dict[K, asyncio.Future[V]]) -> None:
        try:
            values = await asyncio.to_thread(self.batch_fn, list(batch))
            _check_answer(self.batch_fn, list(batch), values)
        except Exception as exc:  # never leave a caller waiting forever
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for key, future in batch.items():
            if not future.done():  # a caller may have been cancelled meanwhile
                future.set_result(values[key])


def _check_answer(batch_fn: Callable[..., Any], keys: Sequence[Hashable], values: object) -> None:
    name = fn_name(batch_fn)
    if not isinstance(values, Mapping):
        raise PerflabError(f"the batch function {name} must return a mapping {{key: value}}, got "
                           f"{type(values).__name__}; e.g. return {{uid: orders[uid] for uid in user_ids}}")
    missing = [k for k in keys if k not in values]
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise PerflabError(f"the batch function {name} returned no value for {len(missing)} of {len(keys)} keys "
                           f"({shown}); return a value for every key it is given (e.g. [] for none)")
