"""Drive a running workshop hub from Python: start it, spawn learners' servers, run code in their kernels.

>>> hub = start_hub(pg_url, run_dir, redis_url=None, env={"PERFLAB_SCALE": "0.02"})  # doctest: +SKIP
>>> hub.spawn(["learner01"]); hub.run_code("learner01", ["print(1 + 1)"])             # doctest: +SKIP
['2']
>>> hub.child.stop(grace=30)                                                          # doctest: +SKIP

Used by tests/test_workshop.py and tools/workshop_sizing.py: the hub is started as
``python3 tasks.py workshop start`` starts it, on a free port of 127.0.0.1, with an admin token (the
"workshop-admin" service of workshop/jupyterhub_config.py). Kernels are reached through the hub's proxy
with jupyter_server's REST API and its websocket channel, as JupyterLab does.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.processes import Child, start_process
from perflab.servers import free_port, port_open

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "workshop" / "node_modules" / ".bin" / "configurable-http-proxy"
START_TIMEOUT = 90.0  # seconds for the hub, then for the servers, on a busy 2-core machine: a bound
CELL_TIMEOUT = 120.0


def missing() -> str | None:
    """Why a hub cannot start here (JupyterHub or the proxy not installed), or None."""
    import importlib.util

    if importlib.util.find_spec("jupyterhub") is None:
        return "JupyterHub is not installed — pip install -r workshop/requirements.txt (python3 tasks.py test does)"
    if not PROXY.exists():
        return "configurable-http-proxy is not installed — npm ci --prefix workshop (python3 tasks.py test does)"
    return None


@dataclass
class Hub:
    """A running hub: its URL, the admin token, and the process (``child.stop()`` stops everything)."""

    base: str
    token: str
    child: Child
    password: str = ""  # the day's password the hub was started with

    def login(self, name: str, password: str) -> bool:
        """Log in at the hub's login page as a browser does; True if the hub let ``name`` in."""
        import http.cookiejar

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
        opener.open(self.base + "/hub/login", timeout=30).read()
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf}).encode()
        try:
            with opener.open(self.base + "/hub/login", data=form, timeout=30):
                return False  # 200: the login page again, with its error
        except urllib.error.HTTPError as exc:
            return exc.code == 302 and "login" not in (exc.headers.get("Location") or "")

    def api(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        """Call the hub (``/hub/api/...``) or a learner's server (``/user/NAME/api/...``) with the admin token."""
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def spawn(self, names: list[str], timeout: float = START_TIMEOUT) -> float:
        """Start each learner's server and wait until all are ready; return the seconds it took."""
        import concurrent.futures

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:  # all at once, as a class logs in
            answers = list(pool.map(lambda name: self.api("POST", f"/hub/api/users/{name}/server"), names))
        for name, (status, body) in zip(names, answers):
            if status not in (201, 202):
                raise RuntimeError(f"the hub did not start {name}'s server: {status} {body}")
        deadline = time.monotonic() + timeout
        while not all(self.api("GET", f"/hub/api/users/{n}")[1]["servers"].get("", {}).get("ready") for n in names):
            if time.monotonic() > deadline:
                raise RuntimeError(f"servers not ready in {timeout:g} s: {self.child.log_tail(10)}")
            time.sleep(0.5)
        return time.perf_counter() - started

    def run_code(self, user: str, code: list[str], timeout: float = CELL_TIMEOUT, keep: bool = False) -> list[str]:
        """Start a kernel on ``user``'s server, run each piece of ``code`` in it, return what each printed.

        An error in the kernel raises RuntimeError with its name and value. The kernel is shut down after,
        unless ``keep`` (then it lives until its server stops).
        """
        import websocket

        base = f"/user/{user}/api/kernels"
        status, kernel = self.api("POST", base, b"{}")
        if status != 201:
            raise RuntimeError(f"no kernel for {user}: {status} {kernel}")
        ws = websocket.create_connection(f"ws://{self.base.removeprefix('http://')}{base}/{kernel['id']}/channels",
                                         header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            return [self._execute(ws, user, source, timeout) for source in code]
        finally:
            ws.close()
            if not keep:
                self.api("DELETE", f"{base}/{kernel['id']}")

    @staticmethod
    def _execute(ws: Any, user: str, source: str, timeout: float) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": source, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, deadline = "", time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out += content["text"]
            elif kind == "error":
                raise RuntimeError(f"{user}: {content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return out
        raise RuntimeError(f"{user}: no answer from the kernel in {timeout:g} s")


def start_hub(pg_url: str, run_dir: Path, *, redis_url: str | None = None, env: dict[str, str] | None = None,
              timeout: float = START_TIMEOUT) -> Hub:
    """Start the hub for the learners recorded in ``run_dir`` (workshop/learners.py), as tasks.py does."""
    port, token, password = free_port(), uuid.uuid4().hex, uuid.uuid4().hex
    child_env = {**os.environ, "PERFLAB_WORKSHOP_PASSWORD": password, "PERFLAB_WORKSHOP_API_TOKEN": token,
                 "PYTHONPATH": str(ROOT), **(env or {})}
    argv = [sys.executable, "-m", "workshop", "start", "--pg", pg_url, "--run", str(run_dir), "--port", str(port),
            *(["--redis", redis_url] if redis_url else [])]
    base = f"http://127.0.0.1:{port}"
    child = start_process(argv, name="jupyterhub", env=child_env, cwd=ROOT, timeout=timeout,
                          ready=lambda: port_open(port) and _answers(base))
    return Hub(base, token, child, password)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/hub/api/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
