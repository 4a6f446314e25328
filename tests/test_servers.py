"""uvicorn on 127.0.0.1, for real: served as a child process or in a thread, stopped for sure."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from perflab.errors import PerflabError
from perflab.processes import running
from perflab.servers import free_port, hello_app, port_open, serve


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def test_an_import_string_is_served_by_a_process_of_its_own_and_stopped() -> None:
    with serve("perflab.servers:hello_app") as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert get(server.url + "/anything") == b"hello"
        assert server.pid is not None and any(c.pid == server.pid for c in running())
    assert not server.alive and not port_open(server.port)
    assert all(c.pid != server.pid for c in running())


def test_an_app_object_is_served_in_a_thread() -> None:
    server = serve(hello_app)
    try:
        assert server.pid is None and get(server.url) == b"hello"
    finally:
        server.stop()
    assert not server.alive and not port_open(server.port)


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PerflabError, match=rf"^port {port} on 127.0.0.1 is in use — .*port=None"):
            serve(hello_app, port=port)


@pytest.mark.parametrize("port", [80, 70000, "8000"])
def test_a_bad_port_is_one_line(port: object) -> None:
    with pytest.raises(PerflabError, match="^port must be a whole number from 1024 to 65535"):
        serve(hello_app, port=port)  # type: ignore[arg-type]


def test_an_app_that_cannot_be_imported_names_the_reason() -> None:
    with pytest.raises(PerflabError, match=r"^uvicorn perflab.nowhere:app exited with code \d+ before it was ready: "):
        serve("perflab.nowhere:app")
    assert not [c for c in running() if "nowhere" in c.name]


def test_free_port_is_free() -> None:
    port = free_port()
    assert not port_open(port)


def test_serving_an_import_string_again_stops_the_first_server() -> None:
    first = serve("perflab.servers:hello_app")
    with serve("perflab.servers:hello_app") as second:  # the cell ran twice
        assert not first.alive and second.alive and get(second.url) == b"hello"
    with serve("perflab.servers:hello_app") as a, serve("perflab.servers:hello_app", replace=False) as b:
        assert a.alive and b.alive
    first.stop()
