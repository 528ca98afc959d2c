"""The SQLite file: its schema, connections, and small helpers shared by readers and the writer."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import uuid
from typing import Any, Iterator, Sequence

import orjson

from lrs.xapi.errors import XAPIError, storage_full, storage_unavailable

log = logging.getLogger("lrs.store.sqlite")

# The database file: statements and everything else the LRS keeps.
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
CREATE TABLE IF NOT EXISTS index_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS statements_ref ON statements(ref) WHERE ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS reindex (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    definition BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    resource TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    registration TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    contents BLOB NOT NULL,
    etag TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (resource, activity_id, agent, registration, doc_id)
);
CREATE TABLE IF NOT EXISTS agent_names (
    ifi TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (ifi, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS profile_violations (
    id INTEGER PRIMARY KEY,
    statement_id TEXT NOT NULL,
    stored TEXT NOT NULL,
    profile TEXT NOT NULL,
    template TEXT,
    location TEXT,
    found TEXT,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    sha2 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS attachment_uploads (
    sha2 TEXT NOT NULL,
    credential TEXT NOT NULL,
    PRIMARY KEY (sha2, credential)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lrs_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
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

# The key index lives in a file of its own (``<database>.keys``), so that it is
# written by the indexer while the writer goes on committing statements (SQLite
# allows one writer per file). It is derived data: deleting it rebuilds it.
# A row's key is the id of an index key string (``index_keys``, in the database
# file): a few bytes where the string takes 40 to 60, so the index is half the size
# (see ``_sqlite_keys``).
KEYS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS statement_keys (
        key INTEGER NOT NULL,
        stored TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (key, stored, seq)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta(name, value) VALUES ('indexed_seq', 0)",
    "INSERT OR IGNORE INTO meta(name, value) VALUES ('reindexed', 0)",
)

# The files' format, kept in the database file's ``PRAGMA user_version`` and in the key
# index's ``meta``. 0: before key ids (statements.keys held the key strings); 2: key ids.
FORMAT = 2



def keys_path(path: str) -> str:
    return path + ".keys"


def connect(
    path: str, *, synchronous: str = "FULL", readonly: bool = False, busy_timeout_ms: int = 60_000,
    attach_keys: bool = False, factory: type[sqlite3.Connection] = sqlite3.Connection,
) -> sqlite3.Connection:
    """A connection to the database file; ``attach_keys``: with the key index attached as ``k``."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=factory)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if attach_keys:
        conn.execute("ATTACH DATABASE ? AS k", (keys_path(path),))
        conn.execute(f"PRAGMA k.synchronous = {synchronous}")
    conn.execute(f"PRAGMA cache_size = {-8192 if readonly else -32768}")  # KiB: 8 MiB per reader, 32 MiB writer
    conn.execute("PRAGMA temp_store = MEMORY")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


def create(path: str, *, busy_timeout_ms: int = 60_000) -> None:
    """WAL mode, every table and index that is missing, and the current format, in both files.

    A database of an earlier format is brought up to date in place (its statements'
    keys become key ids); a key index of another format is emptied, and the indexer
    then rebuilds it from the statements.
    """
    with _setup(path, busy_timeout_ms) as conn:
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")  # several server processes may open the file at once
        if conn.execute("PRAGMA user_version").fetchone()[0] < FORMAT:
            if conn.execute("SELECT 1 FROM statements LIMIT 1").fetchone():
                log.warning("upgrading %s to format %d (index keys as ids); a one-time step,"
                            " about 2 minutes per million statements", path, FORMAT)
            _keys_to_ids(conn)
            conn.execute(f"PRAGMA user_version = {FORMAT}")
        # This database's own name for itself: the key index file records whose index it is.
        conn.execute("INSERT OR IGNORE INTO lrs_meta(name, value) VALUES ('instance', ?)", (uuid.uuid4().hex,))
        instance = conn.execute("SELECT value FROM lrs_meta WHERE name = 'instance'").fetchone()[0]
    with _setup(keys_path(path), busy_timeout_ms) as conn:
        conn.execute("BEGIN IMMEDIATE")  # no indexer moves on meanwhile ...
        with contextlib.closing(sqlite3.connect(path)) as main:  # ... so what it has indexed is in here
            tops = main.execute(
                "SELECT (SELECT IFNULL(MAX(seq), 0) FROM statements), (SELECT IFNULL(MAX(id), 0) FROM reindex)"
            ).fetchone()
        if not _index_is_of(conn, instance, *tops):
            conn.execute("DROP TABLE IF EXISTS statement_keys")
            conn.execute("DROP TABLE IF EXISTS meta")
        for sql in KEYS_SCHEMA:
            conn.execute(sql)
        conn.execute("INSERT OR IGNORE INTO meta(name, value) VALUES ('format', ?)", (FORMAT,))
        conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('instance', ?)", (instance,))


def _index_is_of(conn: sqlite3.Connection, instance: str, top: int, top_reindex: int) -> bool:
    """Whether the key index file is of the current format and indexes the database named
    ``instance`` as it is: whose last statement is ``top`` and last re-index request ``top_reindex``.

    A database deleted and made anew beside the key index of the one before would otherwise be
    answered from that index (other statements under the same key ids), and so would a database
    restored from a backup beside the index of its later state (rows for statements the backup
    does not have, whose numbers new statements then take). A backup is an earlier state of the
    same database, so an index that has not gone past it is its own.
    """
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
        return False
    meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        return False
    if meta.get("instance", instance) != instance:
        return False
    return meta.get("indexed_seq", 0) <= top and meta.get("reindexed", 0) <= top_reindex


@contextlib.contextmanager
def _setup(file: str, busy_timeout_ms: int) -> Iterator[sqlite3.Connection]:
    """A connection to set ``file`` up in WAL mode; a transaction the block opens is committed
    at its end, or rolled back when it raises."""
    conn = sqlite3.connect(file, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        try:
            yield conn
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _keys_to_ids(conn: sqlite3.Connection) -> None:
    """Format 0 to 2: each statement's JSON list of key strings becomes a list of key ids."""
    conn.execute(
        "INSERT OR IGNORE INTO index_keys(key)"
        " SELECT DISTINCT j.value FROM statements s, json_each(s.keys) j WHERE j.type = 'text'"
    )
    conn.execute(
        "UPDATE statements SET keys = (SELECT json_group_array(k.id) FROM json_each(statements.keys) j"
        " JOIN index_keys k ON k.key = j.value) WHERE EXISTS (SELECT 1 FROM json_each(statements.keys) j"
        " WHERE j.type = 'text')"
    )


# Look-ups over many values are one SQL statement fed one JSON array (json_each),
# not a statement per value or a variable-length list of placeholders: the
# sqlite3 module releases the GIL around every step, and a writer *thread* that
# has to win the GIL back once per row starves while the event loop is busy.
# (Row inserts use executemany: cheaper per row, and the server's writer runs in
# a process of its own, where no event loop competes for the GIL.)
IN_JSON = "SELECT value FROM json_each(?)"


def _json(values: Any) -> str:
    return orjson.dumps(values).decode()


def _in(conn: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[tuple]:
    """Run ``sql`` with its ``{}`` standing for the list ``values`` (one statement, one parameter)."""
    return conn.execute(sql.format(IN_JSON), (_json(list(values)),)).fetchall()


def index_lag(conn: sqlite3.Connection, *, statements: str = "main", keys: str = "k") -> int:
    """How much committed work the key index has not taken in yet (new statements, re-index requests).

    ``statements`` and ``keys`` name the two files' schemas on ``conn``.
    """
    return conn.execute(
        f"SELECT (SELECT IFNULL(MAX(seq), 0) FROM {statements}.statements)"
        f" - (SELECT value FROM {keys}.meta WHERE name = 'indexed_seq')"
        f" + (SELECT IFNULL(MAX(id), 0) FROM {statements}.reindex)"
        f" - (SELECT value FROM {keys}.meta WHERE name = 'reindexed')"
    ).fetchone()[0]


def connect_indexer(path: str, *, busy_timeout_ms: int = 60_000) -> sqlite3.Connection:
    """A connection that writes the key index (``main``) from the statements (attached as ``m``).

    The index is written with ``synchronous=NORMAL`` whatever the statements get:
    it is derived data, and its rows and its ``indexed_seq`` commit together, so a
    power cut can only take both back, and the indexer then redoes them.
    """
    conn = sqlite3.connect(keys_path(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -16384")  # KiB: 16 MiB
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("ATTACH DATABASE ? AS m", (path,))
    return conn


INDEX_CHUNK = 25_000  # statements (and re-index requests) per transaction of the indexer


def index(conn: sqlite3.Connection) -> None:
    """Move the keys of every statement not yet indexed, and of re-index requests, into the key index.

    ``conn`` comes from ``connect_indexer``. Each step is one SQL statement, in C.
    ``INDEX_CHUNK`` statements at a time, each chunk a transaction of its own: the
    sort before the insert holds a chunk's rows in memory, so a key index that is
    far behind (rebuilt after deletion, or an indexer starved by a busy machine)
    costs no more memory than one that is a little behind. It indexes what was
    committed when it was called, not what writers add meanwhile (a read that
    waits for it would otherwise wait for as long as they keep writing).
    """
    top, last = conn.execute(
        "SELECT (SELECT IFNULL(MAX(seq), 0) FROM m.statements), (SELECT IFNULL(MAX(id), 0) FROM m.reindex)"
    ).fetchone()
    while _index_chunk(conn, top, last):
        pass


def _index_chunk(conn: sqlite3.Connection, top: int, last: int) -> bool:
    """Index up to ``INDEX_CHUNK`` statements up to seq ``top`` and as many re-index requests up to
    id ``last``; whether more of those are waiting.

    One deferred transaction: it reads the statements file and takes the write lock
    of the key index file only, so the statement writer goes on meanwhile.
    """
    conn.execute("BEGIN")
    try:
        indexed, reindexed = (
            conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()[0]
            for name in ("indexed_seq", "reindexed")
        )
        upto = min(top, indexed + INDEX_CHUNK)
        if upto > indexed:
            conn.execute(
                "INSERT OR IGNORE INTO statement_keys(key, stored, seq)"
                " SELECT j.value, s.stored, s.seq FROM m.statements s, json_each(s.keys) j"
                " WHERE s.seq > ? AND s.seq <= ? ORDER BY 1, 2, 3",
                (indexed, upto),
            )
            conn.execute("UPDATE meta SET value = ? WHERE name = 'indexed_seq'", (upto,))
        through = min(last, reindexed + INDEX_CHUNK)
        if through > reindexed:
            conn.execute(
                "INSERT OR IGNORE INTO statement_keys(key, stored, seq)"
                " SELECT j.value, s.stored, s.seq FROM m.reindex r JOIN m.statements s ON s.seq = r.seq,"
                " json_each(s.keys) j WHERE r.id > ? AND r.id <= ?",
                (reindexed, through),
            )
            conn.execute("UPDATE meta SET value = ? WHERE name = 'reindexed'", (through,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return upto < top or through < last


# SQLite's primary result codes (https://sqlite.org/rescode.html) that say the database, not the request
# or the LRS, is what failed. Others (a constraint, corruption, a misuse) stay unexpected errors: a 500.
_FULL = 13  # SQLITE_FULL: the disk (or the file-size limit) is full
_UNAVAILABLE = {
    5: "busy: another process holds its lock past the timeout",  # SQLITE_BUSY
    6: "locked",  # SQLITE_LOCKED
    7: "out of memory",  # SQLITE_NOMEM
    8: "read-only: the file or its directory cannot be written",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    14: "the file cannot be opened",  # SQLITE_CANTOPEN
}


def refusal(exc: sqlite3.Error) -> XAPIError | None:
    """The answer for an SQLite error that is the database's state, not a bug: 507 when the disk is full,
    503 when the file is busy, read-only or failing; None for any other error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF == _FULL:
        return storage_full("SQLite: database or disk is full")
    reason = _UNAVAILABLE.get(code & 0xFF)
    return storage_unavailable(f"SQLite: {reason}") if reason is not None else None
