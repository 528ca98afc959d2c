"""When the database, not the request, fails: a disk that is full is 507, a database that is busy,
unreachable or read-only is 503 with Retry-After; each a JSON body that says so, not the 500 of a bug.

Real SQLite errors (a page limit that makes the file "full", an exclusive lock held elsewhere), and
PyMongo's own exception types for the MongoDB store.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from pymongo import errors as mongo_errors
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from lrs.store import _sqlite_db
from lrs.store._sqlite_keys import WriterConnection
from lrs.store._sqlite_process import _error, _portable
from lrs.store.mongo import MongoStore, refusal as mongo_refusal
from tests.store.mongomock_async import AsyncMongomockClient

ADMIN = ("admin", "secret")
BIG = "x" * 40_000


def _statement(**extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:ada@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "http://example.com/q/1"}, **extra}


def _client(settings: Settings, store: Any = None) -> TestClient:
    client = TestClient(create_app(settings, store=store), raise_server_exceptions=False)
    client.auth = ADMIN
    client.headers["X-Experience-API-Version"] = "1.0.3"
    return client


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An LRS whose writer's database cannot grow past 60 pages (SQLite then says SQLITE_FULL)."""
    connect = _sqlite_db.connect

    def limited(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        if kwargs.get("factory") is WriterConnection:
            conn.execute("PRAGMA max_page_count = 60")
        return conn

    monkeypatch.setattr(_sqlite_db, "connect", limited)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'lrs.sqlite3'}", admin_key=ADMIN[0],
                        admin_secret=ADMIN[1], sqlite_synchronous="NORMAL", sqlite_writer="thread")
    with _client(settings) as client:
        yield client


def _fill(client: TestClient) -> list[str]:
    """Post large statements until the database is full: the ids stored."""
    stored: list[str] = []
    for _ in range(50):
        statement = _statement(result={"response": BIG})
        response = client.post("/xapi/statements", json=[statement])
        if response.status_code != 200:
            assert response.status_code == 507, response.text
            return stored
        stored.append(statement["id"])
    raise AssertionError("the database never filled up")


def test_a_full_disk_is_507_with_a_body_that_says_so_and_nothing_is_half_stored(full_disk: TestClient) -> None:
    stored = _fill(full_disk)
    batch = [_statement(result={"response": BIG}) for _ in range(3)]
    response = full_disk.post("/xapi/statements", json=batch)
    assert response.status_code == 507
    body = response.json()
    assert body["error"] == "storage_full" and "full" in body["message"]
    assert response.headers["Retry-After"] == "60"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in response.headers
    for statement in batch:  # not stored, not half stored
        assert full_disk.get("/xapi/statements", params={"statementId": statement["id"]}).status_code == 404
    assert full_disk.get("/xapi/statements", params={"statementId": stored[0]}).status_code == 200

    response = full_disk.put(
        "/xapi/activities/state", content=BIG.encode() * 3, headers={"Content-Type": "application/octet-stream"},
        params={"activityId": "http://example.com/q/1", "agent": '{"mbox": "mailto:ada@example.com"}',
                "stateId": "save"})
    assert response.status_code == 507 and response.json()["error"] == "storage_full"


def test_a_busy_database_on_a_read_is_503_with_retry_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'lrs.sqlite3'}", admin_key=ADMIN[0],
                        admin_secret=ADMIN[1], sqlite_synchronous="NORMAL", sqlite_writer="thread")
    with _client(settings) as client:
        store = client.app.state.store
        holder = sqlite3.connect(tmp_path / "lock.sqlite3", isolation_level=None)
        holder.execute("CREATE TABLE t(x)")
        holder.execute("BEGIN EXCLUSIVE")
        other = sqlite3.connect(tmp_path / "lock.sqlite3", timeout=0)
        with pytest.raises(sqlite3.OperationalError) as busy:  # a real SQLITE_BUSY
            other.execute("INSERT INTO t VALUES (1)")
        holder.rollback()

        async def locked(*args: Any, **kwargs: Any) -> Any:
            raise busy.value

        monkeypatch.setattr(store, "query_statements", locked)
        response = client.get("/xapi/statements")
        assert response.status_code == 503
        assert response.json()["error"] == "unavailable" and "busy" in response.json()["message"]
        assert response.headers["Retry-After"] == "5"


def test_a_bug_stays_a_500() -> None:
    assert _sqlite_db.refusal(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert mongo_refusal(ValueError("a bug")) is None
    assert mongo_refusal(mongo_errors.DuplicateKeyError("E11000", code=11000)) is None


def test_the_writer_process_sends_a_full_disk_back_as_507(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "small.sqlite3")
    conn.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("CREATE TABLE t(x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(BIG,)] * 5)
    refused = _error(_portable(full.value))  # as it crosses the process boundary
    assert refused.status == 507 and refused.error == "storage_full"


@pytest.mark.parametrize("exc, status", [
    (mongo_errors.ServerSelectionTimeoutError("no servers found"), 503),
    (mongo_errors.AutoReconnect("connection reset"), 503),
    (mongo_errors.NotPrimaryError("not primary"), 503),
    (mongo_errors.ExecutionTimeout("operation exceeded time limit", code=50), 503),
    (mongo_errors.OperationFailure("out of disk space", code=14031), 507),
    (mongo_errors.BulkWriteError({"writeErrors": [{"index": 0, "code": 14031, "errmsg": "disk"}]}), 507),
])
def test_mongodb_errors_of_the_server_state(exc: Exception, status: int) -> None:
    refused = mongo_refusal(exc)
    assert refused is not None and refused.status == status
    assert "Retry-After" in refused.headers


def test_an_unreachable_mongodb_is_503_through_http(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url="mongodb://mongomock/lrs_storage_errors", admin_key=ADMIN[0],
                        admin_secret=ADMIN[1])
    store = MongoStore(settings.database_url, client=AsyncMongomockClient())
    with _client(settings, store) as client:
        async def unreachable(*args: Any, **kwargs: Any) -> Any:
            raise mongo_errors.ServerSelectionTimeoutError("db.example.org:27017: timed out")

        monkeypatch.setattr(store, "insert_statements", unreachable)
        response = client.post("/xapi/statements", json=_statement())
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "unavailable" and "MongoDB" in body["message"]
        assert "example.org" not in body["message"]  # host names stay in the log
