"""X-Experience-API-Consistent-Through while writes are in flight (Communication §2.1.3).

A statement gets its ``stored`` value before the store has committed it; a read that
starts meanwhile does not see it, and its header must stop before that value: every
statement stored at or before the header's value is in the answer. Found by a concurrent
probe (a poller using ``since`` missed statements that committed after its read).
"""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import orjson
import pytest

from lrs.http import consistency
from lrs.http.consistency import StoredClock
from lrs.xapi.timestamps import format_stored, now, parse_timestamp
from tests.conftest import ADMIN

HEADER = b"x-experience-api-consistent-through"


async def _call(app: Any, method: str, path: str, query: bytes = b"", body: bytes = b"") -> tuple[int, dict, bytes]:
    auth = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
        "headers": [(b"authorization", auth.encode()), (b"x-experience-api-version", b"1.0.3"),
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
    }
    sent: list[dict[str, Any]] = []
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_a_read_during_a_write_does_not_claim_the_statement_in_flight(app, statement) -> None:
    async def scenario() -> tuple[str, str, list[str]]:
        async with app.router.lifespan_context(app):
            store = app.state.store
            insert = store.insert_statements
            release = asyncio.Event()
            reached = asyncio.Event()

            async def slow_insert(*args: Any, **kwargs: Any) -> Any:
                reached.set()
                await release.wait()  # the write is in flight: prepared, not committed
                return await insert(*args, **kwargs)

            store.insert_statements = slow_insert
            post = asyncio.create_task(_call(app, "POST", "/xapi/statements", body=orjson.dumps(statement())))
            await reached.wait()
            await asyncio.sleep(0.01)  # the clock moves on past the statement's stored value
            status, headers, body = await _call(app, "GET", "/xapi/statements")
            assert status == 200
            seen = [s["id"] for s in orjson.loads(body)["statements"]]
            release.set()
            status, _, ids = await post
            assert status == 200
            status, _, body = await _call(app, "GET", "/xapi/statements", b"statementId=" + orjson.loads(ids)[0].encode())
            return headers[HEADER].decode(), orjson.loads(body)["stored"], seen

    through, stored, seen = asyncio.run(scenario())
    assert seen == []  # the read did not see the statement in flight ...
    assert through < stored  # ... so it does not claim its stored time
    assert parse_timestamp(through) is not None


def test_without_writes_in_flight_it_is_about_now(client) -> None:
    before = format_stored(now() - timedelta(seconds=1))
    header = client.get("/xapi/statements").headers["X-Experience-API-Consistent-Through"]
    assert before < header <= format_stored(now())


def test_stored_values_increase_even_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = StoredClock()
    t0 = now()
    monkeypatch.setattr(consistency, "now", lambda: t0)
    _, first = clock.begin(3)
    monkeypatch.setattr(consistency, "now", lambda: t0 - timedelta(seconds=5))
    _, second = clock.begin(2)
    values = first + second
    assert values == sorted(values) and len(set(values)) == 5


def test_the_header_stops_before_the_earliest_write_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = StoredClock()
    t0 = now()
    monkeypatch.setattr(consistency, "now", lambda: t0)
    early, (stored_early,) = clock.begin(1)
    monkeypatch.setattr(consistency, "now", lambda: t0 + timedelta(seconds=1))
    late, _ = clock.begin(1)
    monkeypatch.setattr(consistency, "now", lambda: t0 + timedelta(seconds=2))
    assert clock.consistent_through() < stored_early
    clock.end(early)
    assert stored_early < clock.consistent_through() < format_stored(t0 + timedelta(seconds=1))
    clock.end(late)
    assert clock.consistent_through() == format_stored(t0 + timedelta(seconds=2) - timedelta(microseconds=1))


async def _post_held_in_flight(app: Any, body: dict[str, Any], release: asyncio.Event) -> asyncio.Task:
    """POST ``body`` and hold its write in flight (stored values given, nothing committed) until
    ``release`` is set; later writes go through at once. Returns the POST's task."""
    store = app.state.store
    insert = store.insert_statements
    reached = asyncio.Event()
    calls = 0

    async def first_held(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            reached.set()
            await release.wait()
        return await insert(*args, **kwargs)

    store.insert_statements = first_held
    task = asyncio.create_task(_call(app, "POST", "/xapi/statements", body=orjson.dumps(body)))
    await reached.wait()
    return task


def test_a_read_returns_no_statement_stored_after_its_header(app, statement) -> None:
    # XAPI-00152: the header "is not before any of the stored values of any of the returned Statements".
    # A is in flight (stored, not committed) while B, stored after A, commits: a read then must not
    # return B (its header stops before A), and returns both once A is committed. Found by a probe.
    async def scenario() -> tuple[str, list[str], list[str], list[str], list[str]]:
        async with app.router.lifespan_context(app):
            release = asyncio.Event()
            a = await _post_held_in_flight(app, statement(), release)
            status, _, b_ids = await _call(app, "POST", "/xapi/statements", body=orjson.dumps(statement()))
            assert status == 200
            status, headers, body = await _call(app, "GET", "/xapi/statements")
            assert status == 200
            page = orjson.loads(body)["statements"]
            release.set()
            status, _, a_ids = await a
            assert status == 200
            _, _, after = await _call(app, "GET", "/xapi/statements")
            return (headers[HEADER].decode(), [s["stored"] for s in page], orjson.loads(a_ids), orjson.loads(b_ids),
                    [s["id"] for s in orjson.loads(after)["statements"]])

    through, stored_seen, a_ids, b_ids, after = asyncio.run(scenario())
    assert stored_seen == []  # B was committed, but stored after the header
    assert all(stored <= through for stored in stored_seen)
    assert after == b_ids + a_ids  # newest first, both there once A is committed


def test_a_single_statement_read_waits_for_earlier_writes_in_flight(app, statement) -> None:
    # XAPI-00152 for a single statement: B commits while A (stored before B) is in flight; a GET of B
    # answers once A is committed, with a header not before B's stored.
    async def scenario() -> tuple[str, str]:
        async with app.router.lifespan_context(app):
            release = asyncio.Event()
            a = await _post_held_in_flight(app, statement(), release)
            _, _, b_ids = await _call(app, "POST", "/xapi/statements", body=orjson.dumps(statement()))
            read = asyncio.create_task(
                _call(app, "GET", "/xapi/statements", b"statementId=" + orjson.loads(b_ids)[0].encode()))
            await asyncio.sleep(0.05)
            assert not read.done()  # waiting for A
            release.set()
            await a
            status, headers, body = await read
            assert status == 200
            return headers[HEADER].decode(), orjson.loads(body)["stored"]

    through, stored = asyncio.run(scenario())
    assert stored <= through


def test_a_statement_another_process_stored_is_not_waited_for() -> None:
    # A stored value this process never gave out (another process's, another host's clock ahead):
    # waiting for this process's writes would not make the header reach it.
    clock = StoredClock()
    clock.begin(1)  # a write in flight, never ended

    async def wait(stored: str) -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await clock.settled(stored, patience=0.5)
        return loop.time() - started

    ahead = format_stored(now() + timedelta(seconds=5))
    assert asyncio.run(wait(ahead)) < 0.1
    _, [own] = clock.begin(1)  # this process's own later value: it waits for the earlier write
    assert asyncio.run(wait(own)) >= 0.5
