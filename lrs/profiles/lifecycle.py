"""The pattern report: how each player went through each completable, per registration.

A profile's primary Pattern of the shape ``sequence [start, zeroOrMore(progress), end]``
(``start`` may be an ``alternates`` of templates) describes one attempt at a
completable, like xAPI-SG's initialized, progressed*, completed. The report
walks each (registration, actor, object) through it, in timestamp order, and
lists what breaks it: completed without being initialized, initialized again
before being completed, progressed outside an attempt, progress that went
backwards, initialized but never completed. It is a report, not an ingest rule:
statements arrive in any order and from several devices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lrs.profiles.profile import Pattern, Profile, Template
from lrs.xapi.agents import ifi_key
from lrs.xapi.timestamps import format_stored, parse_timestamp
from lrs.xapi.vocabulary import SG_PROGRESS as PROGRESS


@dataclass(frozen=True)
class Roles:
    """Which templates start, advance and end an attempt, read off a primary Pattern."""

    pattern: str
    start: frozenset[str]
    progress: frozenset[str]
    end: frozenset[str]


def roles(profile: Profile) -> Roles:
    patterns = {p.id: p for p in profile.patterns}
    templates = profile.template_ids

    def leaves(member: str, kinds: tuple[str, ...]) -> frozenset[str]:
        if member in templates:
            return frozenset({member})
        pattern = patterns.get(member)
        if pattern is None or pattern.kind not in kinds:
            return frozenset()
        return frozenset().union(*(leaves(m, kinds) for m in pattern.members))

    for pattern in profile.patterns:
        if not (pattern.primary and pattern.kind == "sequence" and len(pattern.members) == 3):
            continue
        first, middle, last = pattern.members
        middle_pattern: Pattern | None = patterns.get(middle)
        start, end = leaves(first, ("alternates",)), leaves(last, ("alternates",))
        progress = (
            leaves(middle_pattern.members[0], ("alternates",))
            if middle_pattern is not None and middle_pattern.kind == "zeroOrMore" else frozenset()
        )
        if start and end and progress:
            return Roles(pattern.id, start, progress, end)
    raise ValueError(f"profile {profile.id} has no primary Pattern shaped sequence[start, zeroOrMore(progress), end]")


@dataclass
class Attempt:
    started: str | None = None
    ended: str | None = None
    progress: list[float] = field(default_factory=list)
    success: bool | None = None


@dataclass
class Track:
    registration: str | None
    actor: str
    object: str
    attempts: list[Attempt] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "registration": self.registration, "actor": self.actor, "object": self.object,
            "attempts": len(self.attempts), "completed": sum(1 for a in self.attempts if a.ended),
            "issues": self.issues,
        }


def _instant(timestamp: str) -> str:
    """A timestamp as a UTC instant that sorts as text (``10:00:00.5Z`` after ``10:00:00Z``, and
    ``09:30:00-02:00`` after ``10:00:00Z``); the text itself when it is none."""
    moment = parse_timestamp(timestamp)
    return format_stored(moment) if moment is not None else timestamp


OBJECT_TYPE = "$.object.definition.type"


def _of_its_type(template: Template, statement: dict[str, Any]) -> bool:
    return all(rule.problem(statement) is None
               for rule, location in zip(template.rules, template.rule_texts) if location == OBJECT_TYPE)


def report(profile: Profile, statements: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The pattern report over ``statements`` (any order; those no attempt template matches are ignored).

    A statement plays a template's role when it matches the template's determining properties and
    its object is of a type the template allows (its rules on ``$.object.definition.type``: the
    companion profile lists the completable types there, as ``objectActivityType`` takes only one).
    So an ``initialized`` menu, kept in warn mode, makes no completable of the menu (a review found
    it reported as never completed); other rules do not matter here: a ``progressed`` without its
    progress value still tells that the level was being played (the violations report lists it).
    """
    r = roles(profile)
    streams: dict[tuple[str | None, str, str], list[tuple[str, str, str, dict[str, Any]]]] = defaultdict(list)
    for statement in statements:
        ids = {t.id for t in profile.matching(statement) if _of_its_type(t, statement)}
        role = "start" if ids & r.start else "progress" if ids & r.progress else "end" if ids & r.end else None
        obj = statement.get("object") or {}
        if role is None or obj.get("objectType", "Activity") != "Activity":
            continue
        registration = (statement.get("context") or {}).get("registration")
        actor = ifi_key(statement.get("actor") or {}) or "anonymous"
        key = (registration.lower() if registration else None, actor, obj.get("id", ""))
        streams[key].append((statement.get("timestamp", ""), statement.get("stored", ""), role, statement))
    tracks = []
    for (registration, actor, obj_id), events in sorted(streams.items(), key=lambda kv: (kv[0][0] or "", kv[0][1], kv[0][2])):
        track = Track(registration, actor, obj_id)
        _walk(track, sorted(events, key=lambda e: (_instant(e[0]), e[1])))
        tracks.append(track)
    issues = [i for t in tracks for i in t.issues]
    return {
        "pattern": r.pattern,
        "registrations": len({t.registration for t in tracks}),
        "actors": len({t.actor for t in tracks}),
        "completables": len(tracks),
        "issues": len(issues),
        "by_kind": _count(i["kind"] for i in issues),
        "tracks": [t.as_dict() for t in tracks],
    }


def _count(kinds: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in kinds:
        out[kind] = out.get(kind, 0) + 1
    return out


def _walk(track: Track, events: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    current: Attempt | None = None

    def issue(kind: str, statement: dict[str, Any] | None, message: str) -> None:
        track.issues.append({
            "kind": kind, "statement": statement.get("id") if statement else None,
            "timestamp": statement.get("timestamp") if statement else None, "message": message,
        })

    for timestamp, _, role, statement in events:
        if role == "start":
            if current is not None:
                issue("initialized-again", statement,
                      f"initialized again at {timestamp} while the attempt started at {current.started} was not completed")
            current = Attempt(started=timestamp)
            track.attempts.append(current)
        elif role == "progress":
            if current is None:
                issue("progress-without-start", statement, f"progressed at {timestamp} without being initialized")
                current = Attempt()
                track.attempts.append(current)
            value = _progress(statement)
            if value is not None:
                if current.progress and value < current.progress[-1]:
                    issue("progress-backwards", statement,
                          f"progress went backwards at {timestamp}: {current.progress[-1]} then {value}")
                current.progress.append(value)
        else:
            if current is None:
                issue("completed-without-start", statement, f"completed at {timestamp} without being initialized")
                current = Attempt()
                track.attempts.append(current)
            current.ended = timestamp
            current.success = (statement.get("result") or {}).get("success")
            current = None
    if current is not None:
        issue("never-completed", None, f"initialized at {current.started} but never completed" if current.started
              else "progressed without being initialized, and never completed")


def _progress(statement: dict[str, Any]) -> float | None:
    extensions = (statement.get("result") or {}).get("extensions") or {}
    value = extensions.get(PROGRESS)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def as_text(result: dict[str, Any]) -> str:
    lines = [
        f"pattern {result['pattern']}: {result['completables']} completables of {result['actors']} actors "
        f"in {result['registrations']} registrations, {result['issues']} issues"
        + (" (" + ", ".join(f"{k}: {n}" for k, n in sorted(result["by_kind"].items())) + ")" if result["by_kind"] else ""),
    ]
    for track in result["tracks"]:
        if not track["issues"]:
            continue
        lines.append(f"- registration {track['registration'] or '(none)'} · {track['actor']} · {track['object']}: "
                     f"{track['attempts']} attempts, {track['completed']} completed")
        for i in track["issues"]:
            lines.append(f"    {i['kind']}: {i['message']}" + (f" (statement {i['statement']})" if i["statement"] else ""))
    return "\n".join(lines)
