"""format=canonical (lrs.xapi.formats.to_canonical): one language per map, each definition made once a page."""

from __future__ import annotations

import copy

from lrs.xapi import formats

LEVEL = "https://example.org/game/level/1"
QUIZ = "https://example.org/game/quiz/1"
DEFINITIONS = {
    LEVEL: {"name": {"en-US": "Level 1", "es-ES": "Nivel 1"}, "extensions": {"https://example.org/x": {"a": 1}}},
    QUIZ: {"interactionType": "choice", "description": {"en-US": "Pick", "es-ES": "Elige"},
           "choices": [{"id": "a", "description": {"en-US": "A", "es-ES": "Á"}}, {"id": "b"}]},
}


def statement(*context_ids: str, sent: dict | None = None) -> dict:
    return {"actor": {"mbox": "mailto:a@example.org"},
            "verb": {"id": "http://example.org/v", "display": {"en-US": "did", "es-ES": "hizo"}},
            "object": {"id": LEVEL, **({"definition": sent} if sent else {})},
            "context": {"contextActivities": {"grouping": [{"id": i} for i in context_ids]}}}


def test_canonical_definitions_in_the_reader_s_language_and_the_stored_ones_unchanged() -> None:
    stored = copy.deepcopy(DEFINITIONS)
    out = formats.to_canonical(statement(QUIZ, sent={"name": {"fr": "Niveau 1"}}), DEFINITIONS, [("es-ES", 1.0)])
    assert out["verb"]["display"] == {"es-ES": "hizo"}
    assert out["object"]["definition"] == {"name": {"es-ES": "Nivel 1"}, "extensions": {"https://example.org/x": {"a": 1}}}
    assert out["context"]["contextActivities"]["grouping"][0]["definition"] == {
        "interactionType": "choice", "description": {"es-ES": "Elige"},
        "choices": [{"id": "a", "description": {"es-ES": "Á"}}, {"id": "b"}]}
    assert DEFINITIONS == stored


def test_an_activity_the_lrs_has_no_definition_for_keeps_its_own_in_one_language() -> None:
    unknown = "https://example.org/unknown"
    sent = statement()
    sent["object"] = {"id": unknown, "definition": {"name": {"en-US": "Mystery", "fr": "Mystère"}}}
    assert formats.to_canonical(sent, DEFINITIONS, [("fr", 1.0)])["object"]["definition"] == {"name": {"fr": "Mystère"}}


def test_a_definition_named_many_times_in_a_page_is_made_once(monkeypatch) -> None:
    # A slow-path hunt: a definition of 20,000 languages named 100 times in one statement was copied
    # and cut down 100 times (6 s on the event loop).
    made_for = []
    real = formats._definition_in
    monkeypatch.setattr(formats, "_definition_in", lambda d, langs: made_for.append(d) or real(d, langs))
    page = [statement(*[QUIZ] * 50, LEVEL) for _ in range(3)]
    made: dict = {}
    out = [formats.to_canonical(s, DEFINITIONS, [("en-US", 1.0)], made=made) for s in page]
    assert len(made_for) == 2
    assert all(a["definition"] == {"interactionType": "choice", "description": {"en-US": "Pick"},
                                   "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}]}
               for s in out for a in s["context"]["contextActivities"]["grouping"][:50])
