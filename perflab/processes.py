"""Child processes the course starts (a server, a queue worker, a load generator), and stops for sure.

>>> import sys
>>> with start_process([sys.executable, "-c", "import time; time.sleep(30)"], name="sleeper") as child:
...     child.alive
True
>>> child.alive, child in running()
(False, False)

Every process started here:

- runs in a session of its own, so stopping it stops its children too (a worker's pool, a
  server's reloader);
- is told by the kernel to die with its parent (Linux ``PR_SET_PDEATHSIG``): a kernel that is
  killed, restarted or crashes takes its servers with it instead of leaving them on a port;
- is stopped when the ``with`` block ends, by :meth:`Child.stop`, by :func:`stop_all`, and at
  interpreter exit (``atexit``) — SIGTERM first, SIGKILL after ``grace`` seconds;
- writes its output to a log file, whose last lines make the one-line error when it fails to start.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from perflab.errors import PerflabError

#: Seconds a child gets to exit after SIGTERM before it is killed.
DEFAULT_GRACE = 5.0

_RUNNING: set[Child] = set()
_LOCK = threading.Lock()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Ask Linux to send SIGTERM to this process when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


class Child:
    """A process started by :func:`start_process`: its ``pid``, whether it is ``alive``, its log, ``stop()``."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        """The last ``lines`` lines the process wrote (stdout and stderr together)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = DEFAULT_GRACE) -> int | None:
        """Stop the process and its children (SIGTERM, then SIGKILL after ``grace`` s); returns its exit code."""
        with _LOCK:
            _RUNNING.discard(self)
        if self.alive:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(timeout=grace)
        self._signal(signal.SIGKILL, group_only=True)  # anything of its group that outlived it
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        return self.popen.returncode

    def _signal(self, sig: signal.Signals, group_only: bool = False) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)  # its own session: the group id is its pid
        if not group_only:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.popen.returncode}"
        return f"<{self.name} pid {self.pid}: {state}>"


def start_process(
    cmd: Sequence[str],
    *,
    name: str,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    ready: Callable[[], bool] | None = None,
    timeout: float = 15.0,
    poll: float = 0.02,
) -> Child:
    """Start ``cmd`` as a child process that cannot outlive this one; wait until ``ready()`` is true.

    >>> import sys
    >>> child = start_process([sys.executable, "-c", "print('hello')"], name="greeter")
    >>> _ = child.popen.wait(5); child.log_tail()
    'hello'
    >>> _ = child.stop()

    A child that exits before it is ready, or is not ready within ``timeout`` seconds, is stopped
    and raises a one-line :class:`PerflabError` with the last line it wrote.

    Parameters:
        cmd: the program and its arguments.
        name: what to call it in messages ("uvicorn", "huey worker").
        env: its environment (default: this process's).
        cwd: its working folder.
        ready: called every ``poll`` seconds until it returns True (e.g. "the port accepts
            connections"); None: don't wait.
        timeout: seconds to wait for ``ready``.
        poll: seconds between two calls of ``ready``.
    """
    fd, log_name = tempfile.mkstemp(prefix=f"perflab-{name.replace(' ', '-')}-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "wb") as log:
        try:
            popen = subprocess.Popen(  # noqa: S603 - the course's own commands
                list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            log_path.unlink(missing_ok=True)
            raise PerflabError(f"could not start {name}: {exc.strerror or exc} ({cmd[0]})") from None
    child = Child(name, popen, log_path)
    with _LOCK:
        _RUNNING.add(child)
    if ready is None:
        return child
    deadline = time.monotonic() + timeout
    while True:
        if not child.alive:
            last = child.log_tail(1) or "no output"
            code = child.popen.returncode
            child.stop()
            raise PerflabError(f"{name} exited with code {code} before it was ready: {last}")
        if ready():
            return child
        if time.monotonic() > deadline:
            last = child.log_tail(1)
            child.stop()
            detail = f"; last line: {last}" if last else ""
            raise PerflabError(f"{name} was not ready within {timeout:g} s{detail}")
        time.sleep(poll)


def running() -> list[Child]:
    """The children started here that have not been stopped yet.

    >>> isinstance(running(), list)
    True
    """
    with _LOCK:
        return [c for c in _RUNNING if c.alive]


def stop_all() -> None:
    """Stop every child started here (runs at interpreter exit too).

    >>> stop_all()
    """
    with _LOCK:
        children = list(_RUNNING)
    for child in children:
        child.stop()


atexit.register(stop_all)
