"""The MongoDB store's documents (State, Activity Profile, Agent Profile): a part of ``MongoStore``.

One document per (resource, activity, agent, registration, id), unique-indexed;
contents kept as bytes with their Content-Type. Writes are a compare-and-swap
on the ETag read, so the concurrency check and the change are one step even
with several LRS processes.
"""

from __future__ import annotations

from typing import Any

from lrs.xapi import documents
from lrs.xapi.documents import Document, DocumentScope, Precondition
from lrs.xapi.errors import XAPIError

RETRIES = 5  # compare-and-swap attempts
# A statement's JSON text, an attachment's data and a document's contents are each one value of one
# MongoDB document, which is at most 16 MiB: larger ones are refused (413) before anything is written.
MAX_VALUE_BYTES = 16 * 1024 * 1024 - 64 * 1024


def check_size(size: int, what: str) -> None:
    """413 when ``what`` (``size`` bytes) would not fit in one MongoDB document."""
    if size > MAX_VALUE_BYTES:
        raise XAPIError(413, f"{what} is {size:,} bytes; the MongoDB store keeps at most {MAX_VALUE_BYTES:,}"
                        " bytes in one value (a MongoDB document is at most 16 MiB)", error="too_large")


class MongoDocuments:
    """Mixed into ``MongoStore``, which provides ``_c(collection name)``."""

    def _c(self, name: str) -> Any:  # pragma: no cover - provided by MongoStore
        raise NotImplementedError

    # -- documents

    @staticmethod
    def _key(scope: DocumentScope, doc_id: str) -> dict[str, str]:
        return {
            "resource": scope.resource, "activity_id": scope.activity_id, "agent": scope.agent,
            "registration": scope.registration or "", "doc_id": doc_id,
        }

    @staticmethod
    def _scope_filter(scope: DocumentScope, since: str | None) -> dict[str, Any]:
        filt: dict[str, Any] = {"resource": scope.resource, "activity_id": scope.activity_id, "agent": scope.agent}
        if scope.registration is not None:
            filt["registration"] = scope.registration
        if since is not None:
            filt["updated"] = {"$gt": since}
        return filt

    @staticmethod
    def _document(row: dict[str, Any] | None) -> Document | None:
        if row is None:
            return None
        return Document(bytes(row["contents"]), row["content_type"], row["updated"], row["etag"])

    async def get_document(self, scope: DocumentScope, doc_id: str) -> Document | None:
        return self._document(await self._c("documents").find_one(self._key(scope, doc_id)))

    async def document_ids(self, scope: DocumentScope, *, since: str | None = None) -> list[tuple[str, str]]:
        rows = await self._c("documents").find(self._scope_filter(scope, since), {"doc_id": 1, "updated": 1}).to_list(None)
        latest: dict[str, str] = {}
        for r in rows:
            if r["doc_id"] not in latest or r["updated"] > latest[r["doc_id"]]:
                latest[r["doc_id"]] = r["updated"]
        return sorted(latest.items())

    async def save_document(
        self, scope: DocumentScope, doc_id: str, document: Document, *, merge: bool, condition: Precondition
    ) -> None:
        from pymongo.errors import DuplicateKeyError

        check_size(len(document.contents), "the document")  # (a merge makes an accepted object larger by a little)
        collection, key = self._c("documents"), self._key(scope, doc_id)
        for _ in range(RETRIES):  # compare-and-swap on the ETag read: the check and the write are one step
            current = self._document(await collection.find_one(key))
            stored = documents.write(current, document, merge=merge, condition=condition)
            if stored is not document:  # a merge: the result, not only what was posted, must fit
                check_size(len(stored.contents), "the merged document")
            fields = {
                **key, "content_type": stored.content_type, "contents": stored.contents, "etag": stored.etag,
                "updated": stored.updated,
            }
            if current is None:
                try:
                    await collection.insert_one(fields)
                    return
                except DuplicateKeyError:
                    continue
            result = await collection.replace_one({**key, "etag": current.etag, "updated": current.updated}, fields)
            if result.matched_count:
                return
        raise XAPIError(409, "the document kept changing while this request was applied; try again", error="conflict")

    async def delete_document(self, scope: DocumentScope, doc_id: str, *, condition: Precondition) -> None:
        collection, key = self._c("documents"), self._key(scope, doc_id)
        for _ in range(RETRIES):
            current = self._document(await collection.find_one(key))
            condition.check(current)
            if current is None:
                return
            result = await collection.delete_one({**key, "etag": current.etag, "updated": current.updated})
            if result.deleted_count:
                return
        raise XAPIError(409, "the document kept changing while this request was applied; try again", error="conflict")

    async def delete_documents(
        self, scope: DocumentScope, *, since: str | None = None, condition: Precondition | None = None
    ) -> None:
        collection, filt = self._c("documents"), self._scope_filter(scope, since)
        if condition is None or not condition.has_headers:
            await collection.delete_many(filt)
            return
        # The ids the GET would list, checked; then exactly the documents read are deleted (by _id, which a
        # replace keeps): a document added meanwhile is not, as if it came after this request.
        rows = await collection.find(filt, {"_id": 1, "doc_id": 1}).to_list(None)
        condition.check_many(sorted({r["doc_id"] for r in rows}))
        if rows:
            await collection.delete_many({**filt, "_id": {"$in": [r["_id"] for r in rows]}})
