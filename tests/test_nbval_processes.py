"""The nbval plugin tests/nbval_processes.py, on tiny real notebooks: a leak fails the run, a tidy chapter passes,
and a server started through perflab dies with a kernel that nbval kills after a failing cell.

Each test validates a notebook of two or three cells with nbval in a pytest of its own (a real kernel), as
``tasks.py`` validates the chapters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 180  # seconds for a kernel to start and run three cells on a busy 2-core machine; a bound

START_TWO = """\
import os, pathlib, subprocess, sys
# a daemon in a session of its own: the Python that starts it exits at once, so only the environment marker finds it
start = "import subprocess as s; print(s.Popen(['sleep', '60'], start_new_session=True, stdout=s.DEVNULL).pid)"
daemon = int(subprocess.run([sys.executable, "-c", start], stdout=subprocess.PIPE, text=True).stdout)
# a child with an environment of its own: no marker, found as the kernel's descendant
bare = subprocess.Popen(["sleep", "61"], start_new_session=True, env={"PATH": os.environ["PATH"]})
pathlib.Path("pids").write_text(f"{daemon} {bare.pid}")"""


def validate(tmp_path: Path, *cells: str, grace: float = 10.0) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """Run ``pytest --nbval-lax`` with the plugin on a notebook of ``cells``; its output and the pids it wrote."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "99-tiny.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PERFLAB_NOTEBOOK_RUN", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.nbval_processes", "--nbval-lax",
         "--nbval-current-env", "--nbval-processes-grace", str(grace), str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )
    pids_file = tmp_path / "pids"
    return result, [int(p) for p in pids_file.read_text().split()] if pids_file.exists() else []


def running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def kill(pids: list[int]) -> None:
    """Clean up after a failing plugin: the test must not leave the sleepers either."""
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_notebook_that_leaves_processes_fails_naming_each_and_they_are_killed(tmp_path: Path) -> None:
    result, pids = validate(tmp_path, START_TWO, "print('done, without stopping them')", grace=1.0)
    try:
        out = result.stdout
        assert result.returncode == 1, out
        assert len(pids) == 2
        assert "99-tiny.ipynb left 2 process(es) running after its kernel stopped" in out, out
        assert f"pid {pids[0]}: sleep 60" in out and f"pid {pids[1]}: sleep 61" in out, out
        assert "2 passed, 1 error in" in out, out  # the cells pass; the last one's teardown is the error
        assert not any(running(pid) for pid in pids)
    finally:
        kill(pids)


def test_a_notebook_that_stops_its_processes_passes(tmp_path: Path) -> None:
    stop = "import signal\nos.kill(daemon, signal.SIGTERM)\nbare.terminate(); bare.wait()"
    result, pids = validate(tmp_path, START_TWO, stop)
    try:
        assert result.returncode == 0, result.stdout
        assert "2 passed in" in result.stdout and "left" not in result.stdout, result.stdout
    finally:
        kill(pids)


def test_a_cell_failing_after_a_server_started_leaves_nothing_when_the_kernel_is_killed(tmp_path: Path) -> None:
    start = ("import pathlib\nfrom perflab.servers import serve\nserver = serve('perflab.servers:hello_app')\n"
             "pathlib.Path('pids').write_text(str(server.pid))")
    result, pids = validate(tmp_path, start, "raise RuntimeError('a cell fails after the server started')")
    try:
        out = result.stdout
        assert result.returncode == 1 and "1 failed, 1 passed in" in out, out  # the raising cell, and no leak error
        assert "a cell fails after the server started" in out and "left" not in out, out
        assert len(pids) == 1 and not running(pids[0])  # nbval killed the kernel; uvicorn died with it
    finally:
        kill(pids)
