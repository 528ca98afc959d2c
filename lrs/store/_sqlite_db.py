"""The SQLite file: its schema, connections, and small helpers shared by readers and the writer."""

from __future__ import annotations

import sqlite3
from typing import Any, Sequence

import orjson

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

INDEX_STATE = "SELECT value FROM meta WHERE name = 'indexed_seq'"


def connect(path: str, *, synchronous: str = "FULL", readonly: bool = False, busy_timeout_ms: int = 60_000) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(f"PRAGMA cache_size = {-8192 if readonly else -32768}")  # KiB: 8 MiB per reader, 32 MiB writer
    conn.execute("PRAGMA temp_store = MEMORY")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


def create(path: str, *, busy_timeout_ms: int = 60_000) -> None:
    """WAL mode, and every table and index that is missing."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
    finally:
        conn.close()


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


def indexed_seq(conn: sqlite3.Connection) -> int:
    return conn.execute(INDEX_STATE).fetchone()[0]


def index_lag(conn: sqlite3.Connection) -> int:
    """How many committed statements are not in the key index yet."""
    top = conn.execute("SELECT IFNULL(MAX(seq), 0) FROM statements").fetchone()[0]
    return top - indexed_seq(conn)
