"""Serve an ASGI app with uvicorn on 127.0.0.1 and a free port, and stop it when done.

>>> with serve("perflab.servers:hello_app") as server:    # a process of its own
...     import urllib.request
...     urllib.request.urlopen(server.url + "/").read()
b'hello'

Two ways to serve:

- an **import string** (``"package.module:app"``): uvicorn runs in a child process of its own, as it
  would in production, started and stopped by :mod:`perflab.processes` (it cannot outlive the
  kernel). The app module must be importable by that process: a module of perflab, or a ``.py``
  file in the notebook's folder.
- an **app object** (a function defined in the notebook): uvicorn runs in a thread of this
  process, so it shares the interpreter (and the GIL) with the notebook. Use it for exercises that
  serve the learner's own handler; measure production-like figures with an import string.

Servers bind ``127.0.0.1`` only: nothing outside this machine can reach them. Serving an import
string again stops the server this process started for it before (a cell run twice leaves one
server, not two); pass ``replace=False`` to run several copies.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

from perflab.errors import PerflabError
from perflab.processes import Child, start_process

HOST = "127.0.0.1"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

#: The last server :func:`serve` started for each import string in this process.
_SERVED: dict[str, Server] = {}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    >>> 1024 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    """True if something accepts TCP connections on ``host:port``.

    >>> port_open(free_port())
    False
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _check_port(port: int | None) -> int:
    if port is None:
        return free_port()
    if not isinstance(port, int) or not 1024 <= port <= 65535:
        raise PerflabError(f"port must be a whole number from 1024 to 65535, got {port!r} (or None: a free one)")
    if port_open(port):
        raise PerflabError(f"port {port} on {HOST} is in use — stop what runs there, or pass port=None for a free one")
    return port


class Server:
    """A running uvicorn server: its ``url``, ``port``, and ``stop()``; a context manager."""

    def __init__(self, app: str, port: int, child: Child | None = None,
                 thread: tuple[Any, threading.Thread] | None = None) -> None:
        self.app = app
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self._child = child
        self._thread = thread

    @property
    def pid(self) -> int | None:
        """The server's process id (None when it runs in a thread of this process)."""
        return self._child.pid if self._child else None

    @property
    def alive(self) -> bool:
        """True while the server runs."""
        if self._child is not None:
            return self._child.alive
        return self._thread is not None and self._thread[1].is_alive()

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        if self._child is not None:
            self._child.stop()
        if self._thread is not None:
            server, thread = self._thread
            server.should_exit = True
            thread.join(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"pid {self.pid}" if self.pid else "in this process"
        return f"<{self.app} at {self.url} ({where}, {'running' if self.alive else 'stopped'})>"


def serve(app: str | ASGIApp, *, port: int | None = None, workers: int = 1, timeout: float = 20.0,
          env: dict[str, str] | None = None, replace: bool = True) -> Server:
    """Serve ``app`` with uvicorn on 127.0.0.1; returns when it accepts connections.

    >>> server = serve(hello_app)           # an app object: a thread of this process
    >>> server.alive
    True
    >>> server.stop(); server.alive
    False

    Parameters:
        app: ``"module:attribute"`` (served by a child process) or an ASGI app object (a thread).
        port: the TCP port (default: a free one); one in use gives a one-line error.
        workers: uvicorn worker processes (import strings only).
        timeout: seconds to wait for the server to accept connections.
        env: environment of the child process (default: this process's).
        replace: stop the server this process started earlier for the same import string (default True).
    """
    if isinstance(app, str) and replace and app in _SERVED:
        _SERVED.pop(app).stop()
    port = _check_port(port)
    if isinstance(app, str):
        if ":" not in app:
            raise PerflabError(f"app must be 'module:attribute' or an ASGI app, got {app!r}")
        cmd = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--workers", str(workers)]
        child = start_process(cmd, name=f"uvicorn {app}", env=env, ready=lambda: port_open(port), timeout=timeout)
        server = _SERVED[app] = Server(app, port, child=child)
        return server
    return _serve_in_thread(app, port, timeout)


def _serve_in_thread(app: ASGIApp, port: int, timeout: float) -> Server:
    import uvicorn

    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise PerflabError(f"uvicorn could not start on {HOST}:{port} (is the port free?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise PerflabError(f"uvicorn did not start on {HOST}:{port} within {timeout:g} s")
        time.sleep(0.01)
    name = getattr(app, "__name__", type(app).__name__)
    return Server(name, port, thread=(server, thread))


async def hello_app(scope: Scope, receive: Callable[[], Awaitable[Any]],
                    send: Callable[[Any], Awaitable[None]]) -> None:
    """The smallest ASGI app: answers ``hello`` to every request (for examples and tests)."""
    if scope["type"] != "http":
        return
    with contextlib.suppress(Exception):
        await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})
