"""The chapter's API served for real by uvicorn, a real httpx client, bytes on the wire counted."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perflab.compression_app import THRESHOLD
from perflab.processes import running
from perflab.servers import Server, port_open, serve
from perflab.wire import fetch, head_bytes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The app in a uvicorn process of its own, reading a small SQLite dataset built for it."""
    from perflab import dataset
    from perflab.db import make_engine

    path = Path(tmp_path_factory.mktemp("app")) / "perflab.sqlite"
    dataset.build(make_engine(f"sqlite:///{path}"), 0.02, 17, progress=False)
    env = {**os.environ, "PERFLAB_DATABASE_URL": f"sqlite:///{path}", "PERFLAB_SCALE": "0.02", "PERFLAB_SEED": "17"}
    with serve("perflab.compression_app:app", env=env) as server, httpx.Client(base_url=server.url) as c:
        c.server = server  # type: ignore[attr-defined]
        yield c
    assert not server.alive and not port_open(server.port)


def test_gzip_when_asked_and_the_same_json_either_way(client: httpx.Client) -> None:
    plain = fetch(client, "/orders?n=200", encoding="identity")
    packed = fetch(client, "/orders?n=200", encoding="gzip")
    assert (plain.content_encoding, packed.content_encoding) == ("identity", "gzip")
    assert plain.decoded_bytes == packed.decoded_bytes == plain.body_bytes
    assert packed.body_bytes * 4 < plain.body_bytes  # what crossed the wire is the compressed body
    raw = client.get("/orders?n=200", headers={"Accept-Encoding": "gzip"})
    assert int(raw.headers["content-length"]) == packed.body_bytes
    assert len(json.loads(raw.content)) == 200


def test_the_body_on_the_wire_is_real_gzip(client: httpx.Client) -> None:
    with client.stream("GET", "/orders?n=50", headers={"Accept-Encoding": "gzip"}) as response:
        wire = b"".join(response.iter_raw())
    assert wire[:2] == b"\x1f\x8b" and len(json.loads(gzip.decompress(wire))) == 50


def test_the_threshold_leaves_small_responses_alone(client: httpx.Client) -> None:
    small = fetch(client, "/statuses?n=5", encoding="gzip")
    assert small.decoded_bytes < THRESHOLD and small.content_encoding == "identity"
    assert fetch(client, "/statuses?n=50", encoding="gzip").content_encoding == "gzip"  # over 1 KB
    forced = fetch(client, "/always/statuses?n=1", encoding="gzip")
    plain = fetch(client, "/always/statuses?n=1", encoding="identity")
    assert forced.content_encoding == "gzip" and forced.wire_bytes > plain.wire_bytes  # a tiny body grows


def test_random_and_precompressed_bytes_grow(client: httpx.Client) -> None:
    for path in ("/random?size=20000", "/precompressed?n=100"):
        plain, packed = (fetch(client, path, encoding=e) for e in ("identity", "gzip"))
        assert packed.content_encoding == "gzip" and packed.body_bytes > plain.body_bytes


def test_bad_parameters_are_a_400_that_says_why(client: httpx.Client) -> None:
    for url, message in (("/orders?n=0", "n must be a whole number from 1 to 20000, got '0'"),
                         ("/random?size=lots", "size must be a whole number from 0 to 20000000, got 'lots'")):
        response = client.get(url)
        assert (response.status_code, response.text) == (400, message)


def test_head_bytes_counts_the_status_line_and_headers() -> None:
    response = httpx.Response(200, headers=[("content-type", "a/b"), ("x", "12")])
    assert head_bytes(response) == len("HTTP/1.1 200 OK\r\ncontent-type: a/b\r\nx: 12\r\n\r\n")


def test_the_server_is_a_child_that_stops(client: httpx.Client) -> None:
    server: Server = client.server  # type: ignore[attr-defined]
    assert server.alive and any(c.pid == server.pid for c in running())
