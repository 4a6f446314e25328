"""Load-test a served page with locust (headless, a child process): latency percentiles and throughput.

>>> from perflab.servers import serve, hello_app
>>> with serve("perflab.servers:hello_app") as server:  # doctest: +SKIP
...     result = load_test(server.url, "/", users=4, seconds=2)
>>> result.failures, result.p95_ms < 100  # doctest: +SKIP
(0, True)

locust runs in a process of its own (:mod:`perflab.processes`: stopped when done, also when the notebook
fails or the kernel dies), with ``users`` simulated users that each request ``path`` again as soon as
the last answer came (a closed loop: the offered load is ``users`` requests in flight). The statistics
are read from the file locust writes with ``--json-file`` when the run ends: every request of the run,
with its response-time histogram (locust's ``--csv`` files are rewritten once a second while it runs,
so they miss up to the last second: in a two-second run of a page that takes a second and a half,
everything). Percentiles are computed from that histogram the way locust computes them.

A request still in flight when the run stops is waited for (locust's ``--stop-timeout``), for at most as long
again as the run, and counted when it ends: a page slower than the run is in the statistics, not left out.
One still unfinished after that wait is counted too, at the run's length (a lower bound of its time): the
locustfile counts the requests each path started and finished. A run of a slow page has few requests, its
p95 and p99 are then its slowest ones, and the throughput is computed over the time the requests covered
(from the start of the run to the last answer), not over the whole run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError
from perflab.processes import start_process

if TYPE_CHECKING:
    import pandas as pd

#: Where the locustfile reads the path to request.
PATH_VARIABLE = "PERFLAB_LOAD_PATH"
#: Where the locustfile writes, when the run has stopped, when it started and how many requests of each path never
#: finished (locust's own start times are those of each path's first answer).
RUN_VARIABLE = "PERFLAB_LOAD_RUN"
#: The locustfile every load test runs, written to a temporary folder for each run (a module of perflab would be
#: imported by tools that scan the package, and importing locust monkey-patches the standard library with gevent).
#: Every user requests a page again as soon as the last answer came: ``-u N`` keeps N requests in flight. With
#: several paths (separated by spaces), each user goes through them in turn, from a random one. When the run has
#: stopped (users stopped or, after the stop timeout, killed), it writes the requests started and not finished.
LOCUSTFILE = f"""
import collections
import json
import os
import random
import time

from locust import FastHttpUser, constant, events, task

PATHS = os.environ.get("{PATH_VARIABLE}", "/").split()
IN_FLIGHT = collections.Counter()
STARTED = []


@events.test_start.add_listener
def started(**kwargs):
    STARTED.append(time.time())


@events.test_stop.add_listener
def write_run(**kwargs):
    with open(os.environ["{RUN_VARIABLE}"], "w", encoding="utf-8") as out:
        json.dump({{"start": min(STARTED, default=None),
                   "unfinished": {{path: n for path, n in IN_FLIGHT.items() if n}}}}, out)


class PageUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.next = random.randrange(len(PATHS))

    @task
    def page(self):
        path = PATHS[self.next % len(PATHS)]
        self.next += 1
        IN_FLIGHT[path] += 1
        self.client.get(path, name=path)
        IN_FLIGHT[path] -= 1
"""
#: The longest run accepted, in seconds (these are short demonstrations, not soak tests).
MAX_SECONDS = 60.0


@dataclass(frozen=True)
class LoadResult:
    """What one load test measured: requests, failures, requests per second and latency percentiles (ms).

    ``requests`` are the requests that finished (failures included); ``unfinished`` the ones still in flight after
    the stop timeout, counted in the percentiles at the run's length; ``by_path`` the finished requests of each path.
    """

    path: str
    users: int
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    unfinished: int = 0
    by_path: Mapping[str, int] = field(default_factory=dict)

    def row(self) -> dict[str, object]:
        """The result as a dict (one row of a table), without ``by_path``."""
        return {k: v for k, v in asdict(self).items() if k != "by_path"}

    def idle_paths(self) -> list[str]:
        """The paths asked for that no request of finished (a page slower than the run and its stop timeout).

        >>> LoadResult("/a /b", 1, 3, 0, 1.5, 5, 9, 9, 1, {"/a": 3}).idle_paths()
        ['/b']
        """
        return [p for p in self.path.split() if not self.by_path.get(p)]


def locust_missing() -> str | None:
    """None if locust can be run here, else one line saying why not and what to do.

    >>> locust_missing() is None or "pip install" in locust_missing()
    True
    """
    if importlib.util.find_spec("locust") is None:
        return "locust is not installed — pip install locust (it is pinned in binder/requirements.txt)"
    return None


def percentile(histogram: Mapping[float, int], share: float) -> float:
    """The response time below which ``share`` of the requests fall, from locust's histogram {ms: count}.

    >>> percentile({10: 90, 200: 10}, 0.5), percentile({10: 90, 200: 10}, 0.95)
    (10, 200)

    locust rounds response times (2 significant digits above 100 ms, 3 above 1 s) before counting them,
    so the percentiles have that resolution too.
    """
    total = sum(histogram.values())
    if not total:
        return float("nan")
    below = int(total * share)
    seen = 0
    for ms in sorted(histogram, reverse=True):
        seen += histogram[ms]
        if total - seen <= below:
            return ms
    return min(histogram)


def read_stats(path: str | Path, seconds: float, unfinished: Mapping[str, int] | None = None,
               start: float | None = None) -> dict[str, Any]:
    """Requests, failures, requests per second and p50/p95/p99 (ms) from locust's ``--json-file`` output.

    Parameters: ``path``, the ``PREFIX.json`` file locust wrote with ``--json-file PREFIX``; ``seconds``, how
    long the run lasted; ``unfinished``, the requests of each path never finished, each counted in the
    percentiles at ``seconds`` (they were still in flight after a stop timeout that long: a lower bound);
    ``start``, when the run started (time.time(); None: each path's first answer, as locust records it).
    Throughput is the requests finished divided by the time from the start of the run to the last answer
    (``seconds`` if those times are not known). ``by_path`` holds the finished requests of each path.
    """
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    left = sum((unfinished or {}).values())
    if not entries and not left:
        raise PerflabError(f"no request in {path}: did the server answer at all?")
    histogram: dict[float, int] = {}
    for entry in entries:
        for ms, count in entry["response_times"].items():
            histogram[float(ms)] = histogram.get(float(ms), 0) + int(count)
    if left:
        histogram[seconds * 1000.0] = histogram.get(seconds * 1000.0, 0) + left
    requests = sum(int(e["num_requests"]) for e in entries)
    starts = [start] if start else [float(e["start_time"]) for e in entries if e.get("start_time")]
    ends = [float(e["last_request_timestamp"]) for e in entries if e.get("last_request_timestamp")]
    covered = max(ends) - min(starts) if starts and ends and max(ends) > min(starts) else seconds
    by_path: dict[str, int] = {}
    for e in entries:
        by_path[e.get("name", "")] = by_path.get(e.get("name", ""), 0) + int(e["num_requests"])
    return {"requests": requests, "failures": sum(int(e["num_failures"]) for e in entries), "rps": requests / covered,
            **{f"p{round(q * 100)}_ms": percentile(histogram, q) for q in (0.5, 0.95, 0.99)},
            "unfinished": left, "by_path": by_path}


def _check(users: int, seconds: float) -> None:
    if not isinstance(users, int) or users < 1:
        raise PerflabError(f"users must be a whole number >= 1, got {users!r}")
    if not 1 <= seconds <= MAX_SECONDS:
        raise PerflabError(f"seconds must be from 1 to {MAX_SECONDS:g}, got {seconds!r}")


def load_test(url: str, path: str | Sequence[str], *, users: int, seconds: float = 3.0) -> LoadResult:
    """Run locust headless against ``url + path`` for ``seconds`` with ``users`` users; read its ``--json-file`` output.

    Parameters:
        url: the server, e.g. ``server.url`` of :func:`perflab.servers.serve` (127.0.0.1).
        path: the page every user requests, e.g. ``/fast/5074``, or several (each user takes them in turn);
            the result's ``path`` is them joined by spaces.
        users: simulated users, all started at once; each keeps one request in flight.
        seconds: how long to run (1 to 60); requests still in flight then are waited for as long again at most.
    """
    missing = locust_missing()
    if missing:
        raise PerflabError(missing)
    _check(users, seconds)
    paths = [path] if isinstance(path, str) else list(path)
    if not paths or any(not p.startswith("/") or p.split() != [p] for p in paths):
        raise PerflabError(f"path must be one or more paths like '/fast/5074', without spaces, got {path!r}")
    with tempfile.TemporaryDirectory(prefix="perflab-locust-") as folder:
        prefix = str(Path(folder) / "run")
        locustfile = Path(folder) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE, encoding="utf-8")
        cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
               "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--stop-timeout", f"{seconds:g}s",
               "--host", url,
               "--json-file", prefix, "--loglevel", "ERROR", "--exit-code-on-error", "0"]
        run_file = Path(folder) / "perflab-run.json"
        env = {**os.environ, PATH_VARIABLE: " ".join(paths), RUN_VARIABLE: str(run_file)}
        with start_process(cmd, name="locust", env=env) as child:
            try:
                code = child.popen.wait(timeout=2 * seconds + 30)
            except subprocess.TimeoutExpired:
                raise PerflabError(f"locust did not finish within {2 * seconds + 30:g} s") from None
            if code != 0:
                raise PerflabError(f"locust exited with code {code}: {child.log_tail(1) or 'no output'}")
        run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
        stats = read_stats(prefix + ".json", seconds, run.get("unfinished"), run.get("start"))
    return LoadResult(" ".join(paths), users, int(stats["requests"]), int(stats["failures"]), stats["rps"],
                      stats["p50_ms"], stats["p95_ms"], stats["p99_ms"], int(stats["unfinished"]),
                      dict(stats["by_path"]))


def latency_vs_load(url: str, paths: Mapping[str, str], users: Sequence[int], *,
                    seconds: float | Mapping[str, float] = 3.0) -> pd.DataFrame:
    """One load test per (name, path) and user count: a table of p50/p95/p99 and throughput.

    Parameters:
        url: the server.
        paths: a name for each page and its path, e.g. ``{"slow": "/slow/7", "fast": "/fast/7"}``.
        users: the concurrencies to offer, e.g. ``(1, 4, 16)``.
        seconds: how long each run lasts, or a duration per name (a slow page needs longer for as many requests).
    """
    import pandas as pd

    def duration(name: str) -> float:
        return float(seconds) if isinstance(seconds, (int, float)) else float(seconds[name])

    rows = [{"version": name, **load_test(url, path, users=n, seconds=duration(name)).row()}
            for name, path in paths.items() for n in users]
    return pd.DataFrame(rows).drop(columns="path")
