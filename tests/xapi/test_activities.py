"""Canonical Activity definitions: what a batch writes (lrs.xapi.activities)."""

import random
from typing import Any

import orjson

from lrs.xapi.activities import batch_definitions, definition_writes, merge_definition

LEVEL = "https://example.org/game/level/1"
NAME = {"type": "https://w3id.org/xapi/seriousgames/activity-types/level", "name": {"en-US": "Level 1"}}


def test_a_batch_repeating_one_definition_yields_it_once() -> None:
    same = dict(NAME)
    assert batch_definitions([(LEVEL, NAME), (LEVEL, same)], define=True) == {LEVEL: NAME}


def test_a_batch_merges_differing_definitions_only_with_define() -> None:
    spanish = {"name": {"es-ES": "Nivel 1"}}
    merged = batch_definitions([(LEVEL, NAME), (LEVEL, spanish)], define=True)
    assert merged[LEVEL]["name"] == {"en-US": "Level 1", "es-ES": "Nivel 1"}
    assert batch_definitions([(LEVEL, NAME), (LEVEL, spanish)], define=False) == {LEVEL: NAME}


def test_an_unchanged_known_definition_is_not_rewritten() -> None:
    inserts, updates = definition_writes({LEVEL: dict(NAME)}, {LEVEL: NAME}, define=True)
    assert inserts == {} and updates == {}


def test_a_subset_of_the_known_definition_changes_nothing_so_is_not_rewritten() -> None:
    known = {**NAME, "description": {"en-US": "The first level"}}
    inserts, updates = definition_writes({LEVEL: NAME}, {LEVEL: known}, define=True)
    assert inserts == {} and updates == {}


def test_a_changed_definition_is_merged_into_the_known_one() -> None:
    known = {**NAME, "description": {"en-US": "The first level"}}
    inserts, updates = definition_writes({LEVEL: {"name": {"es-ES": "Nivel 1"}}}, {LEVEL: known}, define=True)
    assert inserts == {}
    assert updates == {LEVEL: {**known, "name": {"en-US": "Level 1", "es-ES": "Nivel 1"}}}
    assert definition_writes({LEVEL: {"name": {"es-ES": "Nivel 1"}}}, {LEVEL: known}, define=False) == ({}, {})


def test_new_activities_are_inserted_whatever_the_scope() -> None:
    for define in (True, False):
        assert definition_writes({LEVEL: NAME}, {}, define=define) == ({LEVEL: NAME}, {})


def test_the_latest_value_wins_even_when_it_repeats_an_earlier_one() -> None:
    english, other = {"name": {"en-US": "Level 1"}}, {"name": {"en-US": "Level one"}}
    merged = batch_definitions([(LEVEL, english), (LEVEL, other), (LEVEL, dict(english))], define=True)
    assert merged[LEVEL] == english


def test_components_merge_per_id_in_first_seen_order_without_changing_what_was_sent() -> None:
    first = {"interactionType": "choice", "choices": [
        {"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}]}
    second = {"choices": [{"id": "c", "description": {"en-US": "C"}}, {"id": "a", "description": {"es-ES": "Á"}}]}
    third = {"choices": [{"id": "b", "description": {"en-US": "Bee"}}]}
    sent = [orjson.dumps(d) for d in (first, second, third)]
    merged = batch_definitions([(LEVEL, first), (LEVEL, second), (LEVEL, third)], define=True)[LEVEL]
    assert merged == {"interactionType": "choice", "choices": [
        {"id": "a", "description": {"en-US": "A", "es-ES": "Á"}},
        {"id": "b", "description": {"en-US": "Bee"}},
        {"id": "c", "description": {"en-US": "C"}}]}
    assert [orjson.dumps(d) for d in (first, second, third)] == sent


def _merge_pairwise(canonical: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """The merge as it was first written, one copy per step: the reference the in-place merge keeps to."""
    if not canonical:
        return dict(incoming)
    merged = dict(canonical)
    for prop, value in incoming.items():
        old = merged.get(prop)
        if prop in ("name", "description", "extensions"):
            merged[prop] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        elif prop in ("choices", "scale", "source", "target", "steps") and isinstance(old, list) and isinstance(value, list):
            by_id = {c["id"]: dict(c) for c in old}
            for c in value:
                prev = by_id.get(c["id"], {})
                desc = {**prev.get("description", {}), **c.get("description", {})}
                by_id[c["id"]] = {**prev, **c, **({"description": desc} if desc else {})}
            merged[prop] = list(by_id.values())
        else:
            merged[prop] = value
    return merged


def test_merging_a_batch_gives_what_merging_one_definition_at_a_time_gives() -> None:
    rng = random.Random(7)
    languages, ids = ["en-US", "es-ES", "fr"], ["a", "b", "c", "d"]

    def language_map() -> dict[str, str]:
        return {lang: f"{lang}{rng.randint(0, 3)}" for lang in rng.sample(languages, rng.randint(0, 3))}

    def definition() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for prop in ("name", "description"):
            if rng.random() < 0.5:
                out[prop] = language_map()
        if rng.random() < 0.3:
            out["type"] = f"https://example.org/type/{rng.randint(0, 2)}"
        if rng.random() < 0.4:
            out["extensions"] = {f"https://example.org/x/{rng.randint(0, 3)}": rng.randint(0, 3)}
        if rng.random() < 0.6:
            out["choices"] = [{"id": cid, **({"description": language_map()} if rng.random() < 0.7 else {})}
                              for cid in rng.sample(ids, rng.randint(0, 4))]
        return out

    for _ in range(300):
        batch = [definition() for _ in range(rng.randint(1, 6))]
        expected = batch[0]
        for later in batch[1:]:
            expected = _merge_pairwise(expected, later) if later != expected else expected
        assert batch_definitions([(LEVEL, d) for d in batch], define=True)[LEVEL] == expected
        known = definition()
        assert merge_definition(known, batch[0]) == _merge_pairwise(known, batch[0])
