"""Which statements an export takes: the filters, and an activity's subtree (pure; no pandas here,
so that the server can use it without loading the table libraries)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from lrs.xapi.agents import ifi_key
from lrs.xapi.errors import bad_request
from lrs.xapi.query import parse_statement_params
from lrs.xapi.timestamps import normalise_bound
from lrs.xapi.validate import is_iri

FILTERS = ("since", "until", "activity", "verb", "registration", "agent")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)


class Source(Protocol):
    def pages(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]: ...

    def voided(self, statement_id: str) -> dict[str, Any] | None: ...

    def definitions(self, activity_ids: list[str]) -> dict[str, dict[str, Any]]: ...


def with_dates(filters: dict[str, str]) -> dict[str, str]:
    """``since``/``until`` given as a date (``2026-01-01``) mean that day's midnight UTC: researchers
    think in days, and the Statement API takes only timestamps."""
    return {k: f"{v}T00:00:00Z" if k in ("since", "until") and _DATE.match(v) else v for k, v in filters.items()}


def check(filters: dict[str, str]) -> None:
    """400 (an XAPIError naming the filter) for a filter an export cannot take: an activity that is
    not an IRI (the export follows it in Python, no query checks it), or any other filter the
    Statement API would refuse."""
    if "activity" in filters and not is_iri(filters["activity"]):
        raise bad_request("activity must be an IRI", path="activity", error="parameter")
    filters = with_dates(filters)
    for name in ("since", "until"):
        if name in filters and normalise_bound(filters[name]) is None:
            raise bad_request(f"{name} must be an ISO 8601 timestamp or a date (YYYY-MM-DD: midnight UTC)",
                              path=name, error="parameter")
    parse_statement_params({k: v for k, v in filters.items() if k != "activity"}, max_limit=1)


def add_links(children: dict[str, set[str]], statements: Iterable[dict[str, Any]]) -> None:
    """Record the parent/grouping -> activity links of ``statements`` in ``children`` (the CLI's and
    the HTTP export's one way to read them). Only an Activity object with an id is a child: an Agent
    or a SubStatement has none, and a None in the subtree would match every object without an id.

    Callers feed it every statement, not only those the other filters take: the links of a subtree
    come from statements those filters leave out (a level's ``initialized`` links it to the game; a
    ``selected`` in the level does not). Only the links are kept, not the statements."""
    for statement in statements:
        obj = statement.get("object") or {}
        object_id = obj.get("id") if obj.get("objectType", "Activity") == "Activity" else None
        if isinstance(object_id, str):
            for up in context_ids(statement):
                children.setdefault(up, set()).add(object_id)


def subtree(children: dict[str, set[str]], activity: str) -> set[str]:
    """``activity`` and every activity below it, given each activity's children."""
    family, todo = {activity}, [activity]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in family:
                family.add(child)
                todo.append(child)
    return family


def context_ids(statement: dict[str, Any]) -> list[str]:
    activities = (statement.get("context") or {}).get("contextActivities") or {}
    out = []
    for kind in ("parent", "grouping"):
        value = activities.get(kind) or []
        for a in [value] if isinstance(value, dict) else value:
            if isinstance(a, dict) and a.get("id"):
                out.append(a["id"])
    return out


def in_subtree(statement: dict[str, Any], family: set[str], root: str | None = None) -> bool:
    """Whether a statement sits in the activity's subtree: about the activity itself, under it through
    context parent/grouping, or about one of its activities without context links. An activity that
    several levels share (a keyboard key) counts only where its statement sits under the activity."""
    object_id = (statement.get("object") or {}).get("id")
    ups = context_ids(statement)
    if object_id == root or any(i in family for i in ups):
        return True
    return object_id in family and not ups


def matches_filters(statement: dict[str, Any], filters: dict[str, str], family: set[str] | None) -> bool:
    """The filters, in Python: for voided statements, which no LRS query returns."""
    filters = with_dates(filters)
    stored = statement.get("stored") or ""
    if "since" in filters and not stored > (normalise_bound(filters["since"]) or ""):
        return False
    if "until" in filters and not stored <= (normalise_bound(filters["until"]) or ""):
        return False
    if "verb" in filters and (statement.get("verb") or {}).get("id") != filters["verb"]:
        return False
    registration = (statement.get("context") or {}).get("registration") or ""
    if "registration" in filters and registration.lower() != filters["registration"].lower():
        return False
    if "agent" in filters:
        wanted = ifi_key(json.loads(filters["agent"]))
        obj = statement.get("object") or {}
        if wanted not in (ifi_key(statement.get("actor") or {}), ifi_key(obj) if isinstance(obj, dict) else None):
            return False
    return family is None or in_subtree(statement, family, filters.get("activity"))
