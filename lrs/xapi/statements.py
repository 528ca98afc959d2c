"""Statements as the LRS stores them: ids, stored/authority/version/timestamp,
index keys, voiding targets, and the equivalence rule behind 409 Conflict.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from lrs.xapi import keys as K
from lrs.xapi import strict_json
from lrs.xapi.agents import ifi_key, member_keys
from lrs.xapi.attachments import wanted_hashes
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi.timestamps import has_utc_zone, parse_timestamp, to_utc
from lrs.xapi.versions import is_v2

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")
# Not compared when a statement meets one already stored (xAPI 2.0 §4.2: "shall specifically not
# consider ... Id, Authority, Stored, Timestamp, Version, Any attachments"; 1.0.3 Data 2.3.1.b1 and
# b6: properties the LRS may assign, and Attachments, which are not part of the statement).
NOT_COMPARED = ("id", "stored", "authority", "version", "timestamp", "attachments")


@dataclass
class PreparedStatement:
    """A validated statement, completed by the LRS, with what the stores index."""

    id: str  # lower-case UUID, the storage key
    stored: str
    statement: dict[str, Any] | None  # what GET returns (format=exact); None in a writer (see data)
    keys: frozenset[str]  # own index keys (see lrs.xapi.keys)
    verb: str
    ref: str | None = None  # object StatementRef target id: filters follow it
    voids: str | None = None  # target id when this is a voiding statement
    activities: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (id, definition)
    data: str = ""  # the statement as JSON text (what the stores keep)

    @property
    def is_voiding(self) -> bool:
        return self.voids is not None

    def document(self) -> dict[str, Any]:
        """The statement as a dict (parsed back from ``data`` after pickling, and not kept: a writer
        comparing a re-sent batch of thousands with what is stored would hold them all)."""
        return self.statement if self.statement is not None else orjson.loads(self.data)

    def to_row(self) -> tuple:
        """What a store's writer needs, as a tuple of plain values (cheap to pickle to a writer process)."""
        return (
            self.id, self.stored, self.verb, self.ref, self.voids, tuple(self.keys), self.data,
            self.activities,
        )

    @classmethod
    def from_row(cls, row: tuple) -> "PreparedStatement":
        sid, stored, verb, ref, voids, keys, data, activities = row
        return cls(
            id=sid, stored=stored, statement=None, keys=frozenset(keys), verb=verb, ref=ref, voids=voids,
            activities=activities, data=data,
        )


def new_id() -> str:
    return str(uuid.uuid4())


def prepare(
    statement: dict[str, Any],
    *,
    stored: str,
    authority: dict[str, Any],
    api_version: str,
    path: str = "",
) -> PreparedStatement:
    """Complete a validated statement as the LRS stores it (mutates and returns it wrapped).

    Sets ``id`` when missing, overwrites ``stored`` and ``authority``, sets ``version``
    when missing, sets ``timestamp`` to ``stored`` when missing (and converts it and a
    SubStatement's to UTC under 2.0), and writes every ``contextActivities`` value as an
    array. A statement the LRS could not write back inside a StatementResult
    (``strict_json.dumps``; such an array is one level deeper than the object it
    replaces) is a 400 naming ``path``.
    """
    if "id" not in statement:
        statement["id"] = new_id()
    statement["stored"] = stored
    statement["authority"] = authority
    v2 = is_v2(api_version)
    statement.setdefault("version", "2.0.0" if v2 else "1.0.0")
    if "timestamp" not in statement:
        statement["timestamp"] = stored
    elif v2 and not has_utc_zone(statement["timestamp"]):
        statement["timestamp"] = to_utc(statement["timestamp"])
    obj = statement["object"]
    if v2 and obj.get("objectType") == "SubStatement" and "timestamp" in obj and not has_utc_zone(obj["timestamp"]):
        obj["timestamp"] = to_utc(obj["timestamp"])  # 2.0 §4.2.7: every Timestamp, a SubStatement's too
    verb = statement["verb"]["id"]
    ref = obj["id"].lower() if obj.get("objectType") == "StatementRef" else None
    keys: set[str] = set()
    activities: list[tuple[str, dict[str, Any]]] = []
    _walk(statement, keys, activities)
    try:
        data = strict_json.dumps(statement).decode()
    except ValueError as exc:
        raise bad_request(f"the statement cannot be stored: {exc}", path=path, error="validation") from None
    return PreparedStatement(
        id=statement["id"].lower(),
        stored=stored,
        statement=statement,
        keys=frozenset(keys),
        verb=verb,
        ref=ref,
        voids=ref if verb == VOIDED_VERB else None,
        activities=activities,
        data=data,
    )


# -- index keys and activities -----------------------------------------------------------

def _walk(statement: dict[str, Any], keys: set[str], activities: list[tuple[str, dict[str, Any]]]) -> None:
    """One pass over a statement: its index keys into ``keys``, every Activity carrying a
    definition into ``activities`` (in statement order), and every ``contextActivities``
    value written as an array (in the statement and in its SubStatement).
    """
    add = keys.add
    add(K.VERB + statement["verb"]["id"])
    for ifi in member_keys(statement["actor"]):
        add(K.AGENT + ifi)
        add(K.RELATED_AGENT + ifi)
    obj = statement["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        add(K.ACTIVITY + obj["id"])
        add(K.RELATED_ACTIVITY + obj["id"])
        if "definition" in obj:
            activities.append((obj["id"], obj["definition"]))
    elif kind in ("Agent", "Group"):
        for ifi in member_keys(obj):
            add(K.AGENT + ifi)
            add(K.RELATED_AGENT + ifi)
    context = statement.get("context")
    if context:
        if "registration" in context:
            add(K.registration(context["registration"]))
        _context(context, add, activities)
    if kind == "SubStatement":
        _substatement(obj, add, activities)
    authority = statement.get("authority")
    if isinstance(authority, dict):
        for ifi in member_keys(authority):
            add(K.RELATED_AGENT + ifi)
        own = ifi_key(authority)
        if own is not None:
            add(K.AUTHORITY + own)


def _substatement(sub: dict[str, Any], add: Any, activities: list[tuple[str, dict[str, Any]]]) -> None:
    """A SubStatement's agents and activities, as related keys."""
    for ifi in member_keys(sub["actor"]):
        add(K.RELATED_AGENT + ifi)
    obj = sub["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        add(K.RELATED_ACTIVITY + obj["id"])
        if "definition" in obj:
            activities.append((obj["id"], obj["definition"]))
    elif kind in ("Agent", "Group"):
        for ifi in member_keys(obj):
            add(K.RELATED_AGENT + ifi)
    context = sub.get("context")
    if context:
        _context(context, add, activities)


def _context(context: dict[str, Any], add: Any, activities: list[tuple[str, dict[str, Any]]]) -> None:
    for role in ("instructor", "team"):
        if isinstance(context.get(role), dict):
            for ifi in member_keys(context[role]):
                add(K.RELATED_AGENT + ifi)
    for entry in context.get("contextAgents") or ():
        for ifi in member_keys(entry.get("agent") or {}):
            add(K.RELATED_AGENT + ifi)
    for entry in context.get("contextGroups") or ():
        for ifi in member_keys(entry.get("group") or {}):
            add(K.RELATED_AGENT + ifi)
    context_activities = context.get("contextActivities")
    if isinstance(context_activities, dict):
        for kind, value in context_activities.items():
            if isinstance(value, dict):
                value = context_activities[kind] = [value]
            for activity in value:
                if isinstance(activity, dict) and "id" in activity:
                    add(K.RELATED_ACTIVITY + activity["id"])
                    if "definition" in activity and activity.get("objectType", "Activity") == "Activity":
                        activities.append((activity["id"], activity["definition"]))


# -- equivalence ----------------------------------------------------------------------

def equivalent(stored: dict[str, Any], incoming: PreparedStatement) -> bool:
    """Whether ``incoming`` is the statement already stored under its id.

    Differences the spec lists as exceptions to immutability are ignored (Data
    2.3.1; xAPI 2.0 §4.2): the properties the LRS may assign (``timestamp`` among
    them), Attachments, key order, the order of Group members, Activity
    definitions and Verb displays (which are not part of the statement), a single
    context Activity vs. an array, and case where it carries no meaning (an e-mail
    domain, a SHA-1 sum, a UUID). An ``objectType`` left out is its default (Agent
    for an actor, Activity for an object). Under 2.0, durations are compared to 0.01 s (2.0 §4.2.7); under
    1.0.3 a duration is compared as a string (Data 2.3.1.b8). Extensions are
    compared as sent.
    """
    document = incoming.document()
    return same_content(stored, document, centiseconds=is_v2(str(document.get("version", ""))))


def same_content(a: dict[str, Any], b: dict[str, Any], *, centiseconds: bool = False) -> bool:
    """Whether two statements are the same by the comparison rules of ``equivalent`` (``centiseconds``:
    durations to 0.01 s, as 2.0 compares them; else as strings, as 1.0.3 does)."""
    return comparable(a, centiseconds) == comparable(b, centiseconds)


def comparable(statement: dict[str, Any], centiseconds: bool) -> dict[str, Any]:
    """What ``same_content`` compares of a statement (made once for a statement compared many times)."""
    out = {k: v for k, v in statement.items() if k not in NOT_COMPARED}
    return _normalise(out, None, centiseconds)


# The objectType of an object that leaves it out, by the property that holds the object.
DEFAULT_OBJECT_TYPES = {"actor": "Agent", "instructor": "Agent", "member": "Agent", "agent": "Agent", "object": "Activity"}
_FRACTIONAL_SECONDS = re.compile(r"(\d+)[.,](\d+)S$")


def _normalise(value: Any, key: str | None, centiseconds: bool) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "definition" and value.get("objectType", "Activity") == "Activity" and "id" in value:
                continue
            if key == "verb" and k == "display":
                continue
            out[k] = v if k == "extensions" else _normalise(v, k, centiseconds)
        if key in DEFAULT_OBJECT_TYPES and "objectType" not in out:
            out["objectType"] = DEFAULT_OBJECT_TYPES[key]
        if out.get("objectType") == "StatementRef" and isinstance(out.get("id"), str):
            out["id"] = out["id"].lower()
        if out.get("objectType") == "Group" and isinstance(out.get("member"), list):
            out["member"] = sorted(out["member"], key=lambda m: orjson.dumps(m, option=orjson.OPT_SORT_KEYS))
        if key == "contextActivities":
            out = {k: v if isinstance(v, list) else [v] for k, v in out.items()}
        return out
    if isinstance(value, list):
        return [_normalise(v, key, centiseconds) for v in value]
    if isinstance(value, str):
        if key == "timestamp":
            moment = parse_timestamp(value)
            return moment.timestamp() if moment else value
        if key in ("registration", "mbox_sha1sum"):
            return value.lower()
        if key == "mbox":
            mailbox, at, domain = value.rpartition("@")
            return mailbox + at + domain.lower()
        if key == "duration" and centiseconds:
            return _to_centiseconds(value)
    return value


def _to_centiseconds(duration: str) -> str:
    """An ISO 8601 duration with its seconds cut to 0.01 s and no trailing zeros: PT1.009S and PT1.00S -> PT1S."""
    match = _FRACTIONAL_SECONDS.search(duration)
    if match is None:
        return duration
    fraction = match.group(2)[:2].rstrip("0")
    return duration[:match.start()] + match.group(1) + ("." + fraction if fraction else "") + "S"


def declared_by_new(batch: Sequence[PreparedStatement], new_ids: Collection[str]) -> set[str]:
    """The sha2 of the Attachments that the statements of ``batch`` stored now (``new_ids``) declare:
    the attachment data a store keeps. A re-sent statement (stored already, and equal to it whatever
    its attachments) brings none."""
    return wanted_hashes(p.document() for p in batch if p.id in new_ids)


def not_stored(batch: Sequence[PreparedStatement], stored: Mapping[str, str]) -> list[PreparedStatement]:
    """The statements of ``batch`` to store, given the JSON text of those whose ids are stored already.

    An equivalent re-send is skipped; a different statement under a stored id is a 409 naming it.
    """
    located = len(batch) > 1
    new: list[PreparedStatement] = []
    for index, prepared in enumerate(batch):
        if prepared.id in stored:
            if equivalent(orjson.loads(stored[prepared.id]), prepared):
                continue
            raise XAPIError(
                409, f"a different statement with id {prepared.id} is already stored",
                path=f"[{index}].id" if located else "id", error="conflict", statementId=prepared.id,
            )
        new.append(prepared)
    return new


def stored_by(data: str | bytes) -> str:
    """Who stored a statement, from its JSON text as stored: its authority as a key to compare."""
    authority = orjson.loads(data).get("authority") or {}
    return ifi_key(authority) or orjson.dumps(authority, option=orjson.OPT_SORT_KEYS).decode()


def check_voiding_rights(
    batch: Sequence[PreparedStatement], new: list[PreparedStatement], targets: Mapping[str, str | bytes]
) -> None:
    """403 when a new statement voids a stored statement of another authority (``targets``: the JSON
    text of the stored statements that the batch voids).

    Data 2.3.2.s2.b4: the LRS SHOULD refuse a voiding statement "if the request is not from a source
    authorized to void Statements". Here a credential may void the statements it stored itself (each
    credential is its own authority); a store skips this check for one that may void any (scope ``all``).
    """
    fresh = {id(p) for p in new}
    for index, prepared in enumerate(batch):
        if id(prepared) in fresh and prepared.voids in targets and (
            stored_by(targets[prepared.voids]) != stored_by(prepared.data)
        ):
            raise XAPIError(
                403, f"statement {prepared.voids} was stored by another credential: only the credential that"
                " stored a statement, or one with the scope all, may void it",
                path=f"[{index}].object.id" if len(batch) > 1 else "object.id", error="forbidden",
            )


def voids_on_arrival(voiding_data: str | bytes, voids_any: bool, target_data: str | bytes) -> bool:
    """Whether a voiding statement stored before its target (both as stored JSON) voids it now that it
    arrives: when the voiding one's credential could void any statement, or the target has the same authority."""
    return voids_any or stored_by(voiding_data) == stored_by(target_data)
