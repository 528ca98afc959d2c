"""The HTTP protocol ``lrs serve`` runs (``lrs.http.server``): one send per response, nothing else changed."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Iterator

import pytest
import uvicorn

from lrs import cli
from lrs.app import create_app
from lrs.config import Settings
from lrs.http import server
from lrs.http.server import CoalescingTransport, HttpProtocol


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.extra = {"peername": ("127.0.0.1", 5)}

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)


def test_writes_of_one_event_loop_turn_reach_the_socket_as_one_write() -> None:
    async def scenario() -> FakeTransport:
        inner = FakeTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"")
        transport.write(b"body")
        assert inner.writes == [] and transport.get_write_buffer_size() == 7 + 23
        await asyncio.sleep(0)
        assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.write(b"next")  # a later turn: a write of its own
        await asyncio.sleep(0)
        return inner

    assert asyncio.run(scenario()).writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


def test_close_and_write_eof_send_what_is_pending_first_and_other_calls_pass_through() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        inner = FakeTransport()
        transport = CoalescingTransport(inner, loop)
        assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
        transport.write(b"last")
        transport.write_eof()
        assert inner.writes == [b"last", b"<eof>"]
        transport.write(b"bye")
        transport.close()
        assert inner.writes[-1] == b"bye" and inner.closed
        await asyncio.sleep(0)  # the flush scheduled for the closed transport writes nothing
        assert inner.writes == [b"last", b"<eof>", b"bye"]

    asyncio.run(scenario())


def test_lrs_serve_runs_uvicorn_with_this_protocol(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(cli.serve, "_tune_gc", lambda: None)
    monkeypatch.setenv("LRS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert cli.main(["serve", "--port", "0"]) == 0
    assert seen["http"] == server.PROTOCOL == "lrs.http.server:HttpProtocol"
    assert seen["ws"] == "none"  # the live fixture below serves as lrs serve does


# -- a real uvicorn server on a real socket ----------------------------------------------

class RecordingProtocol(HttpProtocol):
    """``HttpProtocol`` over a transport that records what reaches the socket, write by write."""

    socket_writes: list[bytes] = []

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        recorder = self

        class Recorder:
            def write(self, data: bytes) -> None:
                type(recorder).socket_writes.append(bytes(data))
                transport.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(transport, name)

        super().connection_made(Recorder())


@pytest.fixture
def live(live_server: tuple[int, uvicorn.Server]) -> int:
    return live_server[0]


@pytest.fixture
def live_server(tmp_path) -> Iterator[tuple[int, uvicorn.Server]]:
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'lrs.sqlite3'}",
                                 admin_key="admin", admin_secret="s3cret")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, http=RecordingProtocol,
                            ws="none", log_level="error", lifespan="on")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    RecordingProtocol.socket_writes = []
    try:
        yield port, instance
    finally:
        instance.should_exit = True
        thread.join(timeout=20)


def _exchange(port: int, request: bytes, responses: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        received = b""
        while received.count(b"HTTP/1.1 ") < responses or not _complete(received, responses):
            chunk = conn.recv(65536)
            assert chunk, f"connection closed after {received!r}"
            received += chunk
        return received


def _complete(received: bytes, responses: int) -> bool:
    """Whether ``received`` holds ``responses`` whole responses (each with a Content-Length)."""
    rest = received
    for _ in range(responses):
        head, sep, rest = rest.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if b"HEAD " not in head and len(rest) < length:  # (HEAD answers carry no body)
            return False
        rest = rest[length:]
    return True


def test_each_response_leaves_the_server_in_one_write_over_a_keep_alive_connection(live: int) -> None:
    about = b"GET /xapi/about HTTP/1.1\r\nHost: x\r\n\r\n"
    received = _exchange(live, about + about, responses=2)
    assert received.count(b"HTTP/1.1 200 OK") == 2
    writes = RecordingProtocol.socket_writes
    assert len(writes) == 2, writes  # head and body together, one write per response
    for write in writes:
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and body.startswith(b"{") and b'"version"' in body


def test_errors_and_bodiless_answers_are_framed_as_before(live: int) -> None:
    # A 400 (no version header), then a 401 with no credentials, on one connection.
    request = (b"GET /xapi/statements HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /xapi/statements HTTP/1.1\r\nHost: x\r\nX-Experience-API-Version: 1.0.3\r\n\r\n")
    received = _exchange(live, request, responses=2)
    first, second = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"400") and b"X-Experience-API-Version" in first
    assert second.startswith(b"401") and b"www-authenticate" in second.lower()
    assert len(RecordingProtocol.socket_writes) == 2


def test_a_request_the_parser_refuses_gets_a_json_400(live: int) -> None:
    # A slow-path hunt: a query string over about 64 KB got uvicorn's plain-text 400.
    too_long = b"GET /xapi/statements?verb=http://example.com/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    for request in (too_long, b"NOT HTTP AT ALL\r\n\r\n"):
        received = _exchange(live, request, responses=1)
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), received
        assert b"content-type: application/json" in head and b"x-experience-api-version: 1.0.3" in head
        # Every answer carries these (README, Headers); this one lacked them.
        assert b"cache-control: no-store" in head and b"x-content-type-options: nosniff" in head, head
        assert b"content-security-policy: default-src 'none'; frame-ancestors 'none'; sandbox" in head, head
        assert json.loads(body)["error"] == "bad_request"
    # (a query string of 50 KB is read as usual: here, refused by the application for want of credentials)
    fine = (b"GET /xapi/statements?verb=http://example.com/" + b"a" * 50_000
            + b" HTTP/1.1\r\nHost: x\r\nX-Experience-API-Version: 1.0.3\r\n\r\n")
    assert _exchange(live, fine, responses=1).startswith(b"HTTP/1.1 401 ")


def test_a_websocket_upgrade_is_answered_as_the_http_request_it_is(live: int) -> None:
    # A review: with WebSocket support on, uvicorn refused the upgrade itself: a bare 403 with
    # no X-Experience-API-Version (§3.3.s3.b1: on every response) and no JSON body.
    upgrade = (b"GET /xapi/statements HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"X-Experience-API-Version: 1.0.3\r\n\r\n")
    received = _exchange(live, upgrade, responses=1)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ") and b"x-experience-api-version: 1.0.3" in head.lower(), received
    assert json.loads(body)["error"] == "unauthorized"


def test_date_is_read_when_the_response_starts_never_before_last_modified(
    live_server: tuple[int, uvicorn.Server],
) -> None:
    # uvicorn refreshes its Date once a second and a request kept the one of its start: a GET of a
    # statement stored just before could say Last-Modified later than Date (RFC 9110 8.8.2.1).
    port, instance = live_server
    auth = b"Authorization: Basic " + base64.b64encode(b"admin:s3cret") + b"\r\n"
    statement = json.dumps({"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"},
                            "object": {"id": "http://example.com/o"}}).encode()
    post = (b"POST /xapi/statements HTTP/1.1\r\nHost: x\r\nX-Experience-API-Version: 1.0.3\r\n" + auth
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(statement)).encode() + b"\r\n\r\n"
            + statement)
    [statement_id] = json.loads(_exchange(port, post, responses=1).partition(b"\r\n\r\n")[2])
    # A Date header as stale as uvicorn's could be (here: very): what a response sends must not be it.
    instance.server_state.default_headers = [(b"date", b"Thu, 01 Jan 1970 00:00:00 GMT"),
                                             *instance.server_state.default_headers[1:]]
    get = (b"GET /xapi/statements?statementId=" + statement_id.encode() + b" HTTP/1.1\r\nHost: x\r\n"
           b"X-Experience-API-Version: 1.0.3\r\n" + auth + b"\r\n")
    head = _exchange(port, get, responses=1).partition(b"\r\n\r\n")[0].decode()
    fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    fields = {name.lower(): value for name, value in fields.items()}
    date, modified = parsedate_to_datetime(fields["date"]), parsedate_to_datetime(fields["last-modified"])
    assert modified <= date, head
    assert abs(date.timestamp() - time.time()) < 5, head
    assert [line.lower().startswith("date:") for line in head.split("\r\n")].count(True) == 1, head
