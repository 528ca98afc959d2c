"""SQLite specifics: the key index file is derived data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrs.store.sqlite import SQLiteStore
from lrs.xapi.agents import ifi_key
from tests.store.test_contract import ADA, make, query

pytestmark = pytest.mark.anyio


async def test_a_deleted_key_index_is_rebuilt_from_the_statements(tmp_path: Path) -> None:
    path = str(tmp_path / "lrs.sqlite3")
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    statements = [make() for _ in range(3)]
    await store.insert_statements(statements, define=False)
    await store.close()
    for suffix in (".keys", ".keys-wal", ".keys-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    try:
        page, _ = await store.query_statements(query(agent=ifi_key(ADA)))
        assert {s["id"] for s in page} == {p.id for p in statements}
    finally:
        await store.close()
