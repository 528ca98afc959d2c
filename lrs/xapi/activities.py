"""Canonical Activity definitions, built from the definitions statements carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LANGUAGE_MAPS = ("name", "description")
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")


def merge_definition(canonical: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """The canonical definition after a statement brings ``incoming``.

    Later values win property by property; language maps are merged per
    language; extensions are merged per key; interaction components are
    merged per component id (their descriptions per language).
    """
    merge = _Merge(canonical)
    merge.add(incoming)
    return merge.result()


class _Merge:
    """``merge_definition`` over many incoming definitions in time linear in their size: what it
    merges into is its own copy, changed in place (a batch of 10,000 statements each adding a
    choice to one Activity copied every choice per statement: 21 s)."""

    def __init__(self, canonical: dict[str, Any] | None) -> None:
        self.merged: dict[str, Any] = dict(canonical or {})
        self.owned: set[str] = set()  # maps of ``merged`` that are this merge's own copies

    def add(self, incoming: dict[str, Any]) -> None:
        merged = self.merged
        for prop, value in incoming.items():
            old = merged.get(prop)
            if prop in LANGUAGE_MAPS or prop == "extensions":
                if isinstance(old, dict) and isinstance(value, dict):
                    if prop not in self.owned:
                        old = merged[prop] = dict(old)
                        self.owned.add(prop)
                    old.update(value)
                    continue
            elif prop in COMPONENT_LISTS and isinstance(value, list):
                if isinstance(old, _Components):
                    old.add(value)
                    continue
                if isinstance(old, list):
                    merged[prop] = _Components(old)
                    merged[prop].add(value)
                    continue
            merged[prop] = value
            self.owned.discard(prop)

    def result(self) -> dict[str, Any]:
        return {p: v.result() if isinstance(v, _Components) else v for p, v in self.merged.items()}


class _Components:
    """Interaction components merged per id, in first-seen order, each description per language."""

    def __init__(self, components: list[dict[str, Any]]) -> None:
        self.by_id: dict[Any, dict[str, Any]] = {}
        self.add(components)

    def add(self, components: list[dict[str, Any]]) -> None:
        for component in components:
            cid = component.get("id")
            prev = self.by_id.get(cid)
            if prev is None:
                own = self.by_id[cid] = dict(component)
                if isinstance(own.get("description"), dict):
                    own["description"] = dict(own["description"])
                continue
            description, incoming = prev.get("description"), component.get("description")
            prev.update(component)
            if isinstance(description, dict) and isinstance(incoming, dict):
                description.update(incoming)
                prev["description"] = description
            elif isinstance(incoming, dict):
                prev["description"] = dict(incoming)

    def result(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())


def batch_definitions(activities: Iterable[tuple[str, dict[str, Any]]], *, define: bool) -> dict[str, dict[str, Any]]:
    """One definition per activity id of a batch: the first seen, later ones merged in with ``define``."""
    definitions: dict[str, dict[str, Any]] = {}
    merges: dict[str, _Merge] = {}
    for activity_id, definition in activities:
        current = definitions.get(activity_id)
        if current is None:
            definitions[activity_id] = definition
        elif define and (activity_id in merges or definition != current):  # a game repeats one definition
            if activity_id not in merges:
                merges[activity_id] = _Merge(current)
            merges[activity_id].add(definition)
    for activity_id, merge in merges.items():
        definitions[activity_id] = merge.result()
    return definitions


def definition_writes(
    definitions: dict[str, dict[str, Any]], known: Mapping[str, dict[str, Any]], *, define: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What a store writes for a batch's definitions: (new activities, changed ones). Canonical
    definitions are merged in with the define scope, else recorded only for unknown activities;
    a merge that changes nothing is not written."""
    inserts = {aid: d for aid, d in definitions.items() if aid not in known}
    updates: dict[str, dict[str, Any]] = {}
    if define:
        for aid, definition in definitions.items():
            if aid in known and definition != known[aid]:
                merged = merge_definition(known[aid], definition)
                if merged != known[aid]:
                    updates[aid] = merged
    return inserts, updates
