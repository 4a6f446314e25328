"""Count the bytes an HTTP response took on the wire: its status line, its headers and its (encoded) body.

>>> from perflab.servers import serve, hello_app
>>> import httpx
>>> with serve(hello_app) as server, httpx.Client() as client:
...     w = fetch(client, server.url + "/", encoding="gzip")
>>> (w.body_bytes, w.decoded_bytes, w.content_encoding)
(5, 5, 'identity')

The figures are HTTP/1.1 bytes as the client received them (``num_bytes_downloaded`` for the body,
the raw header lines for the rest); TCP/IP adds some 40-60 bytes a packet on top, the same with or
without compression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class WireCount:
    """One response: bytes of head (status line and headers) and body as sent, body size once decoded."""

    url: str
    status: int
    content_encoding: str
    head_bytes: int
    body_bytes: int
    decoded_bytes: int

    @property
    def wire_bytes(self) -> int:
        """Head plus body, as they crossed the connection."""
        return self.head_bytes + self.body_bytes


def head_bytes(response: httpx.Response) -> int:
    """Bytes of the status line and headers of ``response`` (``HTTP/1.1 200 OK\\r\\n``, ``name: value\\r\\n``...).

    >>> import httpx
    >>> head_bytes(httpx.Response(200, headers={"a": "b"}))   # 17 + 6 + 2
    25
    """
    status = f"{response.http_version or 'HTTP/1.1'} {response.status_code} {response.reason_phrase}\r\n"
    return len(status.encode()) + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2


def fetch(client: httpx.Client, url: str, *, encoding: str = "identity") -> WireCount:
    """GET ``url`` asking for ``Accept-Encoding: encoding``; count what came over the wire.

    Parameters: ``client`` (an ``httpx.Client``), ``url``, ``encoding`` ("identity", "gzip", "br", ...).
    """
    response = client.get(url, headers={"Accept-Encoding": encoding})
    response.raise_for_status()
    decoded = len(response.content)
    return WireCount(url, response.status_code, response.headers.get("content-encoding", "identity"),
                     head_bytes(response), response.num_bytes_downloaded, decoded)
