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
supports them (replica set or sharded cluster): ``_mongo_write``. On a standalone server every
check (conflicts, voiding rules, credential) still runs before the first write,
so a refused batch writes nothing, but a crash in the middle of writing an
accepted batch can leave part of it stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from lrs.store._mongo_documents import MongoDocuments
from lrs.store._mongo_write import MongoWrites, _chunks
from lrs.store._names import NameCache
from lrs.store.base import Credential, violation_dict
from lrs.xapi.attachments import Part
from lrs.xapi.errors import XAPIError, bad_request, storage_full, storage_unavailable
from lrs.xapi import query as query_module
from lrs.xapi.query import StatementQuery
from lrs.xapi.validate import is_uuid

DEFAULT_DATABASE = "lrs"

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
    # newest first: by the statement's stored (ObjectIds of several processes made within one second
    # have no order; a review), the ObjectId breaking ties
    "profile_violations": [([("stored", -1), ("_id", -1)], {"name": "stored"})],
}


def _database_name(url: str) -> str:
    rest = url.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or DEFAULT_DATABASE


class MongoStore(MongoWrites, MongoDocuments):
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

    def refusal(self, exc: BaseException) -> XAPIError | None:
        return refusal(exc)

    # -- statements (writes: _mongo_write)

    async def profile_violations(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        cursor = self._c("profile_violations").find({}).sort([("stored", -1), ("_id", -1)])
        if limit is not None:
            cursor = cursor.limit(limit)
        return [
            violation_dict((d["statement_id"], d["stored"], d["profile"], d.get("template"), d.get("location"),
                            d.get("found"), d["message"]))
            for d in await cursor.to_list(None)
        ]

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
            if not is_uuid(last_id):  # a statement id, as this store writes its cursors
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
        # Read as a stream, to stop where the page's text would pass the budget (``PAGE_TEXT_BUDGET``;
        # its first statement always counts).
        budget, size, cut = query_module.PAGE_TEXT_BUDGET, 0, False
        rows: list[dict[str, Any]] = []
        cursor = self._find(query)
        try:
            async for row in cursor:
                size += len(row["data"])
                if rows and size > budget:
                    cut = True
                    break
                rows.append(row)
        finally:
            await cursor.close()
        more = cut or len(rows) > query.limit
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
        found: dict[str, dict[str, Any]] = {}
        # In $in lists of at most IN_BYTES, as the writes look them up: a page's ids together can pass
        # the 16 MiB of one command (PyMongo refuses it: a 500 where SQLite answered).
        for chunk in _chunks(ids) if ids else ():
            for r in await self._c("activities").find({"_id": {"$in": chunk}}).to_list(None):
                found[r["_id"]] = orjson.loads(r["definition"])
        return found

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
        # As SQLite's ON CONFLICT DO UPDATE: a credential given anew (LRS_ADMIN_SECRET) keeps its `created`.
        await self._c("credentials").update_one({"_id": credential.key}, {
            "$set": {
                "secret_hash": credential.secret_hash, "scopes": list(credential.scopes),
                "authority": orjson.dumps(credential.authority).decode(), "revoked": credential.revoked,
                "label": credential.label, "extra": orjson.dumps(credential.extra).decode(),
            },
            "$setOnInsert": {"created": credential.created},
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


OUT_OF_DISK_SPACE = 14031  # MongoDB's error code when a write finds no room


def refusal(exc: BaseException) -> XAPIError | None:
    """The answer for a PyMongo error that is the server's state, not a bug (``Store.refusal``):
    unreachable, no primary, a network or operation timeout, a transient transaction error: 503;
    out of disk space: 507. The exception's text (host names) is left to the log."""
    from pymongo import errors

    if not isinstance(exc, errors.PyMongoError):
        return None
    if isinstance(exc, errors.OperationFailure):
        details = exc.details if isinstance(exc.details, dict) else {}
        codes = {exc.code} | {e.get("code") for e in details.get("writeErrors") or () if isinstance(e, dict)}
        if OUT_OF_DISK_SPACE in codes:
            return storage_full("MongoDB: out of disk space")
    if isinstance(exc, (errors.ConnectionFailure, errors.ExecutionTimeout, errors.WriteConcernError)) \
            or exc.has_error_label("TransientTransactionError"):
        return storage_unavailable(f"MongoDB: {type(exc).__name__}")
    return None


def _credential(row: dict[str, Any]) -> Credential:
    return Credential(
        key=row["_id"], secret_hash=row["secret_hash"], scopes=tuple(row["scopes"]),
        authority=orjson.loads(row["authority"]), created=row["created"], revoked=bool(row["revoked"]),
        label=row.get("label"), extra=orjson.loads(row["extra"]) if row.get("extra") else {},
    )
