"""One statement -> one row of the ``statements`` table (pure).

Fixed columns come from ``STATEMENT_COLUMNS`` (name, dtype, description,
source). Result and context extensions become one column each: keyed here by
``result_ext:<IRI>`` / ``context_ext:<IRI>``, renamed to short readable names
that depend on the IRI alone (``short_names``). Actor ids come from the IFI,
through ``Pseudonymizer`` when the export is pseudonymised.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import isodate
import orjson

from lrs.xapi.agents import ifi_key
from lrs.xapi.vocabulary import SG_EXTENSIONS

RESULT_EXT = "result_ext:"
CONTEXT_EXT = "context_ext:"
FREE_TEXT_INTERACTIONS = frozenset({"fill-in", "long-fill-in", "other"})

# (column, dtype, description, source): the codebook of the fixed columns.
STATEMENT_COLUMNS: list[tuple[str, str, str, str]] = [
    ("id", "string", "statement id (UUID)", "id"),
    ("timestamp", "datetime64[UTC]", "when the event happened (as the game said)", "timestamp"),
    ("stored", "datetime64[UTC]", "when the LRS stored the statement", "stored"),
    ("actor_id", "string", "stable id of the actor from its identifier (IFI); a keyed pseudonym when pseudonymised",
     "actor (mbox, mbox_sha1sum, openid or account)"),
    ("actor_name", "string", "the actor's name (empty when names are dropped)", "actor.name"),
    ("verb_id", "string", "verb IRI", "verb.id"),
    ("verb", "string", "verb display (en-US, en, else the first language)", "verb.display"),
    ("object_id", "string", "object id: activity IRI, statement id, or the agent's id", "object.id"),
    ("object_type", "string", "Activity, Agent, Group, StatementRef or SubStatement", "object.objectType"),
    ("activity_type", "string", "activity type IRI", "object.definition.type"),
    ("object_name", "string", "activity name (en-US, en, else the first language)", "object.definition.name"),
    ("success", "boolean", "result.success", "result.success"),
    ("completion", "boolean", "result.completion", "result.completion"),
    ("response", "string", "result.response (free-text answers dropped or hashed when pseudonymised)",
     "result.response"),
    ("score_scaled", "float64", "scaled score, -1..1", "result.score.scaled"),
    ("score_raw", "float64", "raw score", "result.score.raw"),
    ("score_min", "float64", "lowest possible raw score", "result.score.min"),
    ("score_max", "float64", "highest possible raw score", "result.score.max"),
    ("duration_s", "float64", "result.duration in seconds (ISO 8601 duration parsed with isodate)", "result.duration"),
    ("registration", "string", "context.registration (UUID): one play session or enrolment", "context.registration"),
    ("parent_id", "string", "context parent activity ids (|-separated when several)",
     "context.contextActivities.parent[*].id"),
    ("grouping_id", "string", "context grouping activity ids (|-separated when several)",
     "context.contextActivities.grouping[*].id"),
    ("category_id", "string", "context category activity ids (|-separated), e.g. the profile",
     "context.contextActivities.category[*].id"),
    ("platform", "string", "context.platform", "context.platform"),
    ("language", "string", "context.language", "context.language"),
]
VOIDED_COLUMN = ("voided", "boolean", "the statement was voided (only with --include-voided)", "LRS voiding state")


@dataclass(frozen=True)
class Privacy:
    """How personal data leaves the LRS: actor ids, names and free-text answers."""

    key: bytes | None = None  # HMAC key: actor ids become pseudonyms
    names: str = "keep"  # keep | hash | drop
    free_text: str = "keep"  # keep | hash | drop

    @property
    def pseudonymized(self) -> bool:
        return self.key is not None

    @functools.cached_property
    def _cache(self) -> dict[str, str]:
        return {}

    def actor_id(self, agent: Any) -> str | None:
        if not isinstance(agent, dict):
            return None
        key = ifi_key(agent)
        if key is None:  # an anonymous group: its members
            members = [ifi_key(m) for m in agent.get("member") or () if isinstance(m, dict)]
            key = "group:" + ",".join(sorted(m for m in members if m))
        if self.key is None:
            return key
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = "p_" + hmac.new(self.key, key.encode(), hashlib.sha256).hexdigest()[:20]
        return cached

    def text(self, value: str | None, policy: str) -> str | None:
        if value is None or policy == "keep":
            return value
        if policy == "drop":
            return None
        digest = hmac.new(self.key or b"", value.encode(), hashlib.sha256).hexdigest()[:20]
        return "h_" + digest


def _display(language_map: Any) -> str | None:
    if not isinstance(language_map, dict) or not language_map:
        return None
    for tag in ("en-US", "en", "en-GB"):
        if tag in language_map:
            return language_map[tag]
    return next(iter(language_map.values()))


@functools.lru_cache(maxsize=4096)
def duration_seconds(value: str) -> float | None:
    try:
        duration = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError, TypeError, OverflowError):  # (P1000000000D: past timedelta's range)
        return None
    if isinstance(duration, isodate.Duration):  # years or months: no fixed length in seconds
        try:
            duration = duration.totimedelta(start=isodate.parse_datetime("2000-01-01T00:00:00Z"))
        except (ValueError, OverflowError):
            return None
    return duration.total_seconds()


def _ids(activities: Any) -> str | None:
    if isinstance(activities, dict):
        activities = [activities]
    if not isinstance(activities, list):
        return None
    ids = [a.get("id") for a in activities if isinstance(a, dict) and a.get("id")]
    return "|".join(ids) if ids else None


def _extension_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


def is_free_text(statement: dict[str, Any], canonical: Mapping[str, str | None] | None = None) -> bool:
    """Whether the statement's response is a free-text answer: its activity's interactionType, as the
    statement gives it or as the LRS keeps it (``canonical``: activity id -> interactionType), is
    fill-in, long-fill-in or other. A statement may name its activity by id alone, so its own
    definition is not enough; either source saying free text is enough (it is the safe side)."""
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity":
        return False
    own = (obj.get("definition") or {}).get("interactionType")
    object_id = obj.get("id")
    kept = (canonical or {}).get(object_id) if isinstance(object_id, str) else None
    return own in FREE_TEXT_INTERACTIONS or kept in FREE_TEXT_INTERACTIONS


def flatten(statement: dict[str, Any], privacy: Privacy,
            canonical: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """The row of one statement (extension columns keyed by ``result_ext:<IRI>``, ``context_ext:<IRI>``);
    ``canonical``: the interactionType the LRS keeps for the activities (see ``is_free_text``)."""
    actor = statement.get("actor") or {}
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    definition = obj.get("definition") or {} if kind == "Activity" else {}
    result = statement.get("result") or {}
    score = result.get("score") or {}
    context = statement.get("context") or {}
    activities = context.get("contextActivities") or {}
    verb = statement.get("verb") or {}
    if kind in ("Agent", "Group"):
        object_id = privacy.actor_id(obj)
    else:
        object_id = obj.get("id")
    name = actor.get("name")
    response = result.get("response")
    if response is not None and is_free_text(statement, canonical):
        response = privacy.text(response, privacy.free_text)
    duration = result.get("duration")
    row: dict[str, Any] = {
        "id": statement.get("id"),
        "timestamp": statement.get("timestamp"),
        "stored": statement.get("stored"),
        "actor_id": privacy.actor_id(actor),
        "actor_name": privacy.text(name, privacy.names) if isinstance(name, str) else None,
        "verb_id": verb.get("id"),
        "verb": _display(verb.get("display")),
        "object_id": object_id,
        "object_type": kind,
        "activity_type": definition.get("type"),
        "object_name": _display(definition.get("name")),
        "success": result.get("success"),
        "completion": result.get("completion"),
        "response": response,
        "score_scaled": score.get("scaled"),
        "score_raw": score.get("raw"),
        "score_min": score.get("min"),
        "score_max": score.get("max"),
        "duration_s": duration_seconds(duration) if isinstance(duration, str) else None,
        "registration": context.get("registration"),
        "parent_id": _ids(activities.get("parent")),
        "grouping_id": _ids(activities.get("grouping")),
        "category_id": _ids(activities.get("category")),
        "platform": context.get("platform"),
        "language": context.get("language"),
    }
    for iri, value in (result.get("extensions") or {}).items():
        row[RESULT_EXT + iri] = _extension_value(value)
    for iri, value in (context.get("extensions") or {}).items():
        row[CONTEXT_EXT + iri] = _extension_value(value)
    return row


_WORD = re.compile(r"[^a-z0-9]+")


def _segments(iri: str) -> list[str]:
    parts = [p for p in re.split(r"[/#:?=&]+", iri) if p]
    return [_WORD.sub("_", p.lower()).strip("_") for p in parts if _WORD.sub("_", p.lower()).strip("_")]


# The xAPI-SG result extensions keep their plain names in every export (the README lists them).
PLAIN_NAMES = {RESULT_EXT + SG_EXTENSIONS + name: "result_" + name for name in ("progress", "health", "position")}


def short_names(keys: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """``result_ext:<IRI>`` / ``context_ext:<IRI>`` -> column names made from the IRI alone.

    So one IRI has the same column in every export, and a column name stands for one IRI: the
    xAPI-SG extensions get ``result_progress``, ``result_health``, ``result_position``; any other
    extension gets its prefix, the last segment of its IRI and the first 6 hex digits of the IRI's
    SHA-256 (``result_level_1a2b3c``); should two IRIs of one export share those digits (about one
    chance in 16 million per pair with one last segment), more digits tell them apart. The codebook
    gives the full IRI of each.
    """
    out: dict[str, str] = {}
    used = set(taken)
    for key in sorted(set(keys)):
        name = PLAIN_NAMES.get(key)
        if name is None or name in used:
            prefix, iri = ("result_", key[len(RESULT_EXT):]) if key.startswith(RESULT_EXT) else (
                "context_", key[len(CONTEXT_EXT):])
            segment = (_segments(iri) or ["extension"])[-1]
            digest = hashlib.sha256(iri.encode()).hexdigest()
            size = 6
            name = f"{prefix}{segment}_{digest[:size]}"
            while name in used:  # two IRIs sharing 24 bits, or a name taken: more digits
                size += 2
                name = f"{prefix}{segment}_{digest[:size]}"
        used.add(name)
        out[key] = name
    return out
