"""After a large request the server gives the memory its objects took back to the operating
system (``lrs._gc.release_memory``), instead of staying at its peak size for good."""

from __future__ import annotations

from typing import Any, Callable

import orjson
import pytest

from lrs import _gc
from lrs.http import middleware


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(middleware, "release_memory", lambda: calls.append(1))
    return calls


def _batch_of_at_least(size: int, statement: Callable[..., dict[str, Any]]) -> bytes:
    one = statement()
    count = size // len(orjson.dumps(one)) + 1
    return orjson.dumps([statement() for _ in range(count)])


def test_a_large_batch_is_followed_by_a_release(client, statement, releases) -> None:
    body = _batch_of_at_least(_gc.RELEASE_AFTER_BYTES, statement)
    response = client.post("/xapi/statements", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert releases == [1]


def test_a_refused_large_request_is_followed_by_a_release(client, statement, releases) -> None:
    batch = orjson.loads(_batch_of_at_least(_gc.RELEASE_AFTER_BYTES, statement))
    batch[-1]["verb"] = {"id": "not an IRI"}
    response = client.post("/xapi/statements", content=orjson.dumps(batch),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert releases == [1]


def test_small_requests_are_not(client, statement, releases) -> None:
    assert client.post("/xapi/statements", json=[statement() for _ in range(50)]).status_code == 200
    assert client.get("/xapi/statements").status_code == 200
    assert releases == []


def test_release_memory_runs_here() -> None:
    _gc.release_memory()  # glibc's malloc_trim on Linux; nothing where there is none
