"""The embedded default store: one SQLite file in WAL mode.

Writes go to one writer (``_sqlite_writer``: group commit, in a thread or in a
child process); reads run on a small pool of reader threads (WAL lets them run
beside the writer). The event loop never touches the database.

Statements are found through ``statement_keys(key, stored, seq)``: one row
per index key (``lrs.xapi.keys``, kept as an id of the ``index_keys``
dictionary: ``_sqlite_keys``), clustered by key then stored order, so a
filtered page is one index range scan and the next page starts where the
last one ended (keyset cursor on ``(stored, seq)``).

That index is written in bulk, not row by row, and in a file of its own
(``<database>.keys``): a statement is stored with its key ids as a JSON list, and
an indexer thread beside the writer moves the keys of every statement not yet
indexed into ``statement_keys`` in one INSERT ... SELECT (when thousands are
waiting, when writes pause, or when a filtered read asks for it). Writing a
key's rows for thousands of statements at once touches each index page once
instead of once per statement, and the writer never waits for it. A filtered
read first makes sure every statement committed before it is indexed
(``indexed_seq`` in the index's ``meta``), so reads always see the writes that
came before them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Sequence, TypeVar

import orjson

from lrs.store import _sqlite_db as db
from lrs.store._names import NameCache
from lrs.store._sqlite_write import document_key, read_document, scope_where
from lrs.store._sqlite_process import ProcessWriter
from lrs.store._sqlite_writer import ThreadWriter, index_now
from lrs.store.base import Credential, ViolationRow, violation_dict
from lrs.xapi.attachments import Part
from lrs.xapi.documents import Document, DocumentScope, Precondition
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi import query as query_module
from lrs.xapi.query import StatementQuery
from lrs.xapi.statements import PreparedStatement
from lrs.xapi.validate import is_digits

T = TypeVar("T")
WRITERS = {"thread": ThreadWriter, "process": ProcessWriter}


class SQLiteStore:
    """``writer``: ``"thread"`` (default) or ``"process"`` (a child process, for servers: see ``_sqlite_process``)."""

    def __init__(
        self, path: str, *, synchronous: str = "FULL", readers: int = 4, writer: str = "thread",
        busy_timeout_ms: int = 60_000,
    ) -> None:
        if writer not in WRITERS:
            raise ValueError(f"writer must be one of {', '.join(WRITERS)}")
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        self._writer_kind = writer
        self._reader_count = readers
        self._writer: ThreadWriter | ProcessWriter | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._names = NameCache()

    # -- lifecycle

    async def open(self) -> None:
        await asyncio.to_thread(db.create, self.path, busy_timeout_ms=self.busy_timeout_ms)
        self._writer = WRITERS[self._writer_kind](self.path, synchronous=self.synchronous)
        await self._writer.open()
        self._readers = ThreadPoolExecutor(self._reader_count, thread_name_prefix="lrs-sqlite-read")

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def refusal(self, exc: BaseException) -> XAPIError | None:
        return db.refusal(exc) if isinstance(exc, sqlite3.Error) else None

    async def _write(self, job: str, *args: Any) -> Any:
        assert self._writer is not None, "store is not open"
        return await self._writer.submit(job, *args)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._readers is not None, "store is not open"
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._in_reader, fn)

    def _in_reader(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = db.connect(
                self.path, synchronous=self.synchronous, readonly=True, busy_timeout_ms=self.busy_timeout_ms,
                attach_keys=True,
            )
            with self._lock:
                self._connections.append(conn)
        return fn(conn)

    # -- statements

    async def insert_statements(
        self, batch: Sequence[PreparedStatement], *, define: bool, credential: str | None = None,
        violations: Sequence[ViolationRow] = (), attachments: Sequence[Part] = (), void_any: bool = True,
    ) -> list[str]:
        names = self._names.pending(batch, define=define)
        ids = await self._write(
            "insert", [p.to_row() for p in batch], define, credential, names, list(violations),
            [(a.sha2, a.content_type, a.content) for a in attachments], void_any,
        )
        self._names.recorded(names, define=define)
        return ids

    async def profile_violations(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT statement_id, stored, profile, template, location, found, message FROM profile_violations"
               " ORDER BY id DESC" + (" LIMIT ?" if limit is not None else ""))
        rows = await self._read(lambda conn: conn.execute(sql, (limit,) if limit is not None else ()).fetchall())
        return [violation_dict(r) for r in rows]

    async def agent_names(self, ifi: str) -> list[str]:
        rows = await self._read(lambda conn: conn.execute("SELECT name FROM agent_names WHERE ifi = ?", (ifi,)).fetchall())
        return [r[0] for r in rows]

    # -- documents

    async def get_document(self, scope: DocumentScope, doc_id: str) -> Document | None:
        key = document_key(scope, doc_id)
        return await self._read(lambda conn: read_document(conn, key))

    async def document_ids(self, scope: DocumentScope, *, since: str | None = None) -> list[tuple[str, str]]:
        where, args = scope_where(scope, since)
        # An id used under several registrations is listed once (with its latest change).
        sql = f"SELECT doc_id, MAX(updated) FROM documents WHERE {where} GROUP BY doc_id ORDER BY doc_id"
        return [tuple(r) for r in await self._read(lambda conn: conn.execute(sql, args).fetchall())]

    async def save_document(
        self, scope: DocumentScope, doc_id: str, document: Document, *, merge: bool, condition: Precondition
    ) -> None:
        await self._write("save_document", scope, doc_id, document, merge, condition)

    async def delete_document(self, scope: DocumentScope, doc_id: str, *, condition: Precondition) -> None:
        await self._write("delete_document", scope, doc_id, condition)

    async def delete_documents(
        self, scope: DocumentScope, *, since: str | None = None, condition: Precondition | None = None
    ) -> None:
        await self._write("delete_documents", scope, since, condition)

    async def get_statement(self, statement_id: str, *, voided: bool) -> dict[str, Any] | None:
        def get(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT data FROM statements WHERE id = ? AND voided = ?", (statement_id.lower(), int(voided))
            ).fetchone()
            return row[0] if row else None

        data = await self._read(get)
        return orjson.loads(data) if data is not None else None

    async def query_statements(self, query: StatementQuery) -> tuple[list[dict[str, Any]], str | None]:
        inner, args = _page_sql(query)
        order = "ASC" if query.ascending else "DESC"
        # One row back (the page as one JSON text), not a row per statement: see _sqlite_db.IN_JSON.
        # The page stops where its text would pass ``PAGE_TEXT_BUDGET`` (its first statement always
        # counts: its running total is its own length). The keyset query gives sizes, not texts, so
        # only the texts kept are read into memory; the count is of the rows it found. (The running
        # total costs about 0.3 ms a page of 100.)
        fits = "upto = size OR upto <= ?"
        sql = (
            f"SELECT group_concat(CASE WHEN {fits} THEN (SELECT data FROM statements d WHERE d.seq = p.seq) END, ','),"
            f" group_concat(CASE WHEN {fits} THEN seq END, ','), count(*) FROM ("
            f" SELECT seq, size, sum(size) OVER (ORDER BY stored {order}, seq {order} ROWS UNBOUNDED PRECEDING) AS upto"
            f" FROM ({inner})) p"
        )
        args = [query_module.PAGE_TEXT_BUDGET, query_module.PAGE_TEXT_BUDGET, *args]
        filtered = bool(query.index_keys())

        def run(conn: sqlite3.Connection) -> tuple[str | None, str | None, int | None] | None:
            if filtered and db.index_lag(conn) > 0:
                return None  # the key index is behind the statements committed so far
            return conn.execute(sql, args).fetchone()

        row = await self._read(run)
        if row is None:
            await asyncio.to_thread(index_now, self.path)
            row = await self._read(lambda conn: conn.execute(sql, args).fetchone())
        data, seqs, total = row
        if data is None:
            return [], None
        page = orjson.loads("[" + data + "]")
        kept = min(len(page), query.limit)
        if kept == total:
            return page, None
        page = page[:kept]
        return page, f"{page[-1]['stored']}|{seqs.split(',')[kept - 1]}"

    async def activities(self, activity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(activity_ids))
        if not ids:
            return {}
        rows = await self._read(lambda conn: db._in(conn, "SELECT id, definition FROM activities WHERE id IN ({})", ids))
        return {aid: orjson.loads(d) for aid, d in rows}

    async def get_attachments(self, hashes: Iterable[str], *, sent_by: str | None = None) -> dict[str, Part]:
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return {}
        sql = f"SELECT sha2, content_type, content FROM attachments a WHERE sha2 IN ({db.IN_JSON})"
        args: list[Any] = [db._json(wanted)]
        if sent_by is not None:
            sql += (" AND (EXISTS (SELECT 1 FROM attachment_uploads u WHERE u.sha2 = a.sha2 AND u.credential = ?)"
                    " OR NOT EXISTS (SELECT 1 FROM attachment_uploads u WHERE u.sha2 = a.sha2))")
            args.append(sent_by)
        rows = await self._read(lambda conn: conn.execute(sql, args).fetchall())
        return {sha2: Part(sha2, content_type, bytes(content)) for sha2, content_type, content in rows}

    # -- credentials

    async def put_credential(self, credential: Credential) -> None:
        row = (
            credential.key, credential.secret_hash, " ".join(credential.scopes), orjson.dumps(credential.authority),
            credential.created, int(credential.revoked), credential.label, orjson.dumps(credential.extra),
        )
        await self._write("put_credential", row)

    async def get_credential(self, key: str) -> Credential | None:
        def get(conn: sqlite3.Connection) -> tuple | None:
            return conn.execute(f"SELECT {_CRED_COLUMNS} FROM credentials WHERE key = ?", (key,)).fetchone()

        row = await self._read(get)
        return _credential(row) if row else None

    async def list_credentials(self) -> list[Credential]:
        rows = await self._read(lambda conn: conn.execute(f"SELECT {_CRED_COLUMNS} FROM credentials ORDER BY created, key").fetchall())
        return [_credential(r) for r in rows]

    async def revoke_credential(self, key: str) -> bool:
        return await self._write("revoke_credential", key)


_CRED_COLUMNS = "key, secret_hash, scopes, authority, created, revoked, label, extra"


def _credential(row: tuple) -> Credential:
    key, secret_hash, scopes, authority, created, revoked, label, extra = row
    return Credential(
        key=key, secret_hash=secret_hash, scopes=tuple(scopes.split()), authority=orjson.loads(authority),
        created=created, revoked=bool(revoked), label=label, extra=orjson.loads(extra) if extra else {},
    )


# -- reading -----------------------------------------------------------------------------

KEY_ID = "(SELECT id FROM index_keys WHERE key = ?)"  # an index key's id (_sqlite_keys); NULL matches nothing


def _page_sql(query: StatementQuery) -> tuple[str, list[Any]]:
    """One page (limit + 1 rows, to know whether there is more) as a keyset query: each row's size, seq and stored."""
    keys = query.index_keys()
    order = "ASC" if query.ascending else "DESC"
    args: list[Any] = []
    if keys:
        src, col = "k.statement_keys kk JOIN statements s ON s.seq = kk.seq", "kk"
        where = [f"kk.key = {KEY_ID}"]
        args.append(keys[0])
        for key in keys[1:]:
            where.append(
                f"EXISTS (SELECT 1 FROM k.statement_keys x WHERE x.key = {KEY_ID} AND x.stored = kk.stored"
                " AND x.seq = kk.seq)"
            )
            args.append(key)
    else:
        src, col, where = "statements s", "s", []
    since, until = query.since, query.until
    if query.cursor is not None:
        stored, _, seq = query.cursor.partition("|")
        if not is_digits(seq) or len(seq) > 19 or int(seq) >= 2**63:
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
        f"SELECT length(s.data) AS size, {col}.seq AS seq, {col}.stored AS stored FROM {src} WHERE {' AND '.join(where)}"
        f" ORDER BY {col}.stored {order}, {col}.seq {order} LIMIT ?"
    )
    args.append(query.limit + 1)
    return sql, args
