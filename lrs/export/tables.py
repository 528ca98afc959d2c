"""The xAPI Serious Games tables, built while the statements stream by (pure).

- ``completables``: one row per attempt, from an ``initialized`` to the next
  ``completed`` of the same actor x completable x registration (or left open);
- ``progress``: one row per ``progressed`` statement;
- ``choices``: one row per ``selected`` / ``unlocked`` statement;
- ``accesses``: one row per ``accessed`` / ``skipped`` statement.

Verbs are recognised with the variants real trackers send (vocabulary.md §2).
``progress``, ``choices`` and ``accesses`` rows are emitted as statements
arrive; attempts need every event of a completable in timestamp order, so a
compact record of each completable event is kept and the attempts are built
at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from lrs.export.flatten import Privacy, duration_seconds, is_free_text
from lrs.xapi.timestamps import parse_timestamp
from lrs.xapi.vocabulary import SG, SG_PROGRESS as PROGRESS

INITIALIZED = frozenset({"http://adlnet.gov/expapi/verbs/initialized", "https://w3id.org/xapi/adb/verbs/initialized"})
PROGRESSED = frozenset({"http://adlnet.gov/expapi/verbs/progressed"})
COMPLETED = frozenset({"http://adlnet.gov/expapi/verbs/completed"})
CHOICE_VERBS = {
    "https://w3id.org/xapi/adb/verbs/selected": "selected", "http://id.tincanapi.com/verb/selected": "selected",
    "http://adlnet.gov/expapi/verbs/selected": "selected", f"{SG}/verbs/unlocked": "unlocked",
}
ACCESS_VERBS = {
    f"{SG}/verbs/accessed": "accessed", "http://activitystrea.ms/schema/1.0/access": "accessed",
    "http://activitystrea.ms/schema/1.0/accessed": "accessed", "http://id.tincanapi.com/verb/accessed": "accessed",
    "http://id.tincanapi.com/verb/skipped": "skipped", "http://adlnet.gov/expapi/verbs/skipped": "skipped",
}

_COMMON = [
    ("actor_id", "string", "stable id (or pseudonym) of the player", "actor"),
    ("registration", "string", "context.registration", "context.registration"),
    ("object_id", "string", "the activity's IRI", "object.id"),
    ("activity_type", "string", "the activity type IRI", "object.definition.type"),
]
TABLES: dict[str, list[tuple[str, str, str, str]]] = {
    "completables": _COMMON + [
        ("attempt", "Int64", "1 for the first attempt of this actor at this completable in this registration, then 2, ...",
         "order of initialized statements"),
        ("started", "datetime64[UTC]", "timestamp of the initialized statement (empty: completed without one)",
         "initialized.timestamp"),
        ("completed", "datetime64[UTC]", "timestamp of the completed statement (empty: left open)", "completed.timestamp"),
        ("status", "string", "completed, or open (initialized, never completed)", "derived"),
        ("duration_s", "float64", "result.duration of the completed statement in seconds, else completed - started",
         "completed.result.duration"),
        ("success", "boolean", "result.success of the completed statement", "completed.result.success"),
        ("score_scaled", "float64", "result.score.scaled of the completed statement", "completed.result.score.scaled"),
        ("score_raw", "float64", "result.score.raw of the completed statement", "completed.result.score.raw"),
        ("max_progress", "float64", "highest progress reported during the attempt (0..1)",
         f"progressed.result.extensions[{PROGRESS}]"),
        ("progress_events", "Int64", "progressed statements during the attempt", "derived"),
        ("initialized_id", "string", "id of the initialized statement", "initialized.id"),
        ("completed_id", "string", "id of the completed statement", "completed.id"),
    ],
    "progress": [("statement_id", "string", "statement id", "id")] + _COMMON + [
        ("timestamp", "datetime64[UTC]", "when", "timestamp"),
        ("progress", "float64", "progress in the completable, 0..1", f"result.extensions[{PROGRESS}]"),
    ],
    "choices": [("statement_id", "string", "statement id", "id")] + _COMMON + [
        ("timestamp", "datetime64[UTC]", "when", "timestamp"),
        ("verb", "string", "selected or unlocked", "verb.id"),
        ("response", "string", "the option chosen or unlocked", "result.response"),
        ("success", "boolean", "whether the choice was right (assessed choices)", "result.success"),
    ],
    "accesses": [("statement_id", "string", "statement id", "id")] + _COMMON + [
        ("timestamp", "datetime64[UTC]", "when", "timestamp"),
        ("verb", "string", "accessed or skipped", "verb.id"),
    ],
}


# A completable event, as kept (in memory or spilled to disk) until the attempts are built.
EVENT_COLUMNS: list[tuple[str, str, str, str]] = [
    ("actor_id", "string", "", ""), ("registration", "string", "", ""), ("object_id", "string", "", ""),
    ("time", "datetime64[UTC]", "", ""), ("seq", "Int64", "", ""), ("role", "string", "", ""),
    ("statement_id", "string", "", ""), ("activity_type", "string", "", ""), ("timestamp", "string", "", ""),
    ("progress", "float64", "", ""), ("success", "boolean", "", ""), ("score_scaled", "float64", "", ""),
    ("score_raw", "float64", "", ""), ("duration_s", "float64", "", ""),
]
EVENT_ORDER = ["actor_id", "registration", "object_id", "time", "seq"]


class SGTables:
    """Feed statements with ``add``; rows of the streamed tables come back at once.

    Completable events are kept in memory, or handed to ``spill`` (a row sink,
    e.g. a ``TableWriter`` of ``EVENT_COLUMNS``) for exports too large for that;
    ``attempts(events)`` then builds the attempts from them, sorted by
    ``EVENT_ORDER``. ``canonical``: the interactionType the LRS keeps per activity (free-text
    answers are dropped or hashed by it too, see ``flatten.is_free_text``).
    """

    def __init__(self, privacy: Privacy, spill: Callable[[dict[str, Any]], None] | None = None,
                 canonical: Mapping[str, str | None] | None = None) -> None:
        self.privacy = privacy
        self.spill = spill
        self.canonical = canonical
        self.events: list[dict[str, Any]] = []
        self.seen = 0  # statements that fed an SG table

    def add(self, statement: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The (table, row) a statement gives at once, if any; completable events are kept for ``attempts``."""
        verb = (statement.get("verb") or {}).get("id")
        obj = statement.get("object") or {}
        if obj.get("objectType", "Activity") != "Activity":
            return None
        definition = obj.get("definition") or {}
        result = statement.get("result") or {}
        common = {
            "actor_id": self.privacy.actor_id(statement.get("actor")),
            "registration": (statement.get("context") or {}).get("registration"),
            "object_id": obj.get("id"), "activity_type": definition.get("type"),
        }
        timestamp = statement.get("timestamp")
        if verb in INITIALIZED or verb in COMPLETED or verb in PROGRESSED:
            self.seen += 1
            role = "start" if verb in INITIALIZED else "end" if verb in COMPLETED else "progress"
            progress = (result.get("extensions") or {}).get(PROGRESS)
            if not isinstance(progress, (int, float)) or isinstance(progress, bool):
                progress = None
            score = result.get("score") or {}
            duration = result.get("duration")
            event = {
                "actor_id": common["actor_id"], "registration": common["registration"],
                "object_id": common["object_id"], "time": timestamp, "seq": self.seen, "role": role,
                "statement_id": statement.get("id"), "activity_type": common["activity_type"],
                "timestamp": timestamp, "progress": progress, "success": result.get("success"),
                "score_scaled": score.get("scaled"), "score_raw": score.get("raw"),
                "duration_s": duration_seconds(duration) if isinstance(duration, str) else None,
            }
            if self.spill is not None:
                self.spill(event)
            else:
                self.events.append(event)
            if role == "progress":
                return "progress", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                                    "progress": progress}
            return None
        if verb in CHOICE_VERBS:
            self.seen += 1
            response = result.get("response")
            if response is not None and is_free_text(statement, self.canonical):
                response = self.privacy.text(response, self.privacy.free_text)
            return "choices", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                               "verb": CHOICE_VERBS[verb], "response": response, "success": result.get("success")}
        if verb in ACCESS_VERBS:
            self.seen += 1
            return "accesses", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                                "verb": ACCESS_VERBS[verb]}
        return None

    def attempts(self, events: Iterable[dict[str, Any]] | None = None) -> Iterable[dict[str, Any]]:
        """The ``completables`` rows: a list from the events kept in memory, or an iterator over ``events``
        (sorted by ``EVENT_ORDER``: spilled exports stream them)."""
        if events is not None:
            return attempts_from(events)
        return list(attempts_from(sorted(self.events, key=lambda e: (
            "" if e["actor_id"] is None else e["actor_id"], "" if e["registration"] is None else e["registration"],
            "" if e["object_id"] is None else e["object_id"], _time(e["time"]), e["seq"],
        ))))


def _time(value: Any) -> Any:
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    return parsed.timestamp() if parsed is not None else float("-inf")


def attempts_from(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Attempts from completable events sorted by actor, registration, object, then time."""
    current: dict[str, Any] | None = None
    key: tuple[Any, ...] | None = None
    number = 0
    for e in events:
        this = (e["actor_id"], e["registration"], e["object_id"])
        if this != key:
            if current is not None:
                yield current
            key, current, number = this, None, 0
        role = e["role"]
        if role == "start" or current is None:
            if current is not None:
                yield current
            number += 1
            current = {
                "actor_id": e["actor_id"], "registration": e["registration"], "object_id": e["object_id"],
                "activity_type": e["activity_type"], "attempt": number,
                "started": e["timestamp"] if role == "start" else None, "completed": None, "status": "open",
                "duration_s": None, "success": None, "score_scaled": None, "score_raw": None, "max_progress": None,
                "progress_events": 0, "initialized_id": e["statement_id"] if role == "start" else None,
                "completed_id": None,
            }
            if role == "start":
                continue
        if role == "progress":
            current["progress_events"] += 1
            progress = e["progress"]
            if progress is not None and not _na(progress):
                best = current["max_progress"]
                current["max_progress"] = progress if best is None else max(best, progress)
            continue
        duration = e["duration_s"]
        if (duration is None or _na(duration)) and current["started"]:
            duration = _seconds_between(current["started"], e["timestamp"])
        current.update(completed=e["timestamp"], status="completed", success=e["success"],
                       score_scaled=e["score_scaled"], score_raw=e["score_raw"], completed_id=e["statement_id"],
                       duration_s=duration)
        yield current
        current = None
    if current is not None:
        yield current


def _na(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "NaT")


def _seconds_between(start: str, end: str) -> float | None:
    a, b = parse_timestamp(start), parse_timestamp(end)
    return (b - a).total_seconds() if a is not None and b is not None else None
