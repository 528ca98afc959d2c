"""Write jobs: what the writer runs inside a transaction, one function per job.

Each job is ``(name, args)`` and runs as ``JOBS[name](conn, *args)``, in the
writer thread or in the writer process alike (so jobs and their arguments are
plain, picklable data). A job raises ``XAPIError`` to refuse; its SAVEPOINT is
then rolled back and nothing of it stays.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Sequence

import orjson

from lrs.store._sqlite_db import _in, _json
from lrs.store._sqlite_keys import WriterConnection, inheritable_ids
from lrs.xapi import documents
from lrs.xapi.activities import batch_definitions, definition_writes
from lrs.xapi.documents import Document, DocumentScope, Precondition
from lrs.xapi.errors import REFUSED, unauthorized
from lrs.xapi.keys import spread
from lrs.xapi.statements import (
    PreparedStatement, check_voiding_rights, declared_by_new, not_stored, voids_on_arrival,
)

# statements.voiding: 0 for a statement that voids nothing; a voiding statement's credential could
# void any statement (1; also every voiding statement stored before this distinction) or only the
# statements it stored itself (2): see lrs.xapi.statements.check_voiding_rights.
VOIDS_ANY, VOIDS_OWN = 1, 2


def _check_credential(conn: sqlite3.Connection, key: str | None) -> None:
    if key is None:
        return
    row = conn.execute("SELECT revoked FROM credentials WHERE key = ?", (key,)).fetchone()
    if row is None or row[0]:
        raise unauthorized(REFUSED)


def insert(
    conn: WriterConnection, rows: Sequence[tuple], define: bool, credential: str | None,
    names: Sequence[tuple[str, str]] = (),
    violations: Sequence[tuple] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
    void_any: bool = True,
) -> list[str]:
    """Store a batch (``PreparedStatement.to_row()`` each); see ``Store.insert_statements``.

    ``violations``: (statement id, profile, template, location, found as JSON, message)
    rows of profile checks in warn mode, kept for the statements newly stored.
    ``names``: (IFI key, name) pairs of the batch's agents not known to be recorded yet;
    without ``define`` only the first name of an agent is recorded (the "define" scope:
    no update of the LRS's canonical representation of Actors), at most one per IFI here.
    ``attachments``: (sha2, content type, content) of the attachment parts received with them.
    ``void_any``: the credential may void statements that others stored.
    """
    _check_credential(conn, credential)
    batch = [PreparedStatement.from_row(row) for row in rows]
    ids = _store(conn, batch, define, names, violations, void_any=void_any)
    _save_attachments(conn, _of_new(attachments, batch, set(ids)), credential)
    return ids


def _of_new(
    attachments: Sequence[tuple[str, str, bytes]], batch: Sequence[PreparedStatement], new_ids: set[str]
) -> Sequence[tuple[str, str, bytes]]:
    """The parts that the statements of ``batch`` stored now declare (``declared_by_new``)."""
    if not attachments:
        return attachments
    wanted = declared_by_new(batch, new_ids)
    return [part for part in attachments if part[0] in wanted]


def _save_attachments(
    conn: sqlite3.Connection, attachments: Sequence[tuple[str, str, bytes]], credential: str | None
) -> None:
    """Attachment data, by its SHA-2 (the same data under one digest is one row), and which
    credential sent it (``Store.get_attachments``)."""
    if attachments:
        conn.executemany("INSERT OR IGNORE INTO attachments(sha2, content_type, content) VALUES (?,?,?)", attachments)
        if credential is not None:
            conn.executemany("INSERT OR IGNORE INTO attachment_uploads(sha2, credential) VALUES (?,?)",
                             [(sha2, credential) for sha2, _, _ in attachments])


def insert_merged(conn: WriterConnection, jobs: Sequence[tuple]) -> list[list[str]] | None:
    """Several ``insert`` jobs (their arguments) stored as one batch: each job's result, as ``insert``.

    Only where that is exactly what storing them one after the other does: the same
    ``define``, no id twice, no voiding statement or StatementRef (whose checks depend on
    the order). Otherwise None, before writing anything. A job that would be refused
    makes this raise; the caller then rolls it back and runs the jobs one by one.
    """
    jobs = [(*job, (), (), ())[:6] for job in jobs]  # (rows, define, credential, names, violations, attachments)
    define = jobs[0][1]
    batch: list[PreparedStatement] = []
    by_job: list[list[PreparedStatement]] = []
    for rows, job_define, _, _, _, _ in jobs:
        if job_define != define:
            return None
        prepared = [PreparedStatement.from_row(row) for row in rows]
        batch.extend(prepared)
        by_job.append(prepared)
    if any(p.ref is not None for p in batch) or len({p.id for p in batch}) != len(batch):
        return None
    for credential in dict.fromkeys(job[2] for job in jobs):
        _check_credential(conn, credential)
    if define:
        names = list(dict.fromkeys(pair for job in jobs for pair in job[3]))
    else:  # at most one name per agent: the first, which the first job naming it would record
        first: dict[str, str] = {}
        for job in jobs:
            for ifi, name in job[3]:
                first.setdefault(ifi, name)
        names = list(first.items())
    # (void_any does not matter: no statement of a merged batch voids another)
    new = set(_store(conn, batch, define, names, [v for job in jobs for v in job[4]], void_any=False))
    for job, prepared in zip(jobs, by_job):
        _save_attachments(conn, _of_new(job[5], prepared, new), job[2])
    return [[p.id for p in prepared if p.id in new] for prepared in by_job]


def _store(
    conn: WriterConnection, batch: list[PreparedStatement], define: bool,
    names: Sequence[tuple[str, str]], violations: Sequence[tuple], *, void_any: bool,
) -> list[str]:
    if names:  # (bound as values, not read through json_extract: SQLite's JSON functions end a text at a NUL)
        if define:
            conn.executemany("INSERT OR IGNORE INTO agent_names(ifi, name) VALUES (?, ?)", names)
        else:
            conn.executemany("INSERT OR IGNORE INTO agent_names(ifi, name) SELECT ?1, ?2"
                             " WHERE NOT EXISTS (SELECT 1 FROM agent_names a WHERE a.ifi = ?1)", names)
    new = not_stored(batch, dict(_in(conn, "SELECT id, data FROM statements WHERE id IN ({})", [p.id for p in batch])))
    if not new:
        return []
    base = conn.execute("SELECT IFNULL(MAX(seq), 0) FROM statements").fetchone()[0]
    voiding = VOIDS_ANY if void_any else VOIDS_OWN
    ids = conn.key_ids.ids(conn, set().union(*(p.keys for p in new)))  # a batch repeats most keys
    conn.executemany(
        "INSERT INTO statements(seq, id, stored, voiding, ref, keys, data) VALUES (?,?,?,?,?,?,?)",
        [(seq, p.id, p.stored, voiding if p.is_voiding else 0, p.ref, _json(list(map(ids.__getitem__, p.keys))),
          p.data)
         for seq, p in enumerate(new, base + 1)],
    )
    new_ids = [p.id for p in new]
    # Statements already stored that target the new ones (StatementRef; voiding ones among them):
    # usually none, and then neither voiding nor key inheritance has anything to do.
    referrers = _in(conn, f"SELECT voiding, ref, CASE WHEN voiding = {VOIDS_OWN} THEN data END FROM statements"
                          " WHERE ref IN ({})", new_ids)
    targets = [p.ref for p in new if p.ref is not None]
    if targets or referrers:
        arrived = {p.id: p for p in new}
        _void(conn, new, batch, void_any=void_any, voided_by_earlier={
            ref for voiding, ref, data in referrers
            if voiding and voids_on_arrival(data, voiding == VOIDS_ANY, arrived[ref].data)
        })
        _propagate(conn, new_ids)
    _save_definitions(conn, new, define)
    if violations:
        stored = {p.id: p.stored for p in new}
        conn.executemany(
            "INSERT INTO profile_violations(statement_id, stored, profile, template, location, found, message)"
            " VALUES (?,?,?,?,?,?,?)",
            [(sid, stored[sid], *rest) for sid, *rest in violations if sid in stored],
        )
    return new_ids


def _void(
    conn: sqlite3.Connection, new: list[PreparedStatement], batch: Sequence[PreparedStatement],
    *, void_any: bool, voided_by_earlier: set[str],
) -> None:
    """Voiding, whichever of the voiding statement and its target arrived first.

    ``voided_by_earlier``: new statements that voiding statements stored before them void.
    """
    voids = [p.voids for p in new if p.voids is not None]
    if voids and not void_any:
        # (the batch's new statements are stored by now: those it voids are among these)
        found = _in(conn, "SELECT id, data FROM statements WHERE id IN ({})", voids)
        check_voiding_rights(batch, new, {sid: data for sid, data in found})
    # Every statement so targeted is voided, unless it is a voiding statement itself: a statement
    # that voids a voiding statement is stored and voids nothing (XAPI-00016: accepted, ignored).
    targets = set(voids) | voided_by_earlier
    if targets:
        _in(conn, "UPDATE statements SET voided = 1 WHERE voiding = 0 AND voided = 0 AND id IN ({})", sorted(targets))


def _propagate(conn: sqlite3.Connection, new_ids: list[str]) -> None:
    """Statements reaching the new ones through StatementRefs, and the new ones that target another,
    inherit their targets' filter keys, recursively (in both arrival orders; ``lrs.xapi.keys.spread``).

    The keys (ids: ``_sqlite_keys``) are added to the statement's JSON list and a re-index request is
    recorded; the indexer adds the rows (statements it has not reached yet it
    takes from the list anyway).
    """
    referrers: dict[str, tuple[str, set[int]]] = {}  # statement id -> (its target, its keys)
    seqs: dict[str, int] = {}

    def take(rows: list[tuple]) -> list[str]:
        taken = []
        for seq, statement_id, ref, keys in rows:
            if statement_id not in referrers:
                referrers[statement_id] = (ref, set(orjson.loads(keys)))
                seqs[statement_id] = seq
                taken.append(statement_id)
        return taken

    take(_in(conn, "SELECT seq, id, ref, keys FROM statements WHERE ref IS NOT NULL AND id IN ({})", new_ids))
    frontier = new_ids  # then what reaches the new ones, level by level
    while frontier:
        frontier = take(_in(conn, "SELECT seq, id, ref, keys FROM statements WHERE ref IN ({})", frontier))
    if not referrers:
        return
    outside = sorted({ref for ref, _ in referrers.values() if ref not in referrers})
    target_keys = {sid: set(orjson.loads(keys)) for sid, keys in _in(
        conn, "SELECT id, keys FROM statements WHERE id IN ({})", outside)}
    every = set().union(*target_keys.values(), *(keys for _, keys in referrers.values()))
    gained = spread(referrers, target_keys, inheritable_ids(conn, every).__contains__)
    if gained:
        conn.executemany("UPDATE statements SET keys = ? WHERE seq = ?",
                         [(_json(sorted(referrers[sid][1] | new)), seqs[sid]) for sid, new in gained.items()])
        conn.executemany("INSERT INTO reindex(seq) VALUES (?)", [(seqs[sid],) for sid in gained])


def _save_definitions(conn: sqlite3.Connection, new: list[PreparedStatement], define: bool) -> None:
    """Canonical Activity definitions (``lrs.xapi.activities.definition_writes``)."""
    definitions = batch_definitions((a for p in new for a in p.activities), define=define)
    if not definitions:
        return
    # Without define only which ones are known matters: their definitions are not even parsed.
    known = {aid: orjson.loads(d) if define else {} for aid, d in _in(
        conn, "SELECT id, definition FROM activities WHERE id IN ({})", list(definitions))}
    added, merged = definition_writes(definitions, known, define=define)
    inserts = [(aid, _json(d)) for aid, d in added.items()]
    updates = [(orjson.dumps(d), aid) for aid, d in merged.items()]
    if inserts:
        conn.execute(
            "INSERT INTO activities(id, definition)"
            " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
            (_json(inserts),),
        )
    if updates:
        conn.executemany("UPDATE activities SET definition = ? WHERE id = ?", updates)


def put_credential(conn: sqlite3.Connection, row: tuple) -> None:
    conn.execute(
        "INSERT INTO credentials(key, secret_hash, scopes, authority, created, revoked, label, extra)"
        " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET secret_hash = excluded.secret_hash,"
        " scopes = excluded.scopes, authority = excluded.authority, revoked = excluded.revoked,"
        " label = excluded.label, extra = excluded.extra",
        row,
    )


def revoke_credential(conn: sqlite3.Connection, key: str) -> bool:
    return conn.execute("UPDATE credentials SET revoked = 1 WHERE key = ?", (key,)).rowcount > 0


# -- documents ---------------------------------------------------------------------------

DOCUMENT_KEY = "resource = ? AND activity_id = ? AND agent = ? AND registration = ? AND doc_id = ?"


def document_key(scope: DocumentScope, doc_id: str) -> tuple[str, str, str, str, str]:
    return (scope.resource, scope.activity_id, scope.agent, scope.registration or "", doc_id)


def read_document(conn: sqlite3.Connection, key: tuple) -> Document | None:
    row = conn.execute(f"SELECT contents, content_type, updated, etag FROM documents WHERE {DOCUMENT_KEY}", key).fetchone()
    return Document(bytes(row[0]), row[1], row[2], row[3]) if row else None


def save_document(
    conn: sqlite3.Connection, scope: DocumentScope, doc_id: str, document: Document, merge: bool,
    condition: Precondition,
) -> None:
    key = document_key(scope, doc_id)
    stored = documents.write(read_document(conn, key), document, merge=merge, condition=condition)
    conn.execute(
        "INSERT OR REPLACE INTO documents(resource, activity_id, agent, registration, doc_id,"
        " content_type, contents, etag, updated) VALUES (?,?,?,?,?,?,?,?,?)",
        (*key, stored.content_type, stored.contents, stored.etag, stored.updated),
    )


def delete_document(conn: sqlite3.Connection, scope: DocumentScope, doc_id: str, condition: Precondition) -> None:
    key = document_key(scope, doc_id)
    current = read_document(conn, key)
    condition.check(current)
    if current is not None:
        conn.execute(f"DELETE FROM documents WHERE {DOCUMENT_KEY}", key)


def scope_where(scope: DocumentScope, since: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause for a scope's documents (any registration when it has none), updated after ``since``."""
    where, args = "resource = ? AND activity_id = ? AND agent = ?", [scope.resource, scope.activity_id, scope.agent]
    if scope.registration is not None:
        where += " AND registration = ?"
        args.append(scope.registration)
    if since is not None:
        where += " AND updated > ?"
        args.append(since)
    return where, args


def delete_documents(
    conn: sqlite3.Connection, scope: DocumentScope, since: str | None, condition: Precondition | None = None,
) -> int:
    """The multiple-document DELETE; ``condition`` checked against the ids the GET would list (in this transaction)."""
    where, args = scope_where(scope, since)
    if condition is not None and condition.has_headers:
        found = conn.execute(f"SELECT DISTINCT doc_id FROM documents WHERE {where} ORDER BY doc_id", args)
        condition.check_many([r[0] for r in found])
    return conn.execute(f"DELETE FROM documents WHERE {where}", args).rowcount


# Jobs of these kinds that follow one another in a group commit may run as one (see insert_merged).
MERGED: dict[str, Callable[..., Any]] = {"insert": insert_merged}

JOBS: dict[str, Callable[..., Any]] = {
    "insert": insert,
    "save_document": save_document,
    "delete_document": delete_document,
    "delete_documents": delete_documents,
    "put_credential": put_credential,
    "revoke_credential": revoke_credential,
}
