"""The reports web app of chapter 04 (Starlette): a slow report inline, or queued with ``202 Accepted``.

Routes (``user_id`` and ``seconds`` are query parameters):

- ``POST /reports/inline?user_id=7&seconds=1.5``: builds the report while the client waits, answers
  ``200`` with it;
- ``POST /reports?user_id=7&seconds=1.5&fail_first=0``: enqueues the job on the Huey queue of
  :mod:`perflab.jobs` and answers ``202 Accepted`` at once with ``{"task_id", "status": "queued",
  "status_url"}``; ``fail_first=n`` makes the job's first n attempts fail (retries);
- ``GET /reports/{task_id}``: the job's status (``queued``, ``running``, ``retrying``, ``done`` with
  its result, ``failed`` with its error), its attempts and its own run time; ``404`` for an unknown id.

:func:`perflab.background.start_jobs` serves it with uvicorn next to a Huey worker; both read the
queue's storage from the environment (see :mod:`perflab.jobs`).
"""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from perflab import jobs
from perflab.errors import PerflabError


def _params(request: Request) -> tuple[int, float, int]:
    query = request.query_params
    return int(query.get("user_id", "1")), float(query.get("seconds", "1.5")), int(query.get("fail_first", "0"))


async def report_inline(request: Request) -> JSONResponse:
    try:
        user_id, seconds, _ = _params(request)
        report = await run_in_threadpool(jobs.build_report, user_id, seconds)  # the loop stays free meanwhile
    except (ValueError, PerflabError) as exc:  # a bad parameter: one line, 400
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(report)


async def report_queued(request: Request) -> JSONResponse:
    try:
        user_id, seconds, fail_first = _params(request)
        if not 0 <= seconds <= jobs.MAX_SECONDS:
            raise ValueError(f"seconds must be from 0 to {jobs.MAX_SECONDS:g}, got {seconds!r}")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    task = jobs.report_job.s(user_id, seconds, fail_first)  # the job, not yet on the queue
    task_id = task.id
    await run_in_threadpool(jobs.set_status, jobs.huey, task_id, status="queued", attempts=0, queued=time.time())
    await run_in_threadpool(jobs.huey.enqueue, task)  # from here on, the worker may run it
    return JSONResponse({"task_id": task_id, "status": "queued", "status_url": f"/reports/{task_id}"},
                        status_code=202)


async def report_status(request: Request) -> JSONResponse:
    task_id = request.path_params["task_id"]
    status = await run_in_threadpool(jobs.job_status, jobs.huey, task_id)
    if status is None:
        return JSONResponse({"error": f"no job {task_id}"}, status_code=404)
    return JSONResponse(status)


app = Starlette(routes=[
    Route("/reports/inline", report_inline, methods=["POST"]),
    Route("/reports", report_queued, methods=["POST"]),
    Route("/reports/{task_id}", report_status, methods=["GET"]),
])
