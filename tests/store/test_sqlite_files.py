"""SQLite specifics: the key index file is derived data; index keys are kept as ids; older files are upgraded."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from lrs.store import _sqlite_db as db
from lrs.store._sqlite_keys import KeyIds, WriterConnection
from lrs.store.sqlite import SQLiteStore
from lrs.xapi.agents import ifi_key
from tests.store.test_contract import ADA, BOB, make, query

pytestmark = pytest.mark.anyio


async def _stored_without_key_index(path: str, count: int) -> list:
    """``count`` statements stored in a database at ``path`` whose key index file is then deleted."""
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    statements = [make() for _ in range(count)]
    await store.insert_statements(statements, define=False)
    await store.close()
    for suffix in (".keys", ".keys-wal", ".keys-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return statements


async def _assert_found_by_agent(path: str, statements: list) -> None:
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    try:
        page, _ = await store.query_statements(query(agent=ifi_key(ADA)))
        assert {s["id"] for s in page} == {p.id for p in statements}
    finally:
        await store.close()


async def test_a_deleted_key_index_is_rebuilt_from_the_statements(tmp_path: Path) -> None:
    path = str(tmp_path / "lrs.sqlite3")
    statements = await _stored_without_key_index(path, 3)
    await _assert_found_by_agent(path, statements)


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


async def test_the_indexer_catches_up_a_chunk_per_transaction(tmp_path: Path, monkeypatch) -> None:
    """A key index far behind (rebuilt, or an indexer starved of CPU) is caught up INDEX_CHUNK
    statements and re-index requests at a time, each chunk committed on its own: the sort
    before the insert holds one chunk in memory, not the whole backlog."""
    from lrs.store import _sqlite_writer as writer

    monkeypatch.setattr(db, "INDEX_CHUNK", 2)
    path = str(tmp_path / "lrs.sqlite3")
    statements = await _stored_without_key_index(path, 5)
    db.create(path)
    conn = db.connect_indexer(path)
    commits: list[int] = []
    conn.set_trace_callback(lambda sql: sql == "COMMIT" and commits.append(
        conn.execute("SELECT value FROM meta WHERE name = 'indexed_seq'").fetchone()[0]))
    try:
        conn.execute("INSERT INTO m.reindex(seq) SELECT seq FROM m.statements")  # five re-index requests too
        writer.index_now(path, conn)
        assert commits == [2, 4, 5]
        assert db.index_lag(conn, statements="m", keys="main") == 0
        rows = conn.execute("SELECT COUNT(DISTINCT seq) FROM statement_keys").fetchone()[0]
        assert rows == 5
    finally:
        conn.close()
    await _assert_found_by_agent(path, statements)


def test_catching_up_stops_at_what_was_committed_when_it_began(tmp_path: Path, monkeypatch) -> None:
    """A read that catches the index up waits for the statements committed before it, not for
    those that writers keep adding meanwhile (chunk by chunk, that could go on for as long as
    they write)."""
    from lrs.store import _sqlite_writer as writer

    monkeypatch.setattr(db, "INDEX_CHUNK", 2)
    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)
    other = sqlite3.connect(path, isolation_level=None)
    add = "INSERT INTO statements(id, stored, keys, data) VALUES (?, '2026-01-01T00:00:00.000000Z', '[]', '{}')"
    for _ in range(5):
        other.execute(add, (str(uuid.uuid4()),))
    conn = db.connect_indexer(path)
    # every chunk committed, a writer commits another statement
    conn.set_trace_callback(lambda sql: sql == "COMMIT" and other.execute(add, (str(uuid.uuid4()),)))
    try:
        writer.index_now(path, conn)
        conn.set_trace_callback(None)
        assert conn.execute("SELECT value FROM meta WHERE name = 'indexed_seq'").fetchone()[0] == 5
        assert db.index_lag(conn, statements="m", keys="main") == 3  # the three added meanwhile
    finally:
        conn.close()
        other.close()


@pytest.mark.skipif(not os.sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_the_indexer_thread_runs_at_a_lower_priority(tmp_path: Path) -> None:
    """The indexer can wait; requests and the writer cannot: it runs BACKGROUND_NICE lower."""
    import time

    from lrs.store import _sqlite_writer as writer

    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)
    indexer = writer.Indexer(path, synchronous="NORMAL")
    indexer.start()
    try:
        deadline = time.monotonic() + 5
        while indexer.native_id is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, indexer.native_id) == min(19, mine + writer.BACKGROUND_NICE)
    finally:
        indexer.close()


def _to_format_0(path: str) -> None:
    """Rewrite both files as the release before key ids wrote them: key strings everywhere, no format marks."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "UPDATE statements SET keys = (SELECT json_group_array(k.key) FROM json_each(statements.keys) j"
        " JOIN index_keys k ON k.id = j.value)"
    )
    conn.execute("DROP TABLE index_keys")
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    keys = sqlite3.connect(db.keys_path(path), isolation_level=None)
    keys.execute("ATTACH DATABASE ? AS m", (path,))
    keys.execute("DROP TABLE statement_keys")
    keys.execute(
        "CREATE TABLE statement_keys (key TEXT NOT NULL, stored TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (key, stored, seq)) WITHOUT ROWID"
    )
    keys.execute(
        "INSERT INTO statement_keys SELECT j.value, s.stored, s.seq FROM m.statements s, json_each(s.keys) j"
    )
    keys.execute("DELETE FROM meta WHERE name = 'format'")
    keys.execute("UPDATE meta SET value = (SELECT MAX(seq) FROM m.statements) WHERE name = 'indexed_seq'")
    keys.close()


async def test_a_database_of_the_format_before_key_ids_is_brought_up_to_date(tmp_path: Path) -> None:
    path = str(tmp_path / "lrs.sqlite3")
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    ada = [make() for _ in range(3)]
    bob = [make(actor=BOB, verb="http://example.com/verbs/other")]
    await store.insert_statements(ada + bob, define=False)
    await store.close()
    _to_format_0(path)
    assert "mailto:ada@example.com" in sqlite3.connect(path).execute("SELECT keys FROM statements").fetchone()[0]

    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()  # upgrades the database file in place; the key index is rebuilt
    try:
        later = make()
        await store.insert_statements([later], define=False)
        page, _ = await store.query_statements(query(agent=ifi_key(ADA)))
        assert {s["id"] for s in page} == {p.id for p in ada + [later]}
        page, _ = await store.query_statements(query(verb="http://example.com/verbs/other"))
        assert [s["id"] for s in page] == [bob[0].id]
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.FORMAT
    for (keys,) in conn.execute("SELECT keys FROM statements"):
        assert all(isinstance(k, int) for k in json.loads(keys)), keys


def test_the_writer_forgets_the_key_ids_of_a_rolled_back_job(tmp_path: Path) -> None:
    """A job rolled back takes its new dictionary rows with it, and SQLite may give
    their ids to other keys: the writer must not go on using them."""
    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)
    conn = db.connect(path, synchronous="NORMAL", factory=WriterConnection)
    key_ids = KeyIds()
    try:
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT job")
        key_ids.ids(conn, ["v|x"])
        conn.execute("ROLLBACK TO job")
        conn.execute("RELEASE job")
        key_ids.rolled_back()
        y = key_ids.ids(conn, ["v|y"])["v|y"]
        x = key_ids.ids(conn, ["v|x"])["v|x"]
        conn.execute("COMMIT")
        key_ids.committed()
        assert x != y
        assert dict(conn.execute("SELECT key, id FROM index_keys")) == {"v|x": x, "v|y": y}
        assert key_ids.ids(conn, ["v|y", "v|x"]) == {"v|x": x, "v|y": y}  # remembered once committed
    finally:
        conn.close()


def _delete_database_keep_key_index(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


async def _stored_by_verb(path: str, statements: list, verb: str) -> set[str]:
    store = SQLiteStore(path, synchronous="NORMAL")
    await store.open()
    try:
        await store.insert_statements(statements, define=False)
        page, _ = await store.query_statements(query(verb=verb))
        return {s["id"] for s in page}
    finally:
        await store.close()


async def test_a_new_database_beside_an_old_key_index_is_not_answered_from_it(tmp_path: Path) -> None:
    """Deleting lrs.sqlite3 to start again, and forgetting lrs.sqlite3.keys: the new database's
    statements get the old one's key ids and seq numbers, and were answered from its index."""
    path = str(tmp_path / "lrs.sqlite3")
    old = [make(verb="http://example.com/verbs/old") for _ in range(5)]
    assert await _stored_by_verb(path, old, "http://example.com/verbs/old") == {p.id for p in old}
    _delete_database_keep_key_index(path)
    first = [make(verb="http://example.com/verbs/first") for _ in range(2)]
    second = [make(verb="http://example.com/verbs/second") for _ in range(2)]
    assert await _stored_by_verb(path, first + second, "http://example.com/verbs/first") == {p.id for p in first}
    assert await _stored_by_verb(path, [], "http://example.com/verbs/second") == {p.id for p in second}
    assert await _stored_by_verb(path, [], "http://example.com/verbs/old") == set()


async def test_a_key_index_from_before_databases_named_themselves_is_checked_by_its_progress(tmp_path: Path) -> None:
    """A key index file written before the database recorded its instance: kept when it has not indexed
    more than the database holds, rebuilt when it has (it belongs to another database)."""
    path = str(tmp_path / "lrs.sqlite3")
    old = [make(verb="http://example.com/verbs/old") for _ in range(5)]
    await _stored_by_verb(path, old, "http://example.com/verbs/old")

    def forget_instances() -> None:
        for file, table in ((path, "lrs_meta"), (db.keys_path(path), "meta")):
            conn = sqlite3.connect(file)
            conn.execute(f"DELETE FROM {table} WHERE name = 'instance'")
            conn.commit()
            conn.close()

    forget_instances()  # its own index, as written before: kept (and the statements found through it)
    assert await _stored_by_verb(path, [], "http://example.com/verbs/old") == {p.id for p in old}
    forget_instances()
    _delete_database_keep_key_index(path)
    first = [make(verb="http://example.com/verbs/first") for _ in range(2)]
    second = [make(verb="http://example.com/verbs/second") for _ in range(2)]
    assert await _stored_by_verb(path, first + second, "http://example.com/verbs/first") == {p.id for p in first}
    assert await _stored_by_verb(path, [], "http://example.com/verbs/second") == {p.id for p in second}


async def test_a_database_restored_from_a_backup_is_not_answered_from_the_later_key_index(tmp_path: Path) -> None:
    """Copy lrs.sqlite3 aside, write more, stop, copy the backup back (lrs.sqlite3.keys stays): the
    index has rows for statements the backup does not have, whose numbers new statements take."""
    import shutil

    path = str(tmp_path / "lrs.sqlite3")
    kept = [make(verb="http://example.com/verbs/kept") for _ in range(2)]
    await _stored_by_verb(path, kept, "http://example.com/verbs/kept")
    shutil.copy(path, path + ".backup")  # closed: the WAL was checkpointed into the file
    later = [make(verb="http://example.com/verbs/later") for _ in range(5)]
    await _stored_by_verb(path, later, "http://example.com/verbs/later")
    _delete_database_keep_key_index(path)
    shutil.copy(path + ".backup", path)
    first = [make(verb="http://example.com/verbs/first") for _ in range(2)]
    second = [make(verb="http://example.com/verbs/second") for _ in range(3)]
    assert await _stored_by_verb(path, first + second, "http://example.com/verbs/first") == {p.id for p in first}
    assert await _stored_by_verb(path, [], "http://example.com/verbs/second") == {p.id for p in second}
    assert await _stored_by_verb(path, [], "http://example.com/verbs/later") == set()
    assert await _stored_by_verb(path, [], "http://example.com/verbs/kept") == {p.id for p in kept}
