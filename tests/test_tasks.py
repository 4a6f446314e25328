"""tasks.py: its command list, the pin sets and their check, and the course's JupyterLab started for real
(chapter 00 URL, .venv terminals)."""

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
        "pins": ["--check"], "site": ["--out", "build/site"], "browser": [], "workshop": ["setup", "--users", "3"],
    }
    assert sorted(examples) == sorted(name for name, _, _ in tasks.COMMANDS) == sorted(tasks.ACTIONS)
    for name, args in examples.items():
        assert tasks.parser().parse_args([name, *args]).command == name


def test_pins_upgrades_all_or_the_named_packages_and_bench_memory_takes_notebooks() -> None:
    assert tasks.parser().parse_args(["pins"]).upgrade is None
    assert tasks.parser().parse_args(["pins", "--upgrade"]).upgrade == []
    assert tasks.parser().parse_args(["pins", "--upgrade", "numpy", "ruff"]).upgrade == ["numpy", "ruff"]
    args = tasks.parser().parse_args(["bench", "memory", "notebooks/00-welcome.ipynb"])
    assert (args.what, args.notebooks) == ("memory", ["notebooks/00-welcome.ipynb"])


def requirements(path: Path) -> dict[str, str]:
    """A pin file's requirements (``name==version ; marker``) by their line, without comments."""
    return {line: line.split("==")[0] for line in tasks.pinned(path.read_text())}


def test_the_course_set_leaves_out_the_development_tools_and_the_development_set_keeps_its_versions() -> None:
    course, dev = requirements(tasks.PINS), requirements(tasks.DEV_PINS)
    for tool in ("ruff", "mypy", "nbval", "pandas-stubs"):  # not pytest: locust (chapter 11) requires it
        assert tool not in course.values() and tool in dev.values(), tool
    assert set(course) <= set(dev), "every course pin, marker included, is in the development set as it is"
    for path in (tasks.PINS, tasks.DEV_PINS):
        assert "python3 tasks.py pins" in path.read_text().splitlines()[1], f"{path.name} is generated, not edited"


def test_the_pins_are_resolved_for_every_supported_python_and_the_dev_set_is_held_to_the_course_set() -> None:
    (course, course_extras, none), (dev, dev_extras, held_to) = tasks.PIN_SETS
    assert tasks.ROOT / course == tasks.PINS and tasks.ROOT / dev == tasks.DEV_PINS
    assert none is None and held_to == course
    argv = tasks.compile_argv(Path("uv"), dev, dev_extras, held_to)
    assert argv[1:4] == ["pip", "compile", "pyproject.toml"] and "--universal" in argv
    assert argv[argv.index("--python-version") + 1] == tasks.OLDEST_PYTHON == "3.10"
    assert argv[argv.index("--constraint") + 1] == course and argv[argv.index("--output-file") + 1] == dev
    assert "--upgrade" in tasks.compile_argv(Path("uv"), course, course_extras, None, upgrade=[])
    upgrade_one = tasks.compile_argv(Path("uv"), course, course_extras, None, upgrade=["numpy"])
    assert upgrade_one[-2:] == ["--upgrade-package", "numpy"] and "--upgrade" not in upgrade_one


FAKE_UV = """#!{python}
# A stand-in for uv: leaves --output-file as it found it, or (PERFLAB_FAKE_UV=add) adds a pin to it.
import os, sys
out = sys.argv[sys.argv.index("--output-file") + 1]
if os.environ.get("PERFLAB_FAKE_UV") == "add":
    with open(out, "a") as f:
        f.write("locust==2.0\\n")
"""


@pytest.fixture
def fake_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with both pin files and a fake uv in it; returns the fake uv."""
    (tmp_path / "binder").mkdir()
    for name, _, _ in tasks.PIN_SETS:
        (tmp_path / name).write_text("# generated\n#    python3 tasks.py pins\nsix==1.17.0\n")
    uv = tmp_path / "uv"
    uv.write_text(FAKE_UV.format(python=sys.executable))
    uv.chmod(0o755)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    return uv


def test_the_pin_check_passes_when_the_lock_tool_gives_the_committed_files(fake_checkout: Path) -> None:
    assert tasks.check_pins(fake_checkout) and tasks.check_pins(fake_checkout, offline=True)


def test_the_pin_check_fails_when_the_lock_tool_gives_anything_else(
    fake_checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (fake_checkout.parent / "requirements-dev.txt").read_bytes()
    monkeypatch.setenv("PERFLAB_FAKE_UV", "add")
    assert not tasks.check_pins(fake_checkout)
    assert (fake_checkout.parent / "requirements-dev.txt").read_bytes() == before, "a check writes nothing"
    (fake_checkout.parent / "requirements-dev.txt").unlink()
    monkeypatch.delenv("PERFLAB_FAKE_UV")
    assert not tasks.check_pins(fake_checkout), "a missing pin file fails the check"


def test_a_venv_with_the_development_set_serves_the_course_but_not_the_other_way_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installs: list[tuple[str, ...]] = []
    monkeypatch.setattr(tasks, "run", lambda *args, **kw: installs.append(tuple(map(str, args))))
    venv = tmp_path / "venv"
    tasks.bin_dir(venv).mkdir(parents=True)
    (tasks.bin_dir(venv) / "python").touch()
    (venv / ".perflab-installed").write_text(tasks.pins_stamp(dev=True))
    tasks.setup(venv, dev=False)
    tasks.setup(venv, dev=True)
    assert installs == []
    (venv / ".perflab-installed").write_text(tasks.pins_stamp(dev=False))
    tasks.setup(venv, dev=False)
    assert installs == []
    tasks.setup(venv, dev=True)
    assert ("-r", str(tasks.DEV_PINS)) == installs[0][-2:]
    assert (venv / ".perflab-installed").read_text() == tasks.pins_stamp(dev=True)


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


def test_every_notebook_run_loads_the_leftover_process_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict and lax on SQLite and lax on PostgreSQL (`test`), lax on other Pythons (`pythons`)."""
    commands: list[list[str]] = []
    monkeypatch.setattr(tasks, "run", lambda *args, env=None: commands.append([str(a) for a in args]))
    monkeypatch.setattr(tasks, "setup", lambda *args, **kwargs: Path("bin"))
    monkeypatch.setattr(tasks, "pins", lambda args: None)
    monkeypatch.setattr(tasks, "setup_workshop", lambda bindir: None)
    monkeypatch.setattr(tasks, "python_version", lambda bindir: tasks.PINNED_PYTHON)
    monkeypatch.setenv("PERFLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/x")
    tasks.test(tasks.parser().parse_args(["test"]))
    tasks.validate_notebooks(Path("bin"), {}, strict=False, apart="3.10")
    nbval_runs = [c for c in commands if any(a.startswith("--nbval") for a in c)]
    assert [next(a for a in c if a in ("--nbval", "--nbval-lax")) for c in nbval_runs] == [
        "--nbval", "--nbval-lax", "--nbval-lax"]
    assert all("-p tests.nbval_processes" in " ".join(c) for c in nbval_runs), nbval_runs


def test_the_postgresql_run_of_the_chapters_uses_redis_when_tests_have_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PERFLAB_TEST_REDIS_URL set, the PostgreSQL nbval run gets PERFLAB_REDIS_URL (04's queue, 10's L2)."""
    envs: list[dict[str, str]] = []
    monkeypatch.setattr(tasks, "run", lambda *args, env=None: envs.append(dict(env or {})) if "--nbval-lax" in
                        [str(a) for a in args] else None)
    monkeypatch.setattr(tasks, "setup", lambda *args, **kwargs: Path("bin"))
    monkeypatch.setattr(tasks, "pins", lambda args: None)
    monkeypatch.setattr(tasks, "setup_workshop", lambda bindir: None)
    monkeypatch.setattr(tasks, "python_version", lambda bindir: tasks.PINNED_PYTHON)
    monkeypatch.setenv("PERFLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("PERFLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.delenv("PERFLAB_REDIS_URL", raising=False)
    tasks.test(tasks.parser().parse_args(["test"]))
    (pg_run,) = envs
    assert pg_run["PERFLAB_DATABASE_URL"].startswith("postgresql://")
    assert pg_run["PERFLAB_REDIS_URL"] == "redis://127.0.0.1:6379/3"


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
