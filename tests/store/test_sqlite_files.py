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


def test_a_busy_indexer_looks_at_the_database_only_every_index_batch(tmp_path: Path, monkeypatch) -> None:
    """A commit wakes the indexer; while commits keep coming it asks how far behind it is
    (one SQL query) only after INDEX_BATCH new statements, not after every commit."""
    import time

    from lrs.store import _sqlite_db as db
    from lrs.store import _sqlite_writer as writer

    checks: list[int] = []
    real_lag = db.index_lag
    monkeypatch.setattr(db, "index_lag", lambda *a, **k: checks.append(1) or real_lag(*a, **k))
    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)
    indexer = writer.Indexer(path, synchronous="NORMAL")
    indexer.start()
    try:
        time.sleep(writer.INDEX_IDLE * 3)  # idle: it looks now and then
        idle_checks = len(checks)
        assert idle_checks >= 1
        for _ in range(200):  # 200 commits of 10 statements, 1 ms apart: busy
            indexer.notify(10)
            time.sleep(0.001)
        busy_checks = len(checks) - idle_checks
        assert busy_checks <= 5, busy_checks  # at most a stall or two; not one per commit
        before = len(checks)
        indexer.notify(writer.INDEX_BATCH)  # a batch's worth: it looks at once
        time.sleep(0.02)
        assert len(checks) > before
    finally:
        indexer.close()
