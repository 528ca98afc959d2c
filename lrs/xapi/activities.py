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
    if not canonical:
        return dict(incoming)
    merged = dict(canonical)
    for prop, value in incoming.items():
        old = merged.get(prop)
        if prop in LANGUAGE_MAPS or prop == "extensions":
            merged[prop] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        elif prop in COMPONENT_LISTS and isinstance(old, list) and isinstance(value, list):
            merged[prop] = _merge_components(old, value)
        else:
            merged[prop] = value
    return merged


def _merge_components(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {c.get("id"): dict(c) for c in old}
    order = [c.get("id") for c in old]
    for component in new:
        cid = component.get("id")
        if cid in by_id:
            prev = by_id[cid]
            desc = {**prev.get("description", {}), **component.get("description", {})}
            by_id[cid] = {**prev, **component, **({"description": desc} if desc else {})}
        else:
            by_id[cid] = dict(component)
            order.append(cid)
    return [by_id[cid] for cid in order]


def batch_definitions(activities: Iterable[tuple[str, dict[str, Any]]], *, define: bool) -> dict[str, dict[str, Any]]:
    """One definition per activity id of a batch: the first seen, later ones merged in with ``define``."""
    definitions: dict[str, dict[str, Any]] = {}
    for activity_id, definition in activities:
        current = definitions.get(activity_id)
        if current is None:
            definitions[activity_id] = definition
        elif define and definition != current:  # a game repeats the same definition: nothing to merge
            definitions[activity_id] = merge_definition(current, definition)
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
