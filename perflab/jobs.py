"""Chapter 04's background jobs: a Huey queue (SQLite storage by default, Redis when configured) and its tasks.

>>> queue = make_huey(None, "demo")  # in memory; "sqlite:///jobs.sqlite" or "redis://..." for real
>>> type(queue).__name__, queue.name
('MemoryHuey', 'demo')

The same task code runs on either storage; what picks it is the environment of the processes that
import this module (the worker, the web app):

- ``PERFLAB_JOBS_STORAGE``: ``sqlite:////path/to/jobs.sqlite`` (Huey's SQLite storage: a file, no
  server) or ``redis://host:6379/0`` (Huey's Redis storage); unset (a kernel that only imports this
  module): an in-memory queue, so importing it writes no file;
- ``PERFLAB_JOBS_NAME``: the queue's name (Redis keys are ``huey.*.<name>``), default ``perflab``.

:mod:`perflab.background` sets both, starts the worker
(``python -m huey.bin.huey_consumer perflab.jobs.huey``) and the web app, and removes the storage
afterwards. The worker records each job's progress (queued, running, retrying, done, failed, with its
attempts and its own run time) next to its result, where the web app reads it: :func:`job_status`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.api import Huey, Task
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING

from perflab.errors import PerflabError

ENV_STORAGE = "PERFLAB_JOBS_STORAGE"
ENV_NAME = "PERFLAB_JOBS_NAME"
#: Attempts a report job gets after its first one fails.
RETRIES = 2
#: The longest report :func:`build_report` makes, in seconds.
MAX_SECONDS = 60.0


def make_huey(storage: str | None, name: str) -> Huey:
    """A Huey queue on ``storage`` (``sqlite:///file``, ``redis://...``, or None: in memory), named ``name``.

    >>> make_huey("memcached://x", "demo")
    Traceback (most recent call last):
    ...
    perflab.errors.PerflabError: job storage must be sqlite:///a/file.sqlite or redis://host:port/db, got 'memcached://x'

    Parameters:
        storage: where the queue, the results and the job statuses live.
        name: the queue's name (several queues can share one storage).
    """
    if not storage:
        return MemoryHuey(name)
    if storage.startswith("sqlite:///"):
        return SqliteHuey(name, filename=storage[len("sqlite:///"):])
    if storage.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=storage)
    raise PerflabError(f"job storage must be sqlite:///a/file.sqlite or redis://host:port/db, got {storage!r}")


#: The queue of this process: the worker's and the web app's (their environment names it); in memory elsewhere.
huey = make_huey(os.environ.get(ENV_STORAGE), os.environ.get(ENV_NAME) or "perflab")


# ---------------------------------------------------------------------------------------------------------
# The work


def build_report(user_id: int, seconds: float = 1.5) -> dict[str, Any]:
    """The user's order report: real figures from the database, then ``seconds`` in all (the "rendering").

    >>> build_report(1, 0.0)  # doctest: +SKIP
    {'user_id': 1, 'orders': 4, 'spent_cents': 31210, 'by_status': {'delivered': 3, 'shipped': 1}, 'seconds': 0.004}

    The book's report takes 5 minutes; this one takes ``seconds``: its query takes milliseconds, and
    a ``time.sleep`` stands for the rest of the work (rendering a PDF, say), so its length is the
    same on every machine.

    Parameters:
        user_id: whose orders.
        seconds: the report's total duration (0 to 60).
    """
    if not 0 <= seconds <= MAX_SECONDS:
        raise PerflabError(f"seconds must be from 0 to {MAX_SECONDS:g}, got {seconds!r}")
    start = time.perf_counter()
    import sqlalchemy as sa

    with _engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*), sum(total_cents) FROM orders WHERE user_id = :u "
                                    "GROUP BY status ORDER BY status"), {"u": int(user_id)}).all()
    by_status = {status: int(n) for status, n, _ in rows}
    time.sleep(max(0.0, seconds - (time.perf_counter() - start)))
    return {"user_id": int(user_id), "orders": sum(by_status.values()),
            "spent_cents": int(sum(total or 0 for _, _, total in rows)), "by_status": by_status,
            "seconds": round(time.perf_counter() - start, 3)}


_ENGINE: Any = None


def _engine() -> Any:
    """The process's engine on the course database (from the environment); a one-line error if it is not built."""
    global _ENGINE
    if _ENGINE is None:
        engine = require_dataset()
        _ENGINE = engine
    return _ENGINE


def require_dataset(url: str | None = None) -> Any:
    """An engine on the course database, or a one-line PerflabError if its dataset is not built (nothing created).

    >>> require_dataset("sqlite:////tmp/perflab-no-such-dataset.sqlite")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    perflab.errors.PerflabError: the course dataset is not built at sqlite:////tmp/perflab-no-such-dataset.sqlite ...

    Parameters: ``url`` the database (default ``PERFLAB_DATABASE_URL`` or the course's SQLite file).
    """
    from perflab import dataset
    from perflab.db import make_engine
    from perflab.urls import mask_url

    engine = make_engine(url)
    if dataset.recorded(engine) is None:  # reads nothing from a SQLite file that is not there (no empty file)
        engine.dispose()
        raise PerflabError(f"the course dataset is not built at {mask_url(engine.url)} — run perflab.connect() "
                           "(or `python -m perflab build`) first, then start the jobs again")
    return engine


@huey.task(retries=RETRIES, retry_delay=0, context=True)
def report_job(user_id: int, seconds: float = 1.5, fail_first: int = 0, task: Task | None = None) -> dict[str, Any]:
    """:func:`build_report` as a background job; its first ``fail_first`` attempts fail (to show retries)."""
    attempt = RETRIES - (task.retries if task is not None else RETRIES) + 1
    if attempt <= fail_first:
        time.sleep(min(seconds, 0.2))
        raise RuntimeError(f"the report service timed out (attempt {attempt})")
    return build_report(user_id, seconds)


# ---------------------------------------------------------------------------------------------------------
# Statuses: written by the worker (signals) and by the app (queued), read by the app


def status_key(task_id: str) -> str:
    """The storage key of a job's status."""
    return f"status:{task_id}"


def set_status(queue: Huey, task_id: str, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the stored status of ``task_id`` (creating it); returns the new status."""
    status = dict(queue.get(status_key(task_id), peek=True) or {})
    status.update(fields)
    queue.put(status_key(task_id), status)
    return status


def job_status(queue: Huey, task_id: str) -> dict[str, Any] | None:
    """What is known of job ``task_id``: status, attempts, its own run time, result or error; None if unknown.

    >>> job_status(huey, "no-such-job") is None
    True
    """
    status = queue.get(status_key(task_id), peek=True)
    if status is None:
        return None
    status = dict(status)
    if status.get("status") == "done":
        status["result"] = queue.result(task_id, preserve=True)
    return status


@huey.signal(SIGNAL_EXECUTING)
def _running(signal: str, task: Task, exc: BaseException | None = None) -> None:
    attempts = RETRIES - task.retries + 1
    set_status(huey, task.id, status="running", attempts=attempts, started=time.time())


@huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)
def _finished(signal: str, task: Task, exc: BaseException | None = None) -> None:
    status = huey.get(status_key(task.id), peek=True) or {}
    took = round(time.time() - status.get("started", time.time()), 3)
    if signal == SIGNAL_COMPLETE:
        set_status(huey, task.id, status="done", error=None, job_seconds=took)
    else:  # an attempt failed: huey retries it while task.retries > 0
        set_status(huey, task.id, status="retrying" if task.retries else "failed", error=str(exc), job_seconds=took)
