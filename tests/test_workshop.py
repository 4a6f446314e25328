"""The workshop hub for real: three learners on one PostgreSQL, a chapter in each kernel at once, nothing left.

Runs with PostgreSQL (``PERFLAB_TEST_POSTGRES_URL``; Redis too when ``PERFLAB_TEST_REDIS_URL`` is set); it
needs JupyterHub (workshop/requirements.txt) and the proxy (npm, workshop/node_modules), which
``python3 tasks.py test`` installs. A bound of a few minutes, not a measurement: ~40 s on 2 busy cores.
"""

from __future__ import annotations

import concurrent.futures
import doctest
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from perflab.processes import Child, start_process
from perflab.servers import free_port, port_open
from workshop import learners

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "workshop" / "node_modules" / ".bin" / "configurable-http-proxy"
LEARNERS = 3
SCALE = "0.02"  # a first build in a second or two per learner: the point is three at once, not their size
START_TIMEOUT = 90  # seconds for the hub, then for each server, on a busy 2-core machine: a bound
CELL_TIMEOUT = 90


def _missing() -> str | None:
    if importlib.util.find_spec("jupyterhub") is None:
        return "JupyterHub is not installed — pip install -r workshop/requirements.txt (python3 tasks.py test does)"
    if not PROXY.exists():
        return "configurable-http-proxy is not installed — npm ci --prefix workshop (python3 tasks.py test does)"
    return None


def test_the_learners_module_examples() -> None:
    assert doctest.testmod(learners).failed == 0


def test_learner_urls_carry_the_role_and_never_show_the_password() -> None:
    ann = learners.Learner("ann", "Zq7s3cret")
    env = learners.learner_env(ann, "postgresql+psycopg://postgres:adminpw@db:5432/perflab", "redis://cache:6379/2")
    assert env == {"PERFLAB_DATABASE_URL": "postgresql+psycopg://ann:Zq7s3cret@db:5432/perflab",
                   "PERFLAB_SCHEMA": "ann", "PERFLAB_REDIS_URL": "redis://cache:6379/2"}
    line, = learners.describe("postgresql://postgres@db/perflab", [ann])
    assert "Zq7s3cret" not in line and "ann:***@db" in line


def test_bad_learner_names_are_refused() -> None:
    for bad in ("Ann", "a-b", "pg_x", "1a", ""):
        with pytest.raises(ValueError, match="lower-case letters"):
            learners.check_name(bad)
    with pytest.raises(ValueError, match=">= 1"):
        learners.learner_names(0)


@dataclass
class Hub:
    base: str
    token: str
    child: Child

    def api(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


@pytest.fixture
def names(pg_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Three learners (roles and schemas) for this test, dropped afterwards with their Redis keys."""
    prefix = f"wst{uuid.uuid4().hex[:6]}_"
    created = learners.create(pg_url, learners.learner_names(LEARNERS, prefix), tmp_path / "run")
    yield [x.name for x in created]
    learners.drop(pg_url, [x.name for x in created], tmp_path / "run", os.environ.get("PERFLAB_TEST_REDIS_URL"))


@pytest.fixture
def hub(pg_url: str, names: list[str], tmp_path: Path) -> Iterator[Hub]:
    """The hub as ``python3 tasks.py workshop start`` runs it, on a free port of 127.0.0.1."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "PERFLAB_WORKSHOP_PASSWORD": uuid.uuid4().hex, "PERFLAB_WORKSHOP_API_TOKEN": token,
           "PERFLAB_SCALE": SCALE, "PYTHONPATH": str(ROOT)}
    redis_url = os.environ.get("PERFLAB_TEST_REDIS_URL")
    argv = [sys.executable, "-m", "workshop", "start", "--pg", pg_url, "--run", str(tmp_path / "run"),
            "--port", str(port), *(["--redis", redis_url] if redis_url else [])]
    child = start_process(argv, name="jupyterhub", env=env, cwd=ROOT, timeout=START_TIMEOUT,
                          ready=lambda: port_open(port) and _hub_answers(f"http://127.0.0.1:{port}"))
    try:
        yield Hub(f"http://127.0.0.1:{port}", token, child)
    finally:
        if child.alive:
            child.stop(grace=30)


def _hub_answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/hub/api/", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


# A chapter's first steps, as a learner runs them: connect (the first build of their dataset), count, cache key.
CHAPTER = """
import json, perflab, sqlalchemy as sa
from perflab.cache import namespace
engine = perflab.connect()
with engine.connect() as conn:
    who = conn.execute(sa.text("SELECT current_user, current_schema()")).one()
    owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                                 "AND tablename = 'orders'")).scalar_one()
print(json.dumps({"user": who[0], "schema": who[1], "owner": owner, "counts": perflab.counts(engine),
                  "prefix": namespace()}))
"""

# Then a look at another learner's table: PostgreSQL must refuse.
PEEK = """
try:
    with engine.connect() as conn:
        conn.execute(sa.text('SELECT count(*) FROM "{other}".orders')).scalar_one()
    print(json.dumps({{"peek": "read"}}))
except sa.exc.DBAPIError as exc:
    print(json.dumps({{"peek": exc.orig.sqlstate, "message": str(exc.orig).splitlines()[0]}}))
"""


def run_in_kernel(hub: Hub, user: str, code: list[str]) -> list[dict[str, Any]]:
    """Start a kernel on ``user``'s server through the proxy, run each piece of ``code``, return the JSON it printed."""
    import websocket

    base = f"/user/{user}/api/kernels"
    status, kernel = hub.api("POST", base, b"{}")
    assert status == 201, (status, kernel)
    ws = websocket.create_connection(f"ws://{hub.base.removeprefix('http://')}{base}/{kernel['id']}/channels",
                                     header=[f"Authorization: token {hub.token}"], timeout=CELL_TIMEOUT)
    results: list[dict[str, Any]] = []
    try:
        for source in code:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": source, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            out, deadline = "", time.monotonic() + CELL_TIMEOUT
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream" and content["name"] == "stdout":
                    out += content["text"]
                elif kind == "error":
                    pytest.fail(f"{user}: {content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        ws.close()
    return results


@pytest.mark.postgres
def test_three_learners_run_a_chapter_at_once_each_in_their_own_schema(
        hub: Hub, names: list[str], tmp_path: Path) -> None:
    for user in names:  # the hub starts each server (the spawn itself takes the hub a few seconds each)
        status, body = hub.api("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202), (status, body)
    deadline = time.monotonic() + START_TIMEOUT
    while not all(hub.api("GET", f"/hub/api/users/{u}")[1]["servers"].get("", {}).get("ready") for u in names):
        assert time.monotonic() < deadline, f"servers not ready in {START_TIMEOUT} s: {hub.child.log_tail(10)}"
        time.sleep(0.5)

    others = {user: names[(i + 1) % len(names)] for i, user in enumerate(names)}
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:  # three first builds on one server at once
        futures = {u: pool.submit(run_in_kernel, hub, u, [CHAPTER, PEEK.format(other=others[u])]) for u in names}
        results = {u: f.result(timeout=3 * CELL_TIMEOUT) for u, f in futures.items()}

    tree = psutil.Process(hub.child.pid).children(recursive=True) + [psutil.Process(hub.child.pid)]
    assert sum("ipykernel" in " ".join(p.cmdline()) for p in tree) == len(names), "one kernel per learner"
    for user, (chapter, peek) in results.items():
        assert (chapter["user"], chapter["schema"], chapter["owner"]) == (user, user, user)
        assert chapter["counts"]["orders"] > 0 and chapter["counts"] == results[names[0]][0]["counts"]
        assert chapter["prefix"] == f"perflab:{user}:"
        assert peek["peek"] == "42501", peek  # insufficient_privilege, from PostgreSQL itself
        assert f"permission denied for schema {others[user]}" in peek["message"]
        home = tmp_path / "run" / "homes" / user  # the chapters were copied into each home on the first spawn
        assert (home / "00-welcome.ipynb").read_bytes() == (ROOT / "notebooks" / "00-welcome.ipynb").read_bytes()

    hub.child.stop(grace=30)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [f"{p.pid} {' '.join(p.cmdline()[:3])}" for p in tree if _alive(p)]
    assert not left, f"still running after the hub stopped: {left}"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
