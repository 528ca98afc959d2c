"""The embedded default store: one SQLite file in WAL mode.

Writes go through one writer thread that commits whatever requests are
waiting in one transaction (group commit), each request in its own
SAVEPOINT so that a refused batch leaves nothing behind and does not disturb
its neighbours. Reads run on a small pool of reader threads (WAL lets them
run beside the writer). The event loop never touches the database.

Statements are found through ``statement_keys(key, stored, seq)``: one row
per index key (``lrs.xapi.keys``), clustered by key then stored order, so a
filtered page is one index range scan and the next page starts where the
last one ended (keyset cursor on ``(stored, seq)``).

That index is written in bulk, not row by row: a statement is stored with its
keys as a JSON list, and the writer thread moves the keys of every statement
not yet indexed into ``statement_keys`` in one INSERT ... SELECT (when a few
thousand are waiting, when it is idle, or when a filtered read asks for it).
Writing a key's rows for thousands of statements at once touches each index
page once instead of once per statement. A filtered read first makes sure
every statement committed before it is indexed (``indexed_seq`` in ``meta``),
so reads always see the writes that came before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import orjson

from lrs.store.base import Credential
from lrs.xapi import keys as K
from lrs.xapi.activities import merge_definition
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi.query import StatementQuery
from lrs.xapi.statements import PreparedStatement, equivalent

T = TypeVar("T")
log = logging.getLogger("lrs.store.sqlite")

SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    stored TEXT NOT NULL,
    voiding INTEGER NOT NULL DEFAULT 0,
    voided INTEGER NOT NULL DEFAULT 0,
    ref TEXT,
    keys TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_stored ON statements(stored, seq);
CREATE INDEX IF NOT EXISTS statements_ref ON statements(ref) WHERE ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS statement_keys (
    key TEXT NOT NULL,
    stored TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, stored, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    definition BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(name, value) VALUES ('indexed_seq', 0);
CREATE TABLE IF NOT EXISTS credentials (
    key TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    authority BLOB NOT NULL,
    created TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    label TEXT,
    extra BLOB
);
"""

MAX_GROUP = 512  # requests committed together at most
INDEX_BATCH = 5000  # statements waiting for the key index before the writer indexes them under load
INDEX_IDLE = 0.05  # seconds without writes after which waiting statements are indexed


class SQLiteStore:
    def __init__(self, path: str, *, synchronous: str = "FULL", readers: int = 4, busy_timeout_ms: int = 60_000) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        self._reader_count = readers
        self._writer: _Writer | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # -- lifecycle

    def _connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute(f"PRAGMA cache_size = {-16384 if readonly else -32768}")  # KiB: 16 MiB per reader, 32 MiB writer
        conn.execute("PRAGMA temp_store = MEMORY")
        if readonly:
            conn.execute("PRAGMA query_only = 1")
        with self._lock:
            self._connections.append(conn)
        return conn

    async def open(self) -> None:
        def setup() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
            finally:
                conn.close()

        await asyncio.to_thread(setup)
        self._writer = _Writer(self._connect, lock_path=self.path + ".lock")
        self._writer.start()
        self._readers = ThreadPoolExecutor(self._reader_count, thread_name_prefix="lrs-sqlite-read")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._writer is not None, "store is not open"
        return await self._writer.submit(fn)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._readers is not None, "store is not open"
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._in_reader, fn)

    def _in_reader(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(readonly=True)
        return fn(conn)

    # -- statements

    async def insert_statements(
        self, batch: Sequence[PreparedStatement], *, define: bool, credential: str | None = None
    ) -> list[str]:
        return await self._write(lambda conn: _insert(conn, batch, define, credential))

    async def get_statement(self, statement_id: str, *, voided: bool) -> dict[str, Any] | None:
        def get(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT data FROM statements WHERE id = ? AND voided = ?", (statement_id.lower(), int(voided))
            ).fetchone()
            return row[0] if row else None

        data = await self._read(get)
        return orjson.loads(data) if data is not None else None

    async def query_statements(self, query: StatementQuery) -> tuple[list[dict[str, Any]], str | None]:
        inner, args = _page_sql(query)
        # One row back (the page as one JSON text), not a row per statement: see IN_JSON.
        sql = f"SELECT group_concat(data, ','), group_concat(seq, ',') FROM ({inner})"
        filtered = bool(query.index_keys())

        def run(conn: sqlite3.Connection) -> tuple[str | None, str | None] | None:
            if filtered and _index_lag(conn) > 0:
                return None  # the key index is behind the statements committed so far
            return conn.execute(sql, args).fetchone()

        row = await self._read(run)
        if row is None:
            await self._write(_index)
            row = await self._read(lambda conn: conn.execute(sql, args).fetchone())
        data, seqs = row
        if data is None:
            return [], None
        page = orjson.loads("[" + data + "]")
        if len(page) <= query.limit:
            return page, None
        page = page[: query.limit]
        return page, f"{page[-1]['stored']}|{seqs.split(',')[query.limit - 1]}"

    async def activities(self, activity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(activity_ids))
        if not ids:
            return {}

        def run(conn: sqlite3.Connection) -> list[tuple[str, bytes]]:
            marks = ",".join("?" * len(ids))
            return conn.execute(f"SELECT id, definition FROM activities WHERE id IN ({marks})", ids).fetchall()

        return {aid: orjson.loads(d) for aid, d in await self._read(run)}

    # -- credentials

    async def put_credential(self, credential: Credential) -> None:
        row = (
            credential.key, credential.secret_hash, " ".join(credential.scopes), orjson.dumps(credential.authority),
            credential.created, int(credential.revoked), credential.label, orjson.dumps(credential.extra),
        )

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO credentials(key, secret_hash, scopes, authority, created, revoked, label, extra)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET secret_hash = excluded.secret_hash,"
                " scopes = excluded.scopes, authority = excluded.authority, revoked = excluded.revoked,"
                " label = excluded.label, extra = excluded.extra",
                row,
            )

        await self._write(put)

    async def get_credential(self, key: str) -> Credential | None:
        def get(conn: sqlite3.Connection) -> tuple | None:
            return conn.execute(f"SELECT {_CRED_COLUMNS} FROM credentials WHERE key = ?", (key,)).fetchone()

        row = await self._read(get)
        return _credential(row) if row else None

    async def list_credentials(self) -> list[Credential]:
        rows = await self._read(lambda conn: conn.execute(f"SELECT {_CRED_COLUMNS} FROM credentials ORDER BY created, key").fetchall())
        return [_credential(r) for r in rows]

    async def revoke_credential(self, key: str) -> bool:
        def revoke(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE credentials SET revoked = 1 WHERE key = ?", (key,)).rowcount > 0

        return await self._write(revoke)


_CRED_COLUMNS = "key, secret_hash, scopes, authority, created, revoked, label, extra"


def _credential(row: tuple) -> Credential:
    key, secret_hash, scopes, authority, created, revoked, label, extra = row
    return Credential(
        key=key, secret_hash=secret_hash, scopes=tuple(scopes.split()), authority=orjson.loads(authority),
        created=created, revoked=bool(revoked), label=label, extra=orjson.loads(extra) if extra else {},
    )


# -- writing (runs on the writer thread, inside a transaction) ---------------------------

# Bulk work is done in a few SQL statements fed one JSON array each (json_each), not
# row by row: the sqlite3 module releases the GIL around every step, and a thread
# that has to win the GIL back once per row starves while the event loop is busy.
IN_JSON = "SELECT value FROM json_each(?)"


def _json(values: Any) -> str:
    return orjson.dumps(values).decode()


def _in(conn: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[tuple]:
    """Run ``sql`` with its ``{}`` standing for the list ``values`` (one statement, one parameter)."""
    return conn.execute(sql.format(IN_JSON), (_json(list(values)),)).fetchall()


def _check_credential(conn: sqlite3.Connection, key: str | None) -> None:
    if key is None:
        return
    row = conn.execute("SELECT revoked FROM credentials WHERE key = ?", (key,)).fetchone()
    if row is None or row[0]:
        raise XAPIError(401, "unknown or revoked credential", error="unauthorized",
                        headers={"WWW-Authenticate": 'Basic realm="xAPI"'})


def _insert(
    conn: sqlite3.Connection, batch: Sequence[PreparedStatement], define: bool, credential: str | None
) -> list[str]:
    _check_credential(conn, credential)
    located = len(batch) > 1
    existing = dict(_in(conn, "SELECT id, data FROM statements WHERE id IN ({})", [p.id for p in batch]))
    new: list[PreparedStatement] = []
    for index, prepared in enumerate(batch):
        if prepared.id in existing:
            if equivalent(orjson.loads(existing[prepared.id]), prepared):
                continue
            raise XAPIError(
                409, f"a different statement with id {prepared.id} is already stored",
                path=f"[{index}].id" if located else "id", error="conflict", statementId=prepared.id,
            )
        new.append(prepared)
    if not new:
        return []
    base = conn.execute("SELECT IFNULL(MAX(seq), 0) FROM statements").fetchone()[0]
    rows = _json(
        [[p.id, p.stored, int(p.is_voiding), p.ref, _json(sorted(p.keys)), _json(p.statement)] for p in new]
    )
    conn.execute(
        "INSERT INTO statements(seq, id, stored, voiding, ref, keys, data)"
        " SELECT ? + key + 1,"
        " json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
        " json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')"
        " FROM json_each(?)",
        (base, rows),
    )
    new_ids = [p.id for p in new]
    _void(conn, new, located, batch)
    targets = [p.ref for p in new if p.ref is not None]
    _propagate(conn, new_ids + targets)
    _save_definitions(conn, new, define)
    return new_ids


def _void(
    conn: sqlite3.Connection, new: list[PreparedStatement], located: bool, batch: Sequence[PreparedStatement]
) -> None:
    """Voiding, whichever of the voiding statement and its target arrived first."""
    voids = [p.voids for p in new if p.voids is not None]
    if voids:
        voiding_targets = {r[0] for r in _in(conn, "SELECT id FROM statements WHERE voiding = 1 AND id IN ({})", voids)}
        fresh = {id(p) for p in new}
        for index, prepared in enumerate(batch):
            if id(prepared) in fresh and prepared.voids in voiding_targets:
                raise bad_request(
                    f"statement {prepared.voids} is a voiding statement and cannot be voided",
                    path=f"[{index}].object.id" if located else "object.id", error="voiding",
                )
    # Every statement (old or new) targeted by a voiding statement is voided, unless it voids itself.
    candidates = _json(voids + [p.id for p in new if not p.is_voiding])
    conn.execute(
        "UPDATE statements SET voided = 1 WHERE voiding = 0 AND voided = 0 AND id IN (SELECT value FROM json_each(?1))"
        " AND id IN (SELECT ref FROM statements WHERE voiding = 1 AND ref IN (SELECT value FROM json_each(?1)))",
        (candidates,),
    )


def _propagate(conn: sqlite3.Connection, targets: list[str]) -> None:
    """Statements targeting these (StatementRef) inherit their filter keys, recursively (in both arrival orders).

    Keys of statements not yet indexed are only added to their JSON list (the
    indexer takes them from there); already indexed ones also get the rows.
    """
    indexed = _indexed_seq(conn)
    while targets:  # keys only ever grow, so this ends (also on reference cycles)
        pairs = _in(
            conn,
            "SELECT r.seq, r.id, r.stored, r.keys, t.keys FROM statements r JOIN statements t ON t.id = r.ref"
            " WHERE r.ref IN ({})",
            targets,
        )
        targets = []
        for seq, statement_id, stored, own_keys, target_keys in pairs:
            current = set(orjson.loads(own_keys))
            new = {k for k in orjson.loads(target_keys) if K.inheritable(k)} - current
            if not new:
                continue
            conn.execute("UPDATE statements SET keys = ? WHERE seq = ?", (orjson.dumps(sorted(current | new)).decode(), seq))
            if seq <= indexed:
                conn.executemany(
                    "INSERT OR IGNORE INTO statement_keys(key, stored, seq) VALUES (?,?,?)",
                    [(k, stored, seq) for k in new],
                )
            targets.append(statement_id)


def _indexed_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT value FROM meta WHERE name = 'indexed_seq'").fetchone()[0]


def _index(conn: sqlite3.Connection) -> int:
    """Move the keys of every statement not yet indexed into statement_keys (one statement, in C)."""
    indexed = _indexed_seq(conn)
    top = conn.execute("SELECT IFNULL(MAX(seq), 0) FROM statements").fetchone()[0]
    if top > indexed:
        conn.execute(
            "INSERT OR IGNORE INTO statement_keys(key, stored, seq)"
            " SELECT j.value, s.stored, s.seq FROM statements s, json_each(s.keys) j"
            " WHERE s.seq > ? AND s.seq <= ? ORDER BY 1, 2, 3",
            (indexed, top),
        )
        conn.execute("UPDATE meta SET value = ? WHERE name = 'indexed_seq'", (top,))
    return top


def _index_lag(conn: sqlite3.Connection) -> int:
    """How many committed statements are not in the key index yet."""
    top = conn.execute("SELECT IFNULL(MAX(seq), 0) FROM statements").fetchone()[0]
    return top - _indexed_seq(conn)


def _save_definitions(conn: sqlite3.Connection, new: list[PreparedStatement], define: bool) -> None:
    """Canonical Activity definitions: merged in with the define scope, else recorded only when unknown."""
    definitions: dict[str, dict[str, Any]] = {}
    for prepared in new:
        for activity_id, definition in prepared.activities:
            if activity_id not in definitions:
                definitions[activity_id] = definition
            elif define:
                definitions[activity_id] = merge_definition(definitions[activity_id], definition)
    if not definitions:
        return
    known = dict(_in(conn, "SELECT id, definition FROM activities WHERE id IN ({})", list(definitions)))
    inserts, updates = [], []
    for activity_id, definition in definitions.items():
        if activity_id not in known:
            inserts.append((activity_id, _json(definition)))
        elif define:
            merged = merge_definition(orjson.loads(known[activity_id]), definition)
            updates.append((orjson.dumps(merged), activity_id))
    if inserts:
        conn.execute(
            "INSERT INTO activities(id, definition)"
            " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
            (_json(inserts),),
        )
    if updates:
        conn.executemany("UPDATE activities SET definition = ? WHERE id = ?", updates)


# -- reading -----------------------------------------------------------------------------

def _page_sql(query: StatementQuery) -> tuple[str, list[Any]]:
    """One page (limit + 1 rows, to know whether there is more) as a keyset query."""
    keys = query.index_keys()
    order = "ASC" if query.ascending else "DESC"
    args: list[Any] = []
    if keys:
        src, col = "statement_keys k JOIN statements s ON s.seq = k.seq", "k"
        where = ["k.key = ?"]
        args.append(keys[0])
        for key in keys[1:]:
            where.append(
                "EXISTS (SELECT 1 FROM statement_keys x WHERE x.key = ? AND x.stored = k.stored AND x.seq = k.seq)"
            )
            args.append(key)
    else:
        src, col, where = "statements s", "s", []
    since, until = query.since, query.until
    if query.cursor is not None:
        stored, _, seq = query.cursor.partition("|")
        if not seq.isdigit():
            raise bad_request("more is not a link this LRS issued", path="more", error="parameter")
        # A range on `stored` the index can use, then the tie-break on seq among equal stored values.
        # The cursor row met the bound on its side already, so that bound is implied.
        if query.ascending:
            where.append(f"{col}.stored >= ? AND ({col}.stored > ? OR {col}.seq > ?)")
            since = None
        else:
            where.append(f"{col}.stored <= ? AND ({col}.stored < ? OR {col}.seq < ?)")
            until = None
        args.extend([stored, stored, int(seq)])
    if since is not None:
        where.append(f"{col}.stored > ?")
        args.append(since)
    if until is not None:
        where.append(f"{col}.stored <= ?")
        args.append(until)
    where.append("s.voided = 0")
    sql = (
        f"SELECT s.data AS data, {col}.seq AS seq FROM {src} WHERE {' AND '.join(where)}"
        f" ORDER BY {col}.stored {order}, {col}.seq {order} LIMIT ?"
    )
    args.append(query.limit + 1)
    return sql, args


# -- the writer thread -------------------------------------------------------------------

class _Writer(threading.Thread):
    """Runs write jobs in group-committed transactions, one SAVEPOINT per job."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], lock_path: str | None = None) -> None:
        super().__init__(name="lrs-sqlite-writer", daemon=True)
        self._connect = connect
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._unindexed = True  # statements may wait for the key index (unknown at start)

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> "asyncio.Future[T]":
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((fn, future, loop))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, queued behind other processes' writers on a file lock.

        SQLite's own busy handler sleeps and retries (1, 2, 5, 10 ms ...); a blocking
        flock wakes the next writer the moment the previous one commits, so several
        server processes can share one database file without idling.
        """
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def run(self) -> None:
        conn = self._connect()
        if self._lock_path is not None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        stopping = False
        while not stopping:
            try:
                job = self._jobs.get(timeout=INDEX_IDLE if self._unindexed else None)
            except queue.Empty:
                self._maybe_index(conn, force=True)
                continue
            if job is None:
                break
            jobs = [job]
            while len(jobs) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
            self._commit(conn, jobs)
            self._maybe_index(conn)
        self._maybe_index(conn, force=True)

    def _maybe_index(self, conn: sqlite3.Connection, *, force: bool = False) -> None:
        """Index waiting statements when enough have piled up (or when forced: idle, or stopping)."""
        if not self._unindexed:
            return
        try:
            if force or _index_lag(conn) >= INDEX_BATCH:
                with self._transaction(conn):
                    _index(conn)
                self._unindexed = False
        except sqlite3.Error:
            log.exception("indexing statements failed; filtered reads will retry it")

    def _commit(self, conn: sqlite3.Connection, jobs: list[tuple]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            with self._transaction(conn):
                for fn, _future, _loop in jobs:
                    conn.execute("SAVEPOINT job")
                    try:
                        results.append((True, fn(conn)))
                        conn.execute("RELEASE job")
                        self._unindexed = True
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                        results.append((False, exc))
        except BaseException as exc:  # noqa: BLE001 - the transaction failed: nothing was stored
            results = [(False, exc)] * len(jobs)
        for (_fn, future, loop), (ok, value) in zip(jobs, results):
            loop.call_soon_threadsafe(_resolve, future, ok, value)


def _resolve(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
