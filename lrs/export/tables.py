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

from collections import defaultdict
from typing import Any

from lrs.export.flatten import Privacy, duration_seconds
from lrs.xapi.timestamps import parse_timestamp

SG = "https://w3id.org/xapi/seriousgames"
PROGRESS = f"{SG}/extensions/progress"
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


class SGTables:
    """Feed statements in any order with ``add``; rows of the streamed tables come back at once."""

    def __init__(self, privacy: Privacy) -> None:
        self.privacy = privacy
        self.events: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
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
            key = (common["actor_id"], common["registration"], common["object_id"])
            score = result.get("score") or {}
            duration = result.get("duration")
            self.events[key].append((
                timestamp or "", statement.get("stored") or "", role, statement.get("id"), common["activity_type"],
                progress, result.get("success"), score.get("scaled"), score.get("raw"),
                duration_seconds(duration) if isinstance(duration, str) else None,
            ))
            if role == "progress":
                return "progress", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                                    "progress": progress}
            return None
        if verb in CHOICE_VERBS:
            self.seen += 1
            response = result.get("response")
            if response is not None and definition.get("interactionType") in ("fill-in", "long-fill-in", "other"):
                response = self.privacy.text(response, self.privacy.free_text)
            return "choices", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                               "verb": CHOICE_VERBS[verb], "response": response, "success": result.get("success")}
        if verb in ACCESS_VERBS:
            self.seen += 1
            return "accesses", {"statement_id": statement.get("id"), **common, "timestamp": timestamp,
                                "verb": ACCESS_VERBS[verb]}
        return None

    def attempts(self) -> list[dict[str, Any]]:
        rows = []
        for (actor_id, registration, object_id), events in sorted(
            self.events.items(), key=lambda kv: tuple("" if v is None else v for v in kv[0])
        ):
            events.sort(key=lambda e: (e[0], e[1]))
            current: dict[str, Any] | None = None
            number = 0

            def open_attempt(started: str | None, statement_id: str | None, activity_type: str | None) -> dict[str, Any]:
                nonlocal number
                number += 1
                row = {
                    "actor_id": actor_id, "registration": registration, "object_id": object_id,
                    "activity_type": activity_type, "attempt": number, "started": started, "completed": None,
                    "status": "open", "duration_s": None, "success": None, "score_scaled": None, "score_raw": None,
                    "max_progress": None, "progress_events": 0, "initialized_id": statement_id, "completed_id": None,
                }
                rows.append(row)
                return row

            for timestamp, _, role, statement_id, activity_type, progress, success, scaled, raw, duration in events:
                if role == "start":
                    current = open_attempt(timestamp, statement_id, activity_type)
                    continue
                if current is None:
                    current = open_attempt(None, None, activity_type)
                if role == "progress":
                    current["progress_events"] += 1
                    if progress is not None:
                        best = current["max_progress"]
                        current["max_progress"] = progress if best is None else max(best, progress)
                    continue
                if duration is None and current["started"]:
                    duration = _seconds_between(current["started"], timestamp)
                current.update(completed=timestamp, status="completed", success=success, score_scaled=scaled,
                               score_raw=raw, completed_id=statement_id, duration_s=duration)
                current = None
        return rows


def _seconds_between(start: str, end: str) -> float | None:
    a, b = parse_timestamp(start), parse_timestamp(end)
    return (b - a).total_seconds() if a is not None and b is not None else None
