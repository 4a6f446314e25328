"""The locustfile :func:`perflab.loadtest.load_test` runs: every user asks for one path, again and again, without pause.

Run by locust, not imported by perflab: ``python -m locust -f perflab/locustfile.py --headless ...`` with the path
in ``PERFLAB_LOAD_PATH`` (default ``/``). With no wait between requests, ``-u N`` users keep N requests in
flight at all times: the offered load is the concurrency N (a closed loop).
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

#: The environment variable holding the path every user requests.
PATH_VARIABLE = "PERFLAB_LOAD_PATH"


class PageUser(FastHttpUser):
    """One user: requests the page, and as soon as it answers, requests it again."""

    wait_time = constant(0)

    @task
    def page(self) -> None:
        path = os.environ.get(PATH_VARIABLE, "/")
        self.client.get(path, name=path)
