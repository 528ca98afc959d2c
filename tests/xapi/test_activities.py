"""Canonical Activity definitions: what a batch writes (lrs.xapi.activities)."""

from lrs.xapi.activities import batch_definitions, definition_writes

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
