"""The store contract suite runs against every backend through one fixture.

Test ids name the backend:

- ``[sqlite]`` (writer thread) and ``[sqlite-process]`` (writer process), always;
- ``[mongomock]``: the MongoDB store on mongomock through an async shim
  (tests/store/mongomock_async.py), always: a stand-in that makes every Mongo
  code path run, not MongoDB;
- ``[mongodb]``: the MongoDB store on the server named by ``LRS_TEST_MONGODB_URI``
  (a fresh database per test, dropped afterwards); skipped, visibly, without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from lrs.store.base import Store
from lrs.store.mongo import MongoStore
from lrs.store.sqlite import SQLiteStore
from tests.store.mongomock_async import AsyncMongomockClient

MONGODB_URI = os.environ.get("LRS_TEST_MONGODB_URI")
STAND_IN = "mongomock stand-in, not MongoDB"


def _sqlite(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "contract.sqlite3"), synchronous="NORMAL")


def _sqlite_process(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "contract.sqlite3"), synchronous="NORMAL", writer="process")


def _mongomock(tmp_path: Path) -> Store:
    return MongoStore("mongodb://mongomock/lrs_contract", client=AsyncMongomockClient())


def _mongodb(tmp_path: Path) -> Store:
    if not MONGODB_URI:
        pytest.skip("no MongoDB server: set LRS_TEST_MONGODB_URI=mongodb://host:27017 to run the contract on one")
    base = MONGODB_URI.split("?", 1)[0].rstrip("/")
    if base.count("/") > 2:  # a database in the URI: replace it with a fresh one
        base = base.rsplit("/", 1)[0]
    query = "?" + MONGODB_URI.split("?", 1)[1] if "?" in MONGODB_URI else ""
    return MongoStore(f"{base}/lrs_test_{uuid.uuid4().hex[:12]}{query}")


BACKENDS: dict[str, Callable[[Path], Store]] = {
    "sqlite": _sqlite, "sqlite-process": _sqlite_process, "mongomock": _mongomock, "mongodb": _mongodb,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=list(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    await backend.open()
    try:
        yield backend
    finally:
        if isinstance(backend, MongoStore) and request.param == "mongodb":
            await backend._client.drop_database(backend._db.name)
        await backend.close()
