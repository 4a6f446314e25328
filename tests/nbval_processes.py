"""A pytest plugin for the nbval runs: a chapter must leave no process running once its kernel is gone.

Load it next to nbval (``tasks.py`` does, for every notebook run)::

    python -m pytest -p tests.nbval_processes --nbval-lax --nbval-current-env notebooks/04-async-background.ipynb

Servers and workers a chapter starts run in a session of their own (:mod:`perflab.processes`), so once the
kernel has died they are no longer its descendants. The plugin finds them two ways:

- **a marker in the environment**: before a notebook's kernel starts, ``PERFLAB_NOTEBOOK_RUN`` is set to a
  token of that notebook; the kernel inherits it and so does everything it starts (uvicorn, the Huey
  worker, their own workers), in whatever session;
- **descendants**: after the last cell, before nbval stops the kernel, the runner's descendants are noted
  (a process started with an environment of its own has no marker, but is the kernel's descendant while
  the kernel lives).

After the notebook's last cell, when nbval has shut its kernel down, the plugin waits up to
``--nbval-processes-grace`` seconds (default 10) for those processes to exit; any still running fail
that last cell's teardown with one line each — the chapter, the pid and the command line — and are then
killed, so the next chapter starts clean.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

#: The environment variable that marks every process started while a notebook runs.
MARKER = "PERFLAB_NOTEBOOK_RUN"
DEFAULT_GRACE = 10.0  # seconds: perflab.processes gives a child 5 s after SIGTERM before SIGKILL


@dataclass
class NotebookRun:
    """One notebook being validated: its marker token, when it started, and the descendants seen."""

    path: Path
    token: str
    started: float = field(default_factory=time.time)
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def note_descendants(self) -> None:
        """Remember the runner's descendants (the kernel and what it started) that are alive right now."""
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process().children(recursive=True):
                self.seen.setdefault(proc.pid, proc)

    def left_running(self) -> list[psutil.Process]:
        """Processes of this run still running: marked with its token, or seen as descendants."""
        found = {pid: proc for pid, proc in self.seen.items() if alive(proc)}
        uid = os.getuid()
        for proc in psutil.process_iter(["create_time", "uids"]):
            try:
                if (proc.pid in found or proc.pid == os.getpid() or proc.info["uids"] is None
                        or proc.info["uids"].real != uid or proc.info["create_time"] < self.started - 1):
                    continue
                if proc.environ().get(MARKER) == self.token and alive(proc):
                    found[proc.pid] = proc
            except psutil.Error:  # exited meanwhile, a zombie, or not ours to read
                continue
        return sorted(found.values(), key=lambda p: p.pid)


def alive(proc: psutil.Process) -> bool:
    """True if ``proc`` (the same process, not a reused pid) still runs; a zombie has exited."""
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def describe(proc: psutil.Process) -> str:
    """``pid N: command line`` for the failure message."""
    try:
        cmdline = shlex.join(proc.cmdline()) or proc.name()
    except psutil.Error:
        cmdline = "(exited)"
    return f"pid {proc.pid}: {cmdline}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--nbval-processes-grace", type=float, default=DEFAULT_GRACE, metavar="SECONDS",
                     help="seconds a notebook's processes get to exit after its kernel stops (default: %(default)s)")


_current: NotebookRun | None = None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    """Before a notebook's first cell (and so before nbval starts its kernel): mark the environment."""
    global _current
    if item.path.suffix == ".ipynb" and (_current is None or _current.path != item.path):
        _current = NotebookRun(item.path, f"{os.getpid()}:{time.time_ns()}:{item.path.name}")
        os.environ[MARKER] = _current.token
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """After a notebook's last cell and nbval's kernel shutdown: fail if any of its processes still runs."""
    global _current
    run = _current
    if run is None or run.path != item.path or (nextitem is not None and nextitem.path == item.path):
        return (yield)
    run.note_descendants()  # the kernel still runs: what it started is still its descendant
    result = yield  # nbval stops the kernel here (``nextitem`` is of another notebook, or None)
    _current = None
    os.environ.pop(MARKER, None)
    deadline = time.monotonic() + float(item.config.getoption("nbval_processes_grace"))
    left = run.left_running()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [proc for proc in left if alive(proc)]
    if not left:
        return result
    lines = "\n".join(f"  {describe(proc)}" for proc in left)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    pytest.fail(f"{run.path.name} left {len(left)} process(es) running after its kernel stopped "
                f"(now killed):\n{lines}", pytrace=False)
