"""The MongoDB store's statement writes (``Store.insert_statements``): a part of ``MongoStore``.

A batch is written in one multi-document transaction on a replica set or a cluster
(``with_transaction``, reading from the primary); on a standalone server every check runs
before the first write. After the write, ``_settle`` completes what a batch stored at the same
moment implies (voiding, StatementRef keys), which each transaction's snapshot can miss.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from lrs.store import _mongo_documents
from lrs.store._mongo_documents import check_size
from lrs.store._names import NameCache
from lrs.store.base import ViolationRow
from lrs.xapi import keys as K
from lrs.xapi.activities import batch_definitions, definition_writes, merge_definition
from lrs.xapi.attachments import Part
from lrs.xapi.errors import REFUSED, XAPIError, unauthorized
from lrs.xapi.statements import (
    PreparedStatement, check_voiding_rights, declared_by_new, not_stored, voids_on_arrival,
)

RETRIES = 5  # attempts at a batch (on a replica set, with_transaction also retries conflicts itself)
IN_BYTES = 4 * 1024 * 1024  # the values of one $in at most: a command is at most 16 MiB (and 16 KiB)


def _chunks(values: list[str]) -> list[list[str]]:
    """``values`` in lists of at most ``IN_BYTES`` (a review: four activity ids of 4.5 MB, each statement
    within the document limit, made one look-up of 18 MB, which a server refuses)."""
    out: list[list[str]] = [[]]
    size = 0
    for value in values:
        length = len(value.encode()) + 16
        if out[-1] and size + length > IN_BYTES:
            out.append([])
            size = 0
        out[-1].append(value)
        size += length
    return out


class MongoWrites:
    """Mixed into ``MongoStore``, which provides ``_c(collection name)``, its client, whether the
    server has transactions, and the cache of agent names already recorded."""

    _client: Any
    _transactions: bool
    _names: NameCache

    def _c(self, name: str) -> Any:  # pragma: no cover - provided by MongoStore
        raise NotImplementedError

    async def insert_statements(
        self, batch: Sequence[PreparedStatement], *, define: bool, credential: str | None = None,
        violations: Sequence[ViolationRow] = (), attachments: Sequence[Part] = (), void_any: bool = True,
    ) -> list[str]:
        for p in batch:  # refused before anything is written (a standalone server cannot undo a write)
            # Its JSON and its index keys, in bytes: a character takes up to 4 in UTF-8 (a review found
            # 1.5 million emoji in one id, 6 MB sent and 18 MB to store, counted as characters: a 500).
            if 4 * (len(p.data) + sum(map(len, p.keys))) + 16 * len(p.keys) > _mongo_documents.MAX_VALUE_BYTES:
                check_size(len(p.data.encode()) + sum(len(k.encode()) + 16 for k in p.keys), f"statement {p.id}")
        for part in attachments:
            check_size(len(part.content), f"the data of attachment {part.sha2}")
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
        await self._settle(batch)
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
                raise unauthorized(REFUSED)
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
        if voids and not void_any:  # (the batch's own statements have its authority)
            voided = await statements.find({"_id": {"$in": voids}}, {"data": 1}, session=session).to_list(None)
            check_voiding_rights(batch, fresh, {d["_id"]: d["data"] for d in voided})
        # A statement that voids a voiding statement is stored and voids nothing (XAPI-00016):
        # _mark_voided and the insert below leave voiding statements alone.
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
        earlier = to_void - {p.id for p in new}
        if earlier:
            await _mark_voided(statements, earlier, session)
        targets = [p.ref for p in fresh if p.ref is not None]
        if targets or referrers:
            await self._propagate(fresh_ids, session)
        await self._save_definitions(fresh, define, session)
        return fresh_ids

    async def _settle(self, batch: Sequence[PreparedStatement]) -> None:
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
        # Voiding statements that reach the batch, and the batch's own voiding statements as stored (also
        # those stored before: a re-sent voiding statement whose first request failed after its insert
        # voids its target now; a review found it left unvoided for good). Rights come from the database.
        voiders = [r for r in referrers if r.get("voiding")]
        own = [p.id for p in batch if p.voids is not None]
        if own:
            voiders += await statements.find(
                {"_id": {"$in": own}, "voiding": True}, {"ref": 1, "voids_any": 1, "data": 1}).to_list(None)
        candidates = sorted({r["ref"] for r in voiders})
        unvoided = {d["_id"]: d["data"] for d in await statements.find(
            {"_id": {"$in": candidates}, "voiding": False, "voided": False}, {"data": 1}).to_list(None)
        } if candidates else {}
        to_void = {
            r["ref"] for r in voiders
            if r["ref"] in unvoided and voids_on_arrival(r["data"], r.get("voids_any", True), unvoided[r["ref"]])
        }
        if to_void:
            await _mark_voided(statements, to_void, None)
        await self._propagate(batch_ids, None, statements)

    async def _propagate(self, new_ids: list[str], session: Any, statements: Any = None) -> None:
        """Statements reaching these through StatementRefs, and those of these that target another,
        inherit their targets' keys, recursively (``lrs.xapi.keys.spread``): one update per statement
        that gains any."""
        statements = statements if statements is not None else self._c("statements")
        referrers: dict[str, tuple[str, set[str]]] = {}  # statement id -> (its target, its keys)

        def take(docs: list[dict[str, Any]]) -> list[str]:
            taken = []
            for d in docs:
                if d["_id"] not in referrers:
                    referrers[d["_id"]] = (d["ref"], set(d["keys"]))
                    taken.append(d["_id"])
            return taken

        take(await statements.find({"_id": {"$in": new_ids}, "ref": {"$type": "string"}}, {"keys": 1, "ref": 1},
                                   session=session).to_list(None))
        frontier = new_ids  # then what reaches these, level by level
        while frontier:
            frontier = take(await statements.find(_refs_to(frontier), {"keys": 1, "ref": 1},
                                                  session=session).to_list(None))
        if not referrers:
            return
        outside = sorted({ref for ref, _ in referrers.values() if ref not in referrers})
        target_keys = {d["_id"]: set(d["keys"]) for d in await statements.find(
            {"_id": {"$in": outside}}, {"keys": 1}, session=session).to_list(None)}
        for statement_id, new in K.spread(referrers, target_keys, K.inheritable).items():
            await statements.update_one(
                {"_id": statement_id}, {"$addToSet": {"keys": {"$each": sorted(new)}}}, session=session
            )

    async def _save_definitions(self, new: list[PreparedStatement], define: bool, session: Any) -> None:
        """Canonical Activity definitions (``lrs.xapi.activities.definition_writes``).

        A merge (``define``) is written as a compare-and-set on the definition's JSON text as read:
        on a standalone server (no transactions) another request may have changed it meanwhile, and
        then it is read again and merged into (in a transaction that is a write conflict, and the
        whole batch is retried). So neither of two requests that define one Activity at once is lost.
        """
        definitions = batch_definitions((a for p in new for a in p.activities), define=define)
        if not definitions:
            return
        activities = self._c("activities")
        texts = {}
        for ids in _chunks(list(definitions)):
            for d in await activities.find({"_id": {"$in": ids}}, session=session).to_list(None):
                texts[d["_id"]] = d["definition"]
        known = {aid: orjson.loads(text) if define else {} for aid, text in texts.items()}
        added, merged = definition_writes(definitions, known, define=define)
        for activity_id, definition in merged.items():
            await _merge_definition(activities, activity_id, definitions[activity_id], texts[activity_id],
                                    definition, session)
        if added:
            from pymongo.errors import BulkWriteError

            rows = list(added.items())
            encoded = [orjson.dumps(d) for _, d in rows]
            if any(len(text) > _mongo_documents.MAX_VALUE_BYTES for text in encoded):
                # The batch's definitions of a new activity merged past what one value may hold: it gets
                # the first one, as without define (each statement's fits).
                first = batch_definitions((a for p in new for a in p.activities), define=False)
                rows = [(aid, d if len(text) <= _mongo_documents.MAX_VALUE_BYTES else first[aid])
                        for (aid, d), text in zip(rows, encoded)]
                encoded = [orjson.dumps(d) for _, d in rows]
            try:
                await activities.insert_many(
                    [{"_id": aid, "definition": text.decode(), "sha": _digest(text)} for (aid, _), text in zip(rows, encoded)],
                    ordered=False, session=session,
                )
            except BulkWriteError as exc:
                # Standalone: another writer recorded one of these activities meanwhile. Without define
                # its definition stands, as if it had come first; with define this one is merged into it.
                # (In a transaction that is a conflict: the batch is retried.)
                if session is not None or not _only_duplicates(exc):
                    raise
                if define:
                    for error in exc.details.get("writeErrors") or ():
                        aid, definition = rows[error["index"]]
                        await _merge_definition(activities, aid, definition, None, None, session)

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


    async def _save_names(self, names: list[tuple[str, str]], define: bool, session: Any) -> None:
        """Record agent names: one round trip for the batch (each an upsert; order does not matter)."""
        if not names:
            return
        from pymongo import UpdateOne

        await self._c("agent_names").bulk_write([
            UpdateOne({"_id": ifi}, {"$addToSet": {"names": name}} if define else {"$setOnInsert": {"names": [name]}},
                      upsert=True)
            for ifi, name in names
        ], ordered=False, session=session)


def _refs_to(ids: list[str]) -> dict[str, Any]:
    """Statements whose StatementRef targets one of ``ids``. The ``$type`` is the ``ref`` index's own
    partial filter: MongoDB uses a partial index only for a query that states its filter (an ``$in``
    of strings does not imply ``$type: "string"``), and would otherwise scan every statement."""
    return {"ref": {"$in": ids, "$type": "string"}}


MERGE_ATTEMPTS = 20  # compare-and-set attempts at one Activity's definition before the last merge is written as is


async def _merge_definition(
    activities: Any, activity_id: str, incoming: dict[str, Any], seen: str | None,
    merged: dict[str, Any] | None, session: Any,
) -> None:
    """Merge ``incoming`` into the canonical definition whose JSON text was ``seen`` when read
    (``merged``: that merge, if already made; ``seen`` None: read it now), unless it changed meanwhile:
    then read it again and merge into what is there. After ``MERGE_ATTEMPTS`` lost races (only under
    a storm of updates to this one Activity), the merge into the latest is written as is."""
    for attempt in range(MERGE_ATTEMPTS + 1):
        if seen is None:
            doc = await activities.find_one({"_id": activity_id}, {"definition": 1}, session=session)
            if doc is None:  # (activities are never removed while the LRS runs; nothing to merge into)
                return
            seen, merged = doc["definition"], None
        current = orjson.loads(seen)
        merged = merged if merged is not None else merge_definition(current, incoming)
        if merged == current:
            return
        text = orjson.dumps(merged)
        if len(text) > _mongo_documents.MAX_VALUE_BYTES:
            # One value of one MongoDB document cannot hold it (the update was a 500, after the batch's
            # statements were stored on a standalone server): the canonical definition stays as it is.
            return
        condition = {"_id": activity_id} if attempt == MERGE_ATTEMPTS else _unchanged(activity_id, seen)
        result = await activities.update_one(
            condition, {"$set": {"definition": text.decode(), "sha": _digest(text)}}, session=session)
        if result.matched_count:
            return
        seen, merged = None, None


LEGACY_TEXT = 8 * 1024  # characters: a definition written before "sha" is compared as text up to this


def _digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def _unchanged(activity_id: str, seen: str) -> dict[str, Any]:
    """The filter of a compare-and-set on a definition whose JSON text was ``seen``: on its digest, not on
    the text, whose few MB would make the command pass MongoDB's 16 MiB together with the new text (a
    definition of 6 MB could not be merged into: a 500). One written before digests were kept (no
    ``sha``) is compared as text when short, otherwise only as one still without a digest."""
    legacy: dict[str, Any] = {"sha": {"$exists": False}}
    if len(seen) <= LEGACY_TEXT:
        legacy["definition"] = seen
    return {"_id": activity_id, "$or": [{"sha": _digest(seen.encode())}, legacy]}


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


async def _mark_voided(statements: Any, ids: Any, session: Any) -> None:
    """Mark these statements voided, except voiding statements and those voided already."""
    await statements.update_many(
        {"_id": {"$in": sorted(ids)}, "voiding": False, "voided": False}, {"$set": {"voided": True}}, session=session
    )
