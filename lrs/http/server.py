"""The HTTP/1.1 protocol ``lrs serve`` gives uvicorn: uvicorn's own, with one send per response.

uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two
writes, so two system calls and two TCP segments per response, and a client
that reads the head and the body in two wake-ups. Here the writes of one turn
of the event loop are joined and go out together at the end of that turn, which
for every response that is not streamed is exactly one send.
"""

from __future__ import annotations

import asyncio
import functools
import time
from email.utils import formatdate
from typing import Any

import orjson

from lrs.http.middleware import CACHE_CONTROL, NO_STORE, SECURITY_HEADERS
from lrs.xapi import versions

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools: its own default stays
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

# What ``lrs serve`` passes to uvicorn as ``http``.
PROTOCOL = "lrs.http.server:HttpProtocol" if HttpToolsProtocol is not None else "auto"


class CoalescingTransport:
    """A transport whose writes of one event-loop turn reach the socket as one write.

    Everything but ``write``, ``close`` and ``write_eof`` goes to the wrapped transport.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class DatedHeaders(list):
    """uvicorn's default headers for one response, with the Date read when the response starts.

    uvicorn refreshes its Date header once a second on its own schedule, and a request keeps the one
    of its start: the Date of a GET could be a second behind the Last-Modified of a statement stored
    just before it (RFC 9110 §8.8.2.1: an origin server MUST NOT send a Last-Modified later than its
    Date). uvicorn adds the application's headers to these (``default_headers + headers``) when the
    response starts; that is when this takes the time.
    """

    def __add__(self, other: Any) -> list:  # type: ignore[override]
        now = http_date(int(time.time()))
        return [(name, now) if name == b"date" else (name, value) for name, value in self] + list(other)


@functools.lru_cache(maxsize=4)
def http_date(second: int) -> bytes:
    return formatdate(second, usegmt=True).encode("ascii")


if HttpToolsProtocol is not None:

    class HttpProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol writing through a ``CoalescingTransport``, its Date current
        (``DatedHeaders``)."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

        def on_headers_complete(self) -> None:
            before = self.cycle
            super().on_headers_complete()
            if self.cycle is not None and self.cycle is not before:  # (not for an upgrade)
                self.cycle.default_headers = DatedHeaders(self.cycle.default_headers)

        def send_400_response(self, msg: str) -> None:
            """A request the parser refuses (malformed, or a request line or headers too long: a query
            string past about 64 KB) gets a JSON body as every other refusal does, not plain text."""
            body = orjson.dumps({"error": "bad_request", "message": (
                "the request could not be read as HTTP/1.1: it is malformed, or its request line or headers"
                " are too long (a query string of at most about 64 KB)")})
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in (*self.server_state.default_headers, (CACHE_CONTROL, NO_STORE), *SECURITY_HEADERS):
                content.extend([name, b": ", value, b"\r\n"])
            content.extend([
                b"content-type: application/json\r\n",
                b"x-experience-api-version: " + versions.UNDECLARED.encode("ascii") + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n", body,
            ])
            self.transport.write(b"".join(content))
            self.transport.close()
