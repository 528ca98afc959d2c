"""The ``format`` parameter of GET /statements: ``exact``, ``ids`` and ``canonical``."""

from __future__ import annotations

import copy
from typing import Any, Iterator

from lrs.xapi.agents import ifi_only

LANGUAGE_MAP_PROPS = ("name", "description")
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")


# -- ids --------------------------------------------------------------------------------

def to_ids(statement: dict[str, Any]) -> dict[str, Any]:
    """Only what identifies Agents, Groups (members of anonymous ones), Activities and Verbs."""
    out = dict(statement)
    _ids_in(out)
    if isinstance(out.get("authority"), dict):
        out["authority"] = ifi_only(out["authority"])
    return out


def _ids_in(part: dict[str, Any]) -> None:
    part["actor"] = ifi_only(part["actor"])
    part["verb"] = {"id": part["verb"]["id"]}
    obj = part["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":  # its id identifies it; objectType Activity is the default
        part["object"] = {"id": obj["id"]}
    elif kind in ("Agent", "Group"):
        part["object"] = ifi_only(obj)
    elif kind == "SubStatement":
        sub = dict(obj)
        _ids_in(sub)
        part["object"] = sub
    if isinstance(part.get("context"), dict):
        context = dict(part["context"])
        for role in ("instructor", "team"):
            if isinstance(context.get(role), dict):
                context[role] = ifi_only(context[role])
        if isinstance(context.get("contextActivities"), dict):
            context["contextActivities"] = {
                kind: [{"id": a["id"]} for a in activities]
                for kind, activities in context["contextActivities"].items()
            }
        if isinstance(context.get("contextAgents"), list):
            context["contextAgents"] = [
                {**entry, "agent": ifi_only(entry["agent"])} for entry in context["contextAgents"]
            ]
        if isinstance(context.get("contextGroups"), list):
            context["contextGroups"] = [
                {**entry, "group": ifi_only(entry["group"])} for entry in context["contextGroups"]
            ]
        part["context"] = context


# -- canonical --------------------------------------------------------------------------

def activity_ids(statement: dict[str, Any]) -> Iterator[str]:
    """Every Activity id in a statement (object, context activities, and the SubStatement's)."""
    for activity in _activities(statement):
        yield activity["id"]


def _activities(part: dict[str, Any]) -> Iterator[dict[str, Any]]:
    obj = part["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        yield obj
    elif kind == "SubStatement":
        yield from _activities(obj)
    for activities in ((part.get("context") or {}).get("contextActivities") or {}).values():
        yield from activities


def to_canonical(
    statement: dict[str, Any], definitions: dict[str, dict[str, Any]], languages: list[tuple[str, float]],
    *, made: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Activities with the LRS's canonical definition and one language per language map; Verb display in one language.

    ``made``: the canonical definitions already made for these ``languages``, by Activity id; give
    one dict for a whole page, so that a definition named many times is made once (and shared).
    """
    out = copy.deepcopy(statement)
    _canonical_in(out, definitions, languages, {} if made is None else made)
    return out


def _canonical_in(
    part: dict[str, Any], definitions: dict[str, dict[str, Any]], languages: list[tuple[str, float]],
    made: dict[str, dict[str, Any]],
) -> None:
    verb = part["verb"]
    if isinstance(verb.get("display"), dict):
        verb["display"] = one_language(verb["display"], languages)
    if part["object"].get("objectType") == "SubStatement":
        _canonical_in(part["object"], definitions, languages, made)
    for activity in _activities_here(part):
        activity_id = activity["id"]
        if activity_id in definitions:
            if activity_id not in made:
                made[activity_id] = _definition_in(definitions[activity_id], languages)
            activity["definition"] = made[activity_id]
        elif activity.get("definition") is not None:
            activity["definition"] = _definition_in(activity["definition"], languages)


def _activities_here(part: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if part["object"].get("objectType", "Activity") == "Activity":
        yield part["object"]
    for activities in ((part.get("context") or {}).get("contextActivities") or {}).values():
        yield from activities


def _definition_in(definition: dict[str, Any], languages: list[tuple[str, float]]) -> dict[str, Any]:
    """A new definition with one language per language map (``definition`` is left as it is)."""
    out = dict(definition)
    for prop in LANGUAGE_MAP_PROPS:
        if isinstance(out.get(prop), dict):
            out[prop] = one_language(out[prop], languages)
    for prop in COMPONENT_LISTS:
        if isinstance(out.get(prop), list):
            out[prop] = [
                {**c, "description": one_language(c["description"], languages)}
                if isinstance(c, dict) and isinstance(c.get("description"), dict) else c
                for c in out[prop]
            ]
    return out


# -- Accept-Language --------------------------------------------------------------------

MAX_LANGUAGE_RANGES = 32  # of an Accept-Language header; the rest is ignored (each range is tried on every map)


def parse_accept_language(header: str | None) -> list[tuple[str, float]]:
    """Language ranges with their quality, most preferred first (RFC 2616 §14.4); q=0 means refused.

    A range given twice counts once (its first time), and only the first ``MAX_LANGUAGE_RANGES``
    distinct ranges count: a header of thousands of ranges must not make every read slow.
    """
    if not header:
        return []
    ranges: list[tuple[float, int, str]] = []
    seen: set[str] = set()
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag or tag.lower() in seen:
            continue
        if len(seen) == MAX_LANGUAGE_RANGES:
            break
        seen.add(tag.lower())
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((-quality, position, tag))
    return [(tag, -negative) for negative, _, tag in sorted(ranges)]


def _matches(language_range: str, tag: str) -> bool:
    """RFC 2616 §14.4: a range matches a tag equal to it or starting with it and '-'."""
    return language_range == "*" or tag == language_range or tag.startswith(language_range + "-")


def one_language(language_map: dict[str, str], ranges: list[tuple[str, float]]) -> dict[str, str]:
    """The one entry of a language map that best fits the Accept-Language ranges.

    A language's quality is that of the longest range matching it (RFC 2616 §14.4: with
    ``en;q=0.8, en-US;q=0.1``, en-GB has 0.8 and en-US 0.1). The best quality above 0 wins;
    on a tie the more preferred range, then a language equal to its range, then map order.
    With no match, any language no range names (the client refused none of them), preferring
    English; if every language is refused, the first one (the spec asks for exactly one).
    """
    if len(language_map) <= 1:
        return dict(language_map)
    ranked: list[tuple[float, int, bool, int, str]] = []  # (-quality, range position, inexact, map order, key)
    unnamed: list[str] = []
    lowered = [(r.lower(), q) for r, q in ranges]
    for order, key in enumerate(language_map):
        tag = key.lower()
        best: tuple[int, float, int, bool] | None = None  # (range length, quality, range position, inexact)
        for position, (wanted, quality) in enumerate(lowered):
            if _matches(wanted, tag):
                length = 0 if wanted == "*" else len(wanted)
                if best is None or length > best[0]:
                    best = (length, quality, position, wanted != tag)
        if best is None:
            unnamed.append(key)
        elif best[1] > 0:
            ranked.append((-best[1], best[2], best[3], order, key))
    if ranked:
        key = min(ranked)[4]
        return {key: language_map[key]}
    for fallback in ("en-us", "en"):
        for key in unnamed:
            if key.lower() == fallback:
                return {key: language_map[key]}
    key = unnamed[0] if unnamed else next(iter(language_map))
    return {key: language_map[key]}
