"""tasks.py: its command list, and the course's JupyterLab started for real (chapter 00 URL, .venv terminals)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tasks

START_TIMEOUT = 120  # seconds for JupyterLab to answer on a busy 2-core machine; a bound, not a measurement


def test_no_argument_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    tasks.main([])
    out = capsys.readouterr().out
    for name, usage, _ in tasks.COMMANDS:
        assert f"python3 tasks.py {name} {usage}".rstrip() in out


def test_every_listed_command_parses_with_the_usage_it_shows() -> None:
    examples = {
        "course": ["--port", "8890", "--no-browser"], "test": [], "pythons": ["python3.10", "python3.13"],
        "notebooks": ["notebooks/00-welcome.ipynb"], "nav": ["--check"], "check": [], "bench": ["queries"],
        "workshop": ["setup", "--users", "3"],
    }
    assert sorted(examples) == sorted(name for name, _, _ in tasks.COMMANDS) == sorted(tasks.ACTIONS)
    for name, args in examples.items():
        assert tasks.parser().parse_args([name, *args]).command == name


def test_an_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        tasks.main(["serve"])
    assert exit_.value.code == 2 and "invalid choice: 'serve'" in capsys.readouterr().err


def test_the_course_server_puts_the_venv_first_and_opens_chapter_00(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    argv, env = tasks.course_server(venv, port=8890, browser=False, rcfile_dir=tmp_path)
    assert env["PATH"].split(os.pathsep)[0] == str(tasks.bin_dir(venv)) and env["VIRTUAL_ENV"] == str(venv)
    assert "--LabApp.default_url=/lab/tree/00-welcome.ipynb" in argv
    assert f"--ServerApp.root_dir={tasks.NOTEBOOKS}" in argv
    assert "--no-browser" in argv and "--port=8890" in argv


@dataclass
class Lab:
    base: str
    token: str
    log: Path

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, method=method, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def course_lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab started the way ``tasks.py course`` starts it, with this test's venv, on a free local port."""
    venv = Path(sys.prefix)
    argv, env = tasks.course_server(venv, port=free_port(), browser=False, rcfile_dir=tmp_path)
    token = secrets.token_hex(16)
    argv += ["--ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # no server files left in the user's runtime dir
    port = int(next(a for a in argv if a.startswith("--port=")).split("=")[1])
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        server = subprocess.Popen(argv, cwd=tasks.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, f"JupyterLab exited with {server.returncode}:\n{log.read_text()}"
            try:
                if lab.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"JupyterLab did not answer in {START_TIMEOUT} s:\n{log.read_text()}"
            time.sleep(0.5)
        yield lab
    finally:
        server.send_signal(signal.SIGTERM)  # Jupyter shuts its kernels and terminals down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def terminal_run(lab: Lab, command: str) -> str:
    """Open a JupyterLab terminal through the REST API, run ``command`` in it over the websocket, return its output."""
    import websocket  # websocket-client, a dependency of jupyter_server

    status, body = lab.request("POST", "/api/terminals")
    assert status == 200, body
    name = json.loads(body)["name"]
    ws = websocket.create_connection(f"ws://{lab.base.removeprefix('http://')}/terminals/websocket/{name}"
                                     f"?token={lab.token}", timeout=60)
    try:
        # The shell echoes what it is sent; "$((6*7))" comes back as 42 only in the output, after the command ran.
        ws.send(json.dumps(["stdin", f"echo BEGIN-$((6*7)); {command}; echo END-$((6*7))\r"]))
        seen = ""
        deadline = time.monotonic() + 60
        while "END-42" not in seen:
            assert time.monotonic() < deadline, f"no answer from the terminal; it showed:\n{seen}"
            kind, *payload = json.loads(ws.recv())
            if kind == "stdout":
                seen += payload[0]
        return seen.split("BEGIN-42", 1)[1].split("END-42", 1)[0]
    finally:
        ws.close()
        lab.request("DELETE", f"/api/terminals/{name}")


def test_the_course_opens_chapter_00_and_its_terminals_find_the_venv_first(course_lab: Lab) -> None:
    printed = re.findall(r"http://127\.0\.0\.1:\d+(/\S*)", course_lab.log.read_text())
    assert "/lab/tree/00-welcome.ipynb?token=..." in printed, printed  # Jupyter masks a token it did not generate
    assert course_lab.request("GET", "/lab/tree/00-welcome.ipynb")[0] == 200
    assert course_lab.request("GET", "/api/contents/00-welcome.ipynb?content=0")[0] == 200  # root is notebooks/

    bindir = tasks.bin_dir(Path(sys.prefix))
    found = terminal_run(course_lab, "command -v perflab; command -v python; echo VIRTUAL_ENV=$VIRTUAL_ENV")
    lines = [line.strip() for line in found.replace("\r", "").splitlines() if line.strip()]
    assert lines[:3] == [str(bindir / "perflab"), str(bindir / "python"), f"VIRTUAL_ENV={sys.prefix}"], found
