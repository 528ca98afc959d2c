"""The Store protocol: what every backend must do, named after what the LRS needs.

Backends know their database and nothing of HTTP. They receive statements
already validated and completed by ``lrs.xapi.statements.prepare`` and
queries already parsed into ``lrs.xapi.query.StatementQuery``; filtering,
ordering and paging happen in the database, on the index keys of
``lrs.xapi.keys``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from collections.abc import AsyncIterator
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

import orjson

from lrs.xapi.attachments import Part
from lrs.xapi.documents import Document, DocumentScope, Precondition
from lrs.xapi.errors import XAPIError
from lrs.xapi.query import StatementQuery
from lrs.xapi.statements import PreparedStatement


@dataclass(frozen=True)
class Credential:
    """An HTTP Basic credential. Only a hash of the secret is ever stored."""

    key: str
    secret_hash: str
    scopes: tuple[str, ...]
    authority: dict[str, Any]
    created: str
    revoked: bool = False
    label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# A profile violation kept in warn mode: (statement id, profile, template, location, found as JSON, message).
ViolationRow = tuple[str, str, "str | None", "str | None", str, str]


def violation_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A kept violation as the reports show it: (statement id, stored, profile, template, location, found, message)."""
    statement_id, stored, profile, template, location, found, message = row
    return {
        "statement": statement_id, "stored": stored, "profile": profile, "template": template,
        "location": location, "found": orjson.loads(found) if found else None, "message": message,
    }


@runtime_checkable
class Store(Protocol):
    async def open(self) -> None:
        """Create what is missing (tables, indexes) and get ready to serve."""

    async def close(self) -> None: ...

    def refusal(self, exc: BaseException) -> XAPIError | None:
        """The answer for an error the database raised because of its state (full: 507; unreachable,
        busy, read-only: 503), or None when ``exc`` is not one (then it is a bug: 500)."""

    # -- statements
    async def insert_statements(
        self, batch: Sequence[PreparedStatement], *, define: bool, credential: str | None = None,
        violations: Sequence[ViolationRow] = (), attachments: Sequence[Part] = (), void_any: bool = True,
    ) -> list[str]:
        """Store a batch atomically: all of it or nothing.

        ``attachments``: the raw data of the batch's Attachments (multipart/mixed parts),
        kept by SHA-2 in the same transaction (the same digest twice is stored once),
        with ``credential`` recorded as one that sent it.

        ``violations``: profile violations (warn mode) to keep with the statements
        newly stored, in the same transaction (see ``profile_violations``).

        With ``credential``, the batch is refused (401 XAPIError) if that credential
        is unknown or revoked when the batch commits: writes are authorised at
        commit time, so a revocation takes effect at once without a look-up per request.

        A statement whose id is already stored is skipped when equivalent
        (``lrs.xapi.statements.equivalent``) and refused with a 409 XAPIError
        otherwise. Voiding marks the target voided (also when the target
        arrives later); a statement that voids a voiding statement is stored
        and voids nothing (XAPI-00016).
        Without ``void_any`` (the caller's credential may void any statement:
        scope ``all``), voiding a stored statement of another authority is a 403
        XAPIError (``lrs.xapi.statements.check_voiding_rights``), and a target
        that arrives later is voided only when it has the voiding statement's
        authority; the store remembers which kind each voiding statement is.
        Activity definitions become canonical: merged in when ``define``,
        only recorded for unknown activities otherwise. The names of the
        identified agents the statements mention are recorded for
        ``agent_names``: all of them when ``define``, otherwise only for an
        agent that has no name recorded yet (its first). Returns the ids newly stored.
        """

    async def get_statement(self, statement_id: str, *, voided: bool) -> dict[str, Any] | None:
        """One statement by id: a voided one only when ``voided``, an unvoided one only when not."""

    async def query_statements(self, query: StatementQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of unvoided statements matching every index key of ``query``, newest
        stored first (oldest with ``ascending``), starting after ``query.cursor``.
        Returns the page and an opaque cursor for the next page (None when done)."""

    async def activities(self, activity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Canonical definitions of the given activities (those known)."""

    async def get_attachments(self, hashes: Iterable[str], *, sent_by: str | None = None) -> dict[str, Part]:
        """The stored attachment data of the given SHA-2 digests (those known), by digest.

        With ``sent_by`` (a credential key), only data that credential sent, or that no
        credential is recorded for (sent without one, or stored before senders were
        recorded): a ``statements/read/mine`` reader gets no data another credential sent,
        even when one of its own statements declares that digest.
        """

    async def profile_violations(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Kept profile violations, newest first: dicts with statement, stored, profile, template,
        location, found, message."""

    async def agent_names(self, ifi: str) -> list[str]:
        """Every name stored statements gave the agent with this IFI key, in no set order."""

    # -- documents (State, Activity Profile, Agent Profile): contents kept byte for byte

    async def get_document(self, scope: DocumentScope, doc_id: str) -> Document | None: ...

    async def document_ids(self, scope: DocumentScope, *, since: str | None = None) -> list[tuple[str, str]]:
        """(id, updated) of the scope's documents (any registration when ``scope.registration`` is None)
        updated after ``since`` (exclusive), ordered by id, each id once (its latest update)."""

    async def save_document(
        self, scope: DocumentScope, doc_id: str, document: Document, *, merge: bool, condition: Precondition
    ) -> None:
        """PUT (``merge`` False) or POST: ``lrs.xapi.documents.write`` applied to the stored document
        and its result stored, atomically (its XAPIError, 409/412/400, leaves everything unchanged)."""

    async def delete_document(self, scope: DocumentScope, doc_id: str, *, condition: Precondition) -> None:
        """Delete one document if ``condition`` holds for it (412 otherwise); no error when it is missing."""

    async def delete_documents(
        self, scope: DocumentScope, *, since: str | None = None, condition: Precondition | None = None
    ) -> None:
        """Delete the scope's documents (any registration when ``scope.registration`` is None)
        updated after ``since`` (exclusive) when given, if ``condition`` holds (``Precondition.check_many``)
        for the ids ``document_ids`` would list with the same arguments, atomically (412 otherwise, and
        nothing deleted)."""

    # -- credentials
    async def put_credential(self, credential: Credential) -> None: ...

    async def get_credential(self, key: str) -> Credential | None: ...

    async def list_credentials(self) -> list[Credential]: ...

    async def revoke_credential(self, key: str) -> bool:
        """Revoke at once; False when there is no such credential."""


async def iter_statements(store: Store, query: StatementQuery) -> AsyncIterator[dict[str, Any]]:
    """Every statement ``query`` matches, page after page (oldest first with ``ascending``)."""
    while True:
        page, cursor = await store.query_statements(query)
        for statement in page:
            yield statement
        if cursor is None:
            return
        query = replace(query, cursor=cursor)


async def all_statements(store: Store, query: StatementQuery) -> list[dict[str, Any]]:
    """``iter_statements`` as a list."""
    return [statement async for statement in iter_statements(store, query)]


def open_store(url: str, **options: Any) -> Store:
    """The backend for a database URL: ``sqlite:///path`` (or a bare path), ``mongodb://host/database``."""
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from lrs.store.mongo import MongoStore

        return MongoStore(url, **options)
    path = sqlite_path(url)
    assert path is not None
    from lrs.store.sqlite import SQLiteStore

    return SQLiteStore(path, **options)


def sqlite_path(url: str) -> str | None:
    """The file of an SQLite database URL (``sqlite:///relative``, ``sqlite:////absolute``, or a bare
    path); None for a MongoDB URL; ValueError for anything else."""
    if url.startswith(("mongodb://", "mongodb+srv://")):
        return None
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///"):
            raise ValueError(f"database URL {url!r}: an SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        path = url[len("sqlite:///"):]
    elif "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path or mongodb://host/database")
    else:
        path = url
    if not path or path.endswith("/") or "?" in path:
        raise ValueError(f"database URL {url!r} names no SQLite file (sqlite:///path/to/file.sqlite3; no ?options)")
    return path
