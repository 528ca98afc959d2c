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
    if kind == "Activity":
        part["object"] = {k: obj[k] for k in ("objectType", "id") if k in obj}
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
                kind: [{k: a[k] for k in ("objectType", "id") if k in a} for a in activities]
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
    statement: dict[str, Any], definitions: dict[str, dict[str, Any]], languages: list[str]
) -> dict[str, Any]:
    """Activities with the LRS's canonical definition and one language per language map; Verb display in one language."""
    out = copy.deepcopy(statement)
    _canonical_in(out, definitions, languages)
    return out


def _canonical_in(part: dict[str, Any], definitions: dict[str, dict[str, Any]], languages: list[str]) -> None:
    verb = part["verb"]
    if isinstance(verb.get("display"), dict):
        verb["display"] = one_language(verb["display"], languages)
    if part["object"].get("objectType") == "SubStatement":
        _canonical_in(part["object"], definitions, languages)
    for activity in _activities_here(part):
        definition = definitions.get(activity["id"], activity.get("definition"))
        if definition is not None:
            activity["definition"] = _definition_in(copy.deepcopy(definition), languages)


def _activities_here(part: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if part["object"].get("objectType", "Activity") == "Activity":
        yield part["object"]
    for activities in ((part.get("context") or {}).get("contextActivities") or {}).values():
        yield from activities


def _definition_in(definition: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    for prop in LANGUAGE_MAP_PROPS:
        if isinstance(definition.get(prop), dict):
            definition[prop] = one_language(definition[prop], languages)
    for prop in COMPONENT_LISTS:
        for component in definition.get(prop) or ():
            if isinstance(component.get("description"), dict):
                component["description"] = one_language(component["description"], languages)
    return definition


# -- Accept-Language --------------------------------------------------------------------

def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges in order of preference (RFC 2616 §14.4); ranges with q=0 dropped."""
    if not header:
        return []
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranges)]


def one_language(language_map: dict[str, str], languages: list[str]) -> dict[str, str]:
    """The one entry of a language map that best fits the preferred language ranges."""
    if len(language_map) <= 1:
        return dict(language_map)
    lowered = {key.lower(): key for key in language_map}
    for wanted in languages:
        w = wanted.lower()
        if w == "*":
            break
        if w in lowered:
            key = lowered[w]
            return {key: language_map[key]}
        for low, key in lowered.items():  # the range "en" matches "en-US"
            if low.startswith(w + "-"):
                return {key: language_map[key]}
    for fallback in ("en-us", "en"):
        if fallback in lowered:
            key = lowered[fallback]
            return {key: language_map[key]}
    key = next(iter(language_map))
    return {key: language_map[key]}
