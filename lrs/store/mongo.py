"""The MongoDB store (PyMongo's native async API), for deployments and scale-out.

Any number of stateless LRS processes share one MongoDB (a replica set, or a
sharded cluster). Collections:

- ``statements``: ``{_id: id, stored, voided, voiding, ref, keys: [...], data}``, and
  ``voids_any: false`` on a voiding statement whose credential could void only its own
  statements (``Store.insert_statements``; a voiding statement without it voids any).
  ``data`` is the statement as JSON text, so every property (extension keys
  with ``$`` or ``.`` included) comes back exactly as stored; ``keys`` are the
  index keys of ``lrs.xapi.keys`` (a multikey index serves every filter).
  Pages are keyset ranges over ``(stored, _id)``.
- ``activities`` (canonical definitions), ``agent_names``, ``documents``,
  ``credentials``.

Request values only ever reach the driver as values inside filters this module
writes (ids, index-key strings, document keys): never as operators.

A batch is atomic through a multi-document transaction when the server
supports them (replica set or sharded cluster). On a standalone server every
check (conflicts, voiding rules, credential) still runs before the first write,
so a refused batch writes nothing, but a crash in the middle of writing an
accepted batch can leave part of it stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from lrs.store._mongo_documents import MAX_VALUE_BYTES, MongoDocuments
from lrs.store._names import NameCache
from lrs.store.base import Credential, ViolationRow, violation_dict
from lrs.xapi import keys as K
from lrs.xapi.activities import batch_definitions, definition_writes
from lrs.xapi.attachments import Part
from lrs.xapi.errors import XAPIError, bad_request, unauthorized
from lrs.xapi.query import StatementQuery
from lrs.xapi.statements import (
    PreparedStatement, check_voiding, check_voiding_rights, declared_by_new, not_stored, voids_on_arrival,
)

DEFAULT_DATABASE = "lrs"
RETRIES = 5  # attempts at a batch (on a replica set, with_transaction also retries conflicts itself)

COLLECTIONS = ("statements", "documents", "activities", "agent_names", "attachments", "profile_violations",
               "credentials")
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "statements": [
        ([("keys", 1), ("voided", 1), ("stored", -1), ("_id", -1)], {"name": "keys_stored"}),
        ([("voided", 1), ("stored", -1), ("_id", -1)], {"name": "stored"}),
        ([("ref", 1)], {"name": "ref", "partialFilterExpression": {"ref": {"$type": "string"}}}),
    ],
    "documents": [
        ([("resource", 1), ("activity_id", 1), ("agent", 1), ("registration", 1), ("doc_id", 1)],
         {"name": "document_key", "unique": True}),
    ],
}


def _database_name(url: str) -> str:
    rest = url.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or DEFAULT_DATABASE


class MongoStore(MongoDocuments):
    """``client``: an already-made async client (tests); by default ``AsyncMongoClient(url)``."""

    def __init__(self, url: str, *, client: Any = None, **_ignored: Any) -> None:
        self.url = url
        self._client = client
        self._db: Any = None
        self._transactions = False
        self._names = NameCache()

    # -- lifecycle

    async def open(self) -> None:
        if self._client is None:
            from pymongo import AsyncMongoClient

            self._client = AsyncMongoClient(self.url, tz_aware=True)
        self._db = self._client[_database_name(self.url)]
        hello = await self._db.command("hello")
        # Transactions need a replica set member or a mongos.
        self._transactions = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"
        for collection, indexes in INDEXES.items():
            for keys, options in indexes:
                await self._db[collection].create_index(keys, **options)
        # Made now, not implicitly by a first write inside a transaction (which two first writers
        # would race for, and which a transaction across shards may not do).
        existing = set(await self._db.list_collection_names())
        for collection in COLLECTIONS:
            if collection not in existing:
                from pymongo.errors import CollectionInvalid

                try:
                    await self._db.create_collection(collection)
                except CollectionInvalid:  # another LRS process made it meanwhile
                    pass

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    @property
    def transactions(self) -> bool:
        """Whether batches are written in a transaction (the server is a replica set or a cluster)."""
        return self._transactions

    def _c(self, name: str) -> Any:
        return self._db[name]

    # -- statements

    async def insert_statements(
        self, batch: Sequence[PreparedStatement], *, define: bool, credential: str | None = None,
        violations: Sequence[ViolationRow] = (), attachments: Sequence[Part] = (), void_any: bool = True,
    ) -> list[str]:
        for p in batch:  # refused before anything is written (a standalone server cannot undo a write)
            if len(p.data) + 64 * len(p.keys) > MAX_VALUE_BYTES // 4:  # its JSON and its index keys
                _check_size(len(p.data.encode()) + sum(len(k.encode()) + 16 for k in p.keys), f"statement {p.id}")
        for part in attachments:
            _check_size(len(part.content), f"the data of attachment {part.sha2}")
        names = self._names.pending(batch, define=define)
        mine: set[str] = set()  # standalone: the ids an earlier attempt of this call stored (nothing undid them)
        violations_saved = False  # standalone: by an earlier attempt

        async def write(session: Any) -> list[str]:
            nonlocal violations_saved
            ids = await self._insert(batch, define, credential, names, session, void_any=void_any,
                                     mine=mine if session is None else set())
            if violations and ids and not violations_saved:
                await self._save_violations(batch, ids, violations, session)
                violations_saved = session is None
            # by digest, written once; only what the statements stored now declare
            wanted = declared_by_new(batch, set(ids)) if attachments else set()
            for part in {a.sha2: a for a in attachments if a.sha2 in wanted}.values():
                update: dict[str, Any] = {"$setOnInsert": {"contentType": part.content_type, "content": part.content}}
                if credential is not None:
                    update["$addToSet"] = {"senders": credential}
                await self._c("attachments").update_one({"_id": part.sha2}, update, upsert=True, session=session)
            return ids

        for attempt in range(RETRIES):
            try:
                if self._transactions:
                    from pymongo import ReadPreference

                    # with_transaction retries a transient conflict and a commit of unknown outcome itself;
                    # a transaction reads from the primary whatever the URL's readPreference says
                    async with self._client.start_session() as session:
                        ids = await session.with_transaction(write, read_preference=ReadPreference.PRIMARY)
                else:
                    ids = await write(None)
                break
            except XAPIError:
                raise
            except Exception as exc:
                # Run it again when it met another writer: (standalone) an id another process stored
                # meanwhile, which the next attempt compares. In a transaction, with_transaction has
                # retried conflicts already (for up to two minutes): what it gives up on is final.
                if attempt == RETRIES - 1 or not _retryable(exc, transient=not self._transactions):
                    raise
        await self._settle(batch, ids, void_any=void_any)
        self._names.recorded(names, define=define)
        return ids

    async def _insert(
        self, batch: Sequence[PreparedStatement], define: bool, credential: str | None,
        names: list[tuple[str, str]], session: Any, *, void_any: bool, mine: set[str],
    ) -> list[str]:
        """Store what of ``batch`` is new; its ids. ``mine``: ids an earlier attempt of this call stored
        (standalone): not inserted again, but everything that follows from storing them is done."""
        from pymongo.errors import BulkWriteError

        statements = self._c("statements")
        if credential is not None:
            row = await self._c("credentials").find_one({"_id": credential}, {"revoked": 1}, session=session)
            if row is None or row.get("revoked"):
                raise unauthorized("unknown or revoked credential")
        new = not_stored(batch, {
            d["_id"]: d["data"]
            for d in await statements.find({"_id": {"$in": [p.id for p in batch]}}, {"data": 1}, session=session).to_list(None)
        })
        inserting = {id(p) for p in new}
        fresh = [p for p in batch if id(p) in inserting or p.id in mine]
        if not fresh:
            await self._save_names(names, define, session)  # also for statements stored before, as SQLite does
            return []
        fresh_ids = [p.id for p in fresh]
        # Voiding, whichever of the voiding statement and its target arrived first.
        voids = [p.voids for p in fresh if p.voids is not None]
        if voids:
            voided = await statements.find(
                {"_id": {"$in": voids}}, {"voiding": 1, "data": 1}, session=session).to_list(None)
            if not void_any:  # (the batch's own statements have its authority)
                check_voiding_rights(batch, fresh, {d["_id"]: d["data"] for d in voided})
            check_voiding(batch, fresh, {p.id for p in fresh if p.is_voiding} | {
                d["_id"] for d in voided if d.get("voiding")})
        referrers = await statements.find(
            _refs_to(fresh_ids), {"voiding": 1, "ref": 1, "voids_any": 1, "data": 1}, session=session,
        ).to_list(None)
        arrived = {p.id: p for p in fresh}
        to_void = set(voids) | {
            r["ref"] for r in referrers
            if r.get("voiding") and voids_on_arrival(r["data"], r.get("voids_any", True), arrived[r["ref"]].data)
        }
        if new:
            try:
                await statements.insert_many([
                    {
                        "_id": p.id, "stored": p.stored, "voided": p.id in to_void and not p.is_voiding,
                        "voiding": p.is_voiding, "ref": p.ref, "keys": sorted(p.keys), "data": p.data,
                        **({} if void_any or not p.is_voiding else {"voids_any": False}),
                    }
                    for p in new
                ], ordered=True, session=session)
            except BulkWriteError as exc:  # ordered: the first nInserted were stored
                mine.update(p.id for p in new[: exc.details.get("nInserted", 0)])
                raise
            mine.update(p.id for p in new)
        await self._save_names(names, define, session)  # (once the statements are in: a refused batch writes none)
        earlier = sorted(to_void - {p.id for p in new})
        if earlier:
            await statements.update_many(
                {"_id": {"$in": earlier}, "voiding": False, "voided": False}, {"$set": {"voided": True}}, session=session
            )
        targets = [p.ref for p in fresh if p.ref is not None]
        if targets or referrers:
            await self._propagate(fresh_ids + targets, session)
        await self._save_definitions(fresh, define, session)
        return fresh_ids

    async def _settle(self, batch: Sequence[PreparedStatement], ids: list[str], *, void_any: bool) -> None:
        """After the write: what this batch and one written at the same moment imply for each other.

        Each write sees what was committed when it read (a transaction's snapshot; on a standalone
        server, what had been written by then), so a voiding statement and its target, or a
        StatementRef and its target, that two requests store at once can each miss the other. The
        last of the two to get here sees both, and does what the first could not (idempotent; SQLite
        writes one batch at a time and needs none of this). The targets and referrers of statements
        of the batch that were stored already are looked at too, so that a request whose settling
        failed is settled when the client sends it again; who stored what is read from the
        database, never from the request. Reads from the primary, whatever the URL's readPreference.
        """
        from pymongo import ReadPreference

        statements = self._c("statements").with_options(read_preference=ReadPreference.PRIMARY)
        batch_ids = list(dict.fromkeys(p.id for p in batch))
        targets = sorted({p.ref for p in batch if p.ref is not None})
        referrers = await statements.find(
            _refs_to(batch_ids), {"voiding": 1, "ref": 1, "voids_any": 1, "data": 1}).to_list(None)
        if not referrers and not targets:
            return
        voiding_referrers = [r for r in referrers if r.get("voiding")]
        new = set(ids)
        voids = {p.voids: p for p in batch if p.voids is not None and p.id in new}  # voiding statements stored now
        candidates = sorted({r["ref"] for r in voiding_referrers} | set(voids))
        unvoided = {d["_id"]: d["data"] for d in await statements.find(
            {"_id": {"$in": candidates}, "voiding": False, "voided": False}, {"data": 1}).to_list(None)
        } if candidates else {}
        to_void = {
            r["ref"] for r in voiding_referrers
            if r["ref"] in unvoided and voids_on_arrival(r["data"], r.get("voids_any", True), unvoided[r["ref"]])
        } | {
            target for target, p in voids.items() if target in unvoided and voids_on_arrival(p.data, void_any, unvoided[target])
        }
        if to_void:
            await statements.update_many(
                {"_id": {"$in": sorted(to_void)}, "voiding": False, "voided": False}, {"$set": {"voided": True}})
        await self._propagate(batch_ids + targets, None, statements)

    async def _propagate(self, targets: list[str], session: Any, statements: Any = None) -> None:
        """Statements targeting these (StatementRef) inherit their filter keys, recursively."""
        statements = statements if statements is not None else self._c("statements")
        while targets:
            referrers = await statements.find(_refs_to(targets), {"keys": 1, "ref": 1}, session=session).to_list(None)
            if not referrers:
                return
            target_keys = {
                d["_id"]: d["keys"] for d in await statements.find(
                    {"_id": {"$in": sorted({r["ref"] for r in referrers})}}, {"keys": 1}, session=session).to_list(None)
            }
            targets = []
            for r in referrers:
                new = {k for k in target_keys.get(r["ref"], ()) if K.inheritable(k)} - set(r["keys"])
                if new:
                    await statements.update_one(
                        {"_id": r["_id"]}, {"$addToSet": {"keys": {"$each": sorted(new)}}}, session=session
                    )
                    targets.append(r["_id"])

    async def _save_definitions(self, new: list[PreparedStatement], define: bool, session: Any) -> None:
        """Canonical Activity definitions (``lrs.xapi.activities.definition_writes``)."""
        definitions = batch_definitions((a for p in new for a in p.activities), define=define)
        if not definitions:
            return
        activities = self._c("activities")
        known = {
            d["_id"]: orjson.loads(d["definition"]) if define else {}
            for d in await activities.find({"_id": {"$in": list(definitions)}}, session=session).to_list(None)
        }
        added, merged = definition_writes(definitions, known, define=define)
        for activity_id, definition in merged.items():
            await activities.update_one(
                {"_id": activity_id}, {"$set": {"definition": orjson.dumps(definition).decode()}}, session=session
            )
        if added:
            from pymongo.errors import BulkWriteError

            try:
                await activities.insert_many(
                    [{"_id": aid, "definition": orjson.dumps(d).decode()} for aid, d in added.items()],
                    ordered=False, session=session,
                )
            except BulkWriteError as exc:
                # Standalone: another writer recorded one of these activities meanwhile; its definition
                # stands, as if it had come first. (In a transaction that is a conflict: the batch is retried.)
                if session is not None or not _only_duplicates(exc):
                    raise

    async def _save_violations(
        self, batch: Sequence[PreparedStatement], ids: list[str], violations: Sequence[ViolationRow], session: Any
    ) -> None:
        new = set(ids)
        stored = {p.id: p.stored for p in batch if p.id in new}
        docs = [
            {"statement_id": sid, "stored": stored[sid], "profile": profile, "template": template,
             "location": location, "found": found, "message": message}
            for sid, profile, template, location, found, message in violations if sid in stored
        ]
        if docs:
            await self._c("profile_violations").insert_many(docs, ordered=True, session=session)

    async def profile_violations(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        cursor = self._c("profile_violations").find({}).sort([("_id", -1)])
        if limit is not None:
            cursor = cursor.limit(limit)
        return [
            violation_dict((d["statement_id"], d["stored"], d["profile"], d.get("template"), d.get("location"),
                            d.get("found"), d["message"]))
            for d in await cursor.to_list(None)
        ]

    async def _save_names(self, names: list[tuple[str, str]], define: bool, session: Any) -> None:
        agent_names = self._c("agent_names")
        for ifi, name in names:
            update = {"$addToSet": {"names": name}} if define else {"$setOnInsert": {"names": [name]}}
            await agent_names.update_one({"_id": ifi}, update, upsert=True, session=session)

    async def get_statement(self, statement_id: str, *, voided: bool) -> dict[str, Any] | None:
        row = await self._c("statements").find_one({"_id": statement_id.lower(), "voided": voided}, {"data": 1})
        return orjson.loads(row["data"]) if row else None

    def _find(self, query: StatementQuery) -> Any:
        keys = query.index_keys()
        clauses: list[dict[str, Any]] = []
        if keys:
            clauses.append({"keys": {"$all": keys}} if len(keys) > 1 else {"keys": keys[0]})
        clauses.append({"voided": False})
        since, until = query.since, query.until
        if query.cursor is not None:
            stored, _, last_id = query.cursor.partition("|")
            if not last_id:
                raise bad_request("more is not a link this LRS issued", path="more", error="parameter")
            # A range on stored the index bounds can use, then the tie-break on _id among equal stored.
            op, bound = ("$gt", "$gte") if query.ascending else ("$lt", "$lte")
            clauses.append({"stored": {bound: stored}})
            clauses.append({"$or": [{"stored": {op: stored}}, {"_id": {op: last_id}}]})
        if since is not None:
            clauses.append({"stored": {"$gt": since}})
        if until is not None:
            clauses.append({"stored": {"$lte": until}})
        direction = 1 if query.ascending else -1
        return (
            self._c("statements")
            .find({"$and": clauses}, {"data": 1, "stored": 1})
            .sort([("stored", direction), ("_id", direction)])
            .limit(query.limit + 1)
        )

    async def query_statements(self, query: StatementQuery) -> tuple[list[dict[str, Any]], str | None]:
        rows = await self._find(query).to_list(None)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        page = [orjson.loads(r["data"]) for r in rows]
        if not more:
            return page, None
        return page, f"{rows[-1]['stored']}|{rows[-1]['_id']}"

    async def explain_query(self, query: StatementQuery) -> dict[str, Any]:
        """The server's ``explain()`` of the find behind ``query_statements(query)``."""
        return await self._find(query).explain()

    async def activities(self, activity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(activity_ids))
        if not ids:
            return {}
        rows = await self._c("activities").find({"_id": {"$in": ids}}).to_list(None)
        return {r["_id"]: orjson.loads(r["definition"]) for r in rows}

    async def get_attachments(self, hashes: Iterable[str], *, sent_by: str | None = None) -> dict[str, Part]:
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return {}
        query: dict[str, Any] = {"_id": {"$in": wanted}}
        if sent_by is not None:
            query["$or"] = [{"senders": sent_by}, {"senders": {"$exists": False}}]
        rows = await self._c("attachments").find(query).to_list(None)
        return {r["_id"]: Part(r["_id"], r["contentType"], bytes(r["content"])) for r in rows}

    async def agent_names(self, ifi: str) -> list[str]:
        row = await self._c("agent_names").find_one({"_id": ifi})
        return list(row["names"]) if row else []

    # -- credentials

    async def put_credential(self, credential: Credential) -> None:
        await self._c("credentials").replace_one({"_id": credential.key}, {
            "_id": credential.key, "secret_hash": credential.secret_hash, "scopes": list(credential.scopes),
            "authority": orjson.dumps(credential.authority).decode(), "created": credential.created,
            "revoked": credential.revoked, "label": credential.label, "extra": orjson.dumps(credential.extra).decode(),
        }, upsert=True)

    async def get_credential(self, key: str) -> Credential | None:
        row = await self._c("credentials").find_one({"_id": key})
        return _credential(row) if row else None

    async def list_credentials(self) -> list[Credential]:
        rows = await self._c("credentials").find({}).sort([("created", 1), ("_id", 1)]).to_list(None)
        return [_credential(r) for r in rows]

    async def revoke_credential(self, key: str) -> bool:
        result = await self._c("credentials").update_one({"_id": key}, {"$set": {"revoked": True}})
        return result.matched_count > 0


def _refs_to(ids: list[str]) -> dict[str, Any]:
    """Statements whose StatementRef targets one of ``ids``. The ``$type`` is the ``ref`` index's own
    partial filter: MongoDB uses a partial index only for a query that states its filter (an ``$in``
    of strings does not imply ``$type: "string"``), and would otherwise scan every statement."""
    return {"ref": {"$in": ids, "$type": "string"}}


def _check_size(size: int, what: str) -> None:
    if size > MAX_VALUE_BYTES:
        raise XAPIError(413, f"{what} is {size:,} bytes; the MongoDB store keeps at most {MAX_VALUE_BYTES:,}"
                        " bytes in one value (a MongoDB document is at most 16 MiB)", error="too_large")


def _only_duplicates(exc: Any) -> bool:
    errors = exc.details.get("writeErrors") or ()
    return bool(errors) and all(e.get("code") == 11000 for e in errors)


def _retryable(exc: Exception, *, transient: bool = True) -> bool:
    """A duplicate id another writer stored meanwhile; with ``transient``, also a transient error."""
    from pymongo.errors import BulkWriteError, DuplicateKeyError

    labels = getattr(exc, "has_error_label", None)
    if transient and labels is not None and labels("TransientTransactionError"):
        return True
    if isinstance(exc, DuplicateKeyError):
        return True
    if isinstance(exc, BulkWriteError):
        return _only_duplicates(exc)
    return False


def _credential(row: dict[str, Any]) -> Credential:
    return Credential(
        key=row["_id"], secret_hash=row["secret_hash"], scopes=tuple(row["scopes"]),
        authority=orjson.loads(row["authority"]), created=row["created"], revoked=bool(row["revoked"]),
        label=row.get("label"), extra=orjson.loads(row["extra"]) if row.get("extra") else {},
    )
