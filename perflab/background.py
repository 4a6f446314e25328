"""Start chapter 04's background-job stack for real: a Huey worker process and the reports web app.

>>> with start_jobs() as stack:                                  # doctest: +SKIP
...     httpx.post(f"{stack.url}/reports", params={"user_id": 7}).status_code
202

:func:`start_jobs` picks the queue's storage — Redis when ``PERFLAB_REDIS_URL`` is set and answers,
else a SQLite file in a temporary folder — then starts two child processes with that storage in
their environment (see :mod:`perflab.jobs`):

- the worker: ``python -m huey.bin.huey_consumer perflab.jobs.huey`` (one worker thread by default);
- the web app: ``perflab.report_app:app`` under uvicorn, on 127.0.0.1 and a free port.

It first checks that the course dataset is built (one clear line if not: the worker would otherwise
fail every job with "no such table"). Starting a stack stops the one this process started before (a
cell run twice leaves one stack running, not two).
Leaving the ``with`` block (or :meth:`JobStack.stop`, or the kernel's exit) stops both and removes
what the queue stored: the SQLite folder, or every Redis key of this run's queue (its name is new
each time, ``perflab_ch04_<hex>``, so two kernels never share a queue).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from perflab.errors import PerflabError
from perflab.jobs import ENV_NAME, ENV_STORAGE, make_huey, require_dataset
from perflab.processes import Child, start_process
from perflab.servers import Server, serve
from perflab.urls import hide_secrets, mask_url

#: What the worker writes once it takes jobs.
WORKER_READY = "consumer started"
#: The stack :func:`start_jobs` started last in this process (stopped when the next one starts).
_CURRENT: list[JobStack] = []


def redis_reachable(url: str, timeout: float = 2.0) -> str | None:
    """None if Redis at ``url`` answers a PING, else the reason in a few words.

    >>> redis_reachable("redis://127.0.0.1:1/0")
    'connection refused'

    Parameters:
        url: a ``redis://`` URL. timeout: seconds to wait for the connection.
    """
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except (redis.RedisError, ValueError) as exc:  # ValueError: a URL redis cannot read (a port that is no number)
        text = hide_secrets(str(exc), url)
        return "connection refused" if "refused" in text.lower() else text.splitlines()[0][:120]
    return None


def choose_storage(redis_url: str | None) -> tuple[str, str, Path | None]:
    """(storage URL, label, temporary folder or None): Redis if given and reachable, else a new SQLite file.

    >>> storage, label, folder = choose_storage(None)
    >>> storage.startswith("sqlite:///"), label
    (True, "Huey's SQLite storage (a file)")
    >>> import shutil; shutil.rmtree(folder)

    A Redis URL that does not answer prints one line and falls back to SQLite.
    """
    if redis_url:
        reason = redis_reachable(redis_url)
        if reason is None:
            return redis_url, f"Redis at {mask_url(redis_url)}", None
        print(f"Redis at {mask_url(redis_url)} is unreachable ({reason}): using Huey's SQLite storage instead "
              "— start Redis, or unset PERFLAB_REDIS_URL")
    folder = Path(tempfile.mkdtemp(prefix="perflab-jobs-"))
    return f"sqlite:///{folder / 'jobs.sqlite'}", "Huey's SQLite storage (a file)", folder


class JobStack:
    """The running worker and web app: ``url``, ``worker``, ``server``, ``storage`` (a label); ``stop()``."""

    def __init__(self, server: Server, worker: Child, storage_url: str, storage: str, name: str,
                 folder: Path | None) -> None:
        self.server = server
        self.worker = worker
        self.url = server.url
        self.storage = storage
        self.name = name
        self._storage_url = storage_url
        self._folder = folder

    def huey(self) -> Any:
        """A Huey object on this stack's queue (to look at its storage from the notebook)."""
        return make_huey(self._storage_url, self.name)

    def check_worker(self) -> None:
        """Raise a one-line PerflabError if the worker has stopped."""
        if not self.worker.alive:
            last = self.worker.log_tail(1) or "no output"
            raise PerflabError(f"the huey worker stopped (exit code {self.worker.popen.returncode}): {last} "
                               "— run the cell that starts the jobs again")

    def wait(self, task_id: str, timeout: float = 30.0, poll: float = 0.05) -> dict[str, Any]:
        """Poll ``GET /reports/{task_id}`` until the job is done or failed; returns its last status.

        Raises a one-line PerflabError if the worker dies or the job does not finish within ``timeout`` s.
        """
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            status: dict[str, Any] = httpx.get(f"{self.url}/reports/{task_id}", timeout=5).json()
            if status.get("status") in ("done", "failed"):
                return status
            self.check_worker()
            if time.monotonic() > deadline:
                raise PerflabError(f"job {task_id} is still {status.get('status')!r} after {timeout:g} s — "
                                   "is the worker busy? (stack.worker.log_tail() shows its last lines)")
            time.sleep(poll)

    def stop(self) -> None:
        """Stop the web app and the worker, and remove what the queue stored (idempotent)."""
        self.server.stop()
        self.worker.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        elif self._storage_url.startswith(("redis://", "rediss://", "unix://")):
            remove_redis_keys(self._storage_url, self.name)

    def __enter__(self) -> JobStack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.server.alive and self.worker.alive else "stopped"
        return f"<jobs {state}: app {self.url}, worker pid {self.worker.pid}, queue on {self.storage}>"


def redis_keys(url: str, name: str) -> list[str]:
    """The Redis keys of the Huey queue ``name`` (``huey.<kind>.<name>...``), sorted."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return sorted(k.decode() for k in client.scan_iter(match=f"huey.*.{name}*", count=1000))
    finally:
        client.close()


def remove_redis_keys(url: str, name: str) -> int:
    """Delete every Redis key of the Huey queue ``name``; returns how many there were."""
    import redis

    keys = redis_keys(url, name)
    if keys:
        client = redis.Redis.from_url(url)
        try:
            client.delete(*keys)
        finally:
            client.close()
    return len(keys)


def start_jobs(*, redis_url: str | None = None, workers: int = 1, port: int | None = None,
               timeout: float = 20.0) -> JobStack:
    """Start a Huey worker and the reports web app on one queue; returns the :class:`JobStack`.

    Parameters:
        redis_url: the Redis server for the queue (default ``PERFLAB_REDIS_URL``; unset or unreachable:
            Huey's SQLite storage in a temporary folder).
        workers: the worker's threads (jobs it runs at once).
        port: the web app's port (default: a free one; one in use gives a one-line error).
        timeout: seconds to wait for each process to be ready.
    """
    from perflab.config import settings

    if not isinstance(workers, int) or not 1 <= workers <= 8:
        raise PerflabError(f"workers must be a whole number from 1 to 8, got {workers!r}")
    while _CURRENT:  # the cell ran before: one stack at a time
        _CURRENT.pop().stop()
    require_dataset().dispose()
    storage_url, label, folder = choose_storage(redis_url or settings().redis_url)
    name = f"perflab_ch04_{uuid.uuid4().hex[:10]}"
    env = {**os.environ, ENV_STORAGE: storage_url, ENV_NAME: name, "PYTHONUNBUFFERED": "1"}
    worker = server = None
    try:
        worker = _start_worker(env, workers, timeout)
        server = serve("perflab.report_app:app", port=port, env=env, timeout=timeout)
    except BaseException:
        if worker is not None:
            worker.stop()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        elif storage_url.startswith("redis"):
            remove_redis_keys(storage_url, name)
        raise
    stack = JobStack(server, worker, storage_url, label, name, folder)
    _CURRENT.append(stack)
    return stack


def _start_worker(env: dict[str, str], workers: int, timeout: float) -> Child:
    # -d/-m: poll the SQLite queue every 20-100 ms (Redis storage blocks on the queue instead)
    cmd = [sys.executable, "-m", "huey.bin.huey_consumer", "perflab.jobs.huey", "-w", str(workers), "-k", "thread",
           "-d", "0.02", "-m", "0.1", "-b", "1.1", "-C"]
    worker = start_process(cmd, name="huey worker", env=env)
    deadline = time.monotonic() + timeout
    while WORKER_READY not in worker.log_tail(50).lower():
        if not worker.alive:
            code, last = worker.popen.returncode, worker.log_tail(1) or "no output"
            worker.stop()
            raise PerflabError(f"the huey worker exited with code {code} before it was ready: {last}")
        if time.monotonic() > deadline:
            worker.stop()
            raise PerflabError(f"the huey worker was not ready within {timeout:g} s")
        time.sleep(0.02)
    return worker
