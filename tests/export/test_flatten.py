"""lrs.export.flatten: one statement -> one row; the codebook of the fixed columns; extension short names; Privacy."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from typing import Any

import pytest

from lrs.export.flatten import (
    CONTEXT_EXT,
    RESULT_EXT,
    STATEMENT_COLUMNS,
    Privacy,
    duration_seconds,
    flatten,
    short_names,
)
from tests.export.helpers import REQUIRED

KEY = b"a-test-key-of-32-characters-long"
OTHER_KEY = b"another-key-of-32-characters-xyz"
EMAIL = "mailto:grace@example.com"
SID = "3f9ad9b4-4c1e-4d56-9a5e-2b1f1f6f0a01"
REGISTRATION = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"
EXT_A = "https://example.com/xapi/extensions/progress"
EXT_B = "https://other.example.org/vocab/progress"
EXT_POS = "https://example.com/xapi/extensions/position"

RICH: dict[str, Any] = {
    "id": SID,
    "timestamp": "2025-03-03T09:15:00.123Z",
    "stored": "2025-03-03T09:15:01.000000Z",
    "actor": {"objectType": "Agent", "name": "Grace Hopper", "mbox": EMAIL},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered",
             "display": {"de-DE": "beantwortete", "en-GB": "answered (GB)", "en-US": "answered"}},
    "object": {
        "objectType": "Activity",
        "id": "https://example.com/quiz/q1",
        "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                       "name": {"fr-FR": "Question un", "en-US": "Question one"},
                       "interactionType": "choice", "correctResponsesPattern": ["b"],
                       "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}]},
    },
    "result": {
        "score": {"scaled": 0.75, "raw": 3, "min": 0, "max": 4},
        "success": True,
        "completion": False,
        "response": "b",
        "duration": "PT1M30.5S",
        "extensions": {EXT_A: 0.5, EXT_B: 0.7, EXT_POS: {"x": 1.5, "y": -2}},
    },
    "context": {
        "registration": REGISTRATION,
        "contextActivities": {
            "parent": [{"id": "https://example.com/quiz"}, {"id": "https://example.com/module-2"}],
            "grouping": {"id": "https://example.com/course"},  # a single object is allowed by xAPI
            "category": [{"id": "https://w3id.org/xapi/seriousgames"}, {"id": "https://example.com/profile/x"}],
        },
        "platform": "Android",
        "language": "en-US",
        "extensions": {EXT_A: 3},
    },
}


def rich(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(RICH)
    out.update(copy.deepcopy(changes))
    return out


def with_interaction(kind: str | None, response: str = "my own words") -> dict[str, Any]:
    s = rich()
    if kind is None:
        del s["object"]["definition"]["interactionType"]
    else:
        s["object"]["definition"]["interactionType"] = kind
    s["result"]["response"] = response
    return s


# ---------------------------------------------------------------- fixed columns


def test_codebook_lists_exactly_the_columns_named_by_the_issue_with_types() -> None:
    assert [c[0] for c in STATEMENT_COLUMNS] == REQUIRED
    types = {c[0]: c[1] for c in STATEMENT_COLUMNS}
    assert types["timestamp"] == types["stored"] == "datetime64[UTC]"
    assert types["success"] == types["completion"] == "boolean"
    assert all(types[c] == "float64" for c in ("score_scaled", "score_raw", "score_min", "score_max", "duration_s"))
    assert all(len(c) == 4 and c[2] and c[3] for c in STATEMENT_COLUMNS), "every column has a description and a source"


def test_every_fixed_column_of_a_rich_statement() -> None:
    row = flatten(rich(), Privacy())
    assert set(REQUIRED) <= set(row)
    assert row["id"] == SID
    assert row["timestamp"] == "2025-03-03T09:15:00.123Z"
    assert row["stored"] == "2025-03-03T09:15:01.000000Z"
    assert row["actor_id"] is not None and "grace@example.com" in row["actor_id"]  # not pseudonymised: the IFI
    assert row["actor_name"] == "Grace Hopper"
    assert row["verb_id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert row["verb"] == "answered"  # en-US preferred over the first language and en-GB
    assert row["object_id"] == "https://example.com/quiz/q1"
    assert row["object_type"] == "Activity"
    assert row["activity_type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert row["object_name"] == "Question one"
    assert row["success"] is True
    assert row["completion"] is False
    assert row["response"] == "b"
    assert (row["score_scaled"], row["score_raw"], row["score_min"], row["score_max"]) == (0.75, 3, 0, 4)
    assert row["duration_s"] == pytest.approx(90.5)
    assert row["registration"] == REGISTRATION
    assert row["parent_id"] == "https://example.com/quiz|https://example.com/module-2"
    assert row["grouping_id"] == "https://example.com/course"
    assert row["category_id"] == "https://w3id.org/xapi/seriousgames|https://example.com/profile/x"
    assert row["platform"] == "Android"
    assert row["language"] == "en-US"


def test_a_minimal_statement_gives_empty_optional_columns() -> None:
    row = flatten({"id": SID, "actor": {"mbox": EMAIL}, "verb": {"id": "http://example.com/v"},
                   "object": {"id": "http://example.com/a"}}, Privacy())
    assert row["object_type"] == "Activity"
    for column in ("verb", "activity_type", "object_name", "success", "completion", "response", "score_scaled",
                   "score_raw", "duration_s", "registration", "parent_id", "grouping_id", "category_id",
                   "platform", "language", "actor_name"):
        assert row[column] is None, column
    assert not any(k.startswith((RESULT_EXT, CONTEXT_EXT)) for k in row)


@pytest.mark.parametrize("display, expected", [
    ({"fr": "a répondu", "en": "answered (en)"}, "answered (en)"),
    ({"fr": "a répondu", "en-US": "answered", "en": "answered (en)"}, "answered"),
    ({"fr": "a répondu"}, "a répondu"),
])
def test_verb_display_prefers_en_us_then_en_then_the_first(display: dict[str, str], expected: str) -> None:
    row = flatten(rich(verb={"id": "http://adlnet.gov/expapi/verbs/answered", "display": display}), Privacy())
    assert row["verb"] == expected


@pytest.mark.parametrize("duration, expected", [
    ("PT1M30.5S", 90.5), ("PT0S", 0.0), ("PT1H", 3600.0), ("P1DT1S", 86401.0), ("PT0.25S", 0.25),
])
def test_durations_in_seconds(duration: str, expected: float) -> None:
    assert duration_seconds(duration) == pytest.approx(expected)
    s = rich()
    s["result"]["duration"] = duration
    assert flatten(s, Privacy())["duration_s"] == pytest.approx(expected)


@pytest.mark.parametrize("duration", ["P1M", "P1Y2M3DT4H", "P2M10DT30S"])
def test_a_duration_with_years_or_months_does_not_crash(duration: str) -> None:
    s = rich()
    s["result"]["duration"] = duration
    value = flatten(s, Privacy())["duration_s"]
    assert value is None or (isinstance(value, float) and value > 0)


@pytest.mark.parametrize("duration", ["P1000000000D", "PT99999999999999999999H", "P99999999999W"])
def test_a_duration_beyond_python_s_range_is_empty_not_a_crash(duration: str) -> None:
    # Valid ISO 8601 that the LRS accepts; one such statement used to break every export (a 5xx hunt).
    s = rich()
    s["result"]["duration"] = duration
    assert flatten(s, Privacy())["duration_s"] is None


def test_an_unparseable_duration_is_empty() -> None:
    s = rich()
    s["result"]["duration"] = "about a minute"
    assert flatten(s, Privacy())["duration_s"] is None


def test_statement_ref_object() -> None:
    target = "0d2c0c7e-5f0e-4d8e-9c39-7d3bd0d7e0a1"
    row = flatten(rich(object={"objectType": "StatementRef", "id": target}), Privacy())
    assert (row["object_id"], row["object_type"], row["activity_type"], row["object_name"]) == (
        target, "StatementRef", None, None)


# ---------------------------------------------------------------- extensions


def test_extensions_are_keyed_by_their_full_iri_and_objects_become_json_text() -> None:
    row = flatten(rich(), Privacy())
    assert row[RESULT_EXT + EXT_A] == 0.5
    assert row[RESULT_EXT + EXT_B] == 0.7
    assert json.loads(row[RESULT_EXT + EXT_POS]) == {"x": 1.5, "y": -2}
    assert row[CONTEXT_EXT + EXT_A] == 3


def test_short_names_are_readable_prefixed_and_distinct_for_colliding_last_segments() -> None:
    keys = list(flatten(rich(), Privacy()))
    keys = [k for k in keys if k.startswith((RESULT_EXT, CONTEXT_EXT))]
    names = short_names(keys, taken=REQUIRED)
    assert set(names) == set(keys)
    assert len(set(names.values())) == len(keys), names  # same last segment "progress", different IRIs
    for key in (RESULT_EXT + EXT_A, RESULT_EXT + EXT_B):
        assert re.fullmatch(r"result_progress_[0-9a-f]{6}", names[key]), names[key]
    assert re.fullmatch(r"context_progress_[0-9a-f]{6}", names[CONTEXT_EXT + EXT_A])
    assert re.fullmatch(r"result_position_[0-9a-f]{6}", names[RESULT_EXT + EXT_POS])
    assert not set(names.values()) & set(REQUIRED)


def test_an_extension_has_one_name_in_every_export() -> None:
    # A name made from the set of extensions changed when another extension with the same last
    # segment turned up, and one name then meant another IRI (found by a black-box probe).
    sg_progress = RESULT_EXT + "https://w3id.org/xapi/seriousgames/extensions/progress"
    level, level_upper = RESULT_EXT + "https://a.example/x/level", RESULT_EXT + "https://a.example/x/Level"
    alone = {key: short_names([key], taken=REQUIRED)[key] for key in (sg_progress, level, level_upper)}
    together = short_names([RESULT_EXT + EXT_A, level_upper, sg_progress, level, RESULT_EXT + EXT_B], taken=REQUIRED)
    assert {key: together[key] for key in alone} == alone
    assert alone[sg_progress] == "result_progress"  # the xAPI-SG extensions keep their plain names
    assert short_names([sg_progress, CONTEXT_EXT + "https://w3id.org/xapi/seriousgames/extensions/progress"])[
        sg_progress] == "result_progress"
    assert alone[level] != alone[level_upper]


def test_short_names_never_take_a_taken_name() -> None:
    key = RESULT_EXT + "https://example.com/ext/score"
    free = short_names([key])[key]
    assert free.startswith("result_score_")
    assert short_names([key], taken=[free])[key] not in (free,)
    sg = RESULT_EXT + "https://w3id.org/xapi/seriousgames/extensions/health"
    assert short_names([sg], taken=["result_health"])[sg] != "result_health"


def test_identical_segments_everywhere_still_give_distinct_names() -> None:
    keys = [RESULT_EXT + "https://a.example/x", RESULT_EXT + "http://a.example/x", RESULT_EXT + "urn:a:example:x"]
    names = short_names(keys)
    assert len(set(names.values())) == 3, names


# ---------------------------------------------------------------- privacy


def test_pseudonym_is_a_keyed_hmac_stable_for_the_key_and_without_the_email() -> None:
    agent = {"objectType": "Agent", "name": "Grace Hopper", "mbox": EMAIL}
    first = Privacy(key=KEY).actor_id(agent)
    again = Privacy(key=KEY).actor_id(copy.deepcopy(agent))  # another Privacy, same key
    other = Privacy(key=OTHER_KEY).actor_id(agent)
    assert first == again
    assert first != other
    for text in ("grace", "example.com", "mailto", "Hopper"):
        assert text not in first
    digest = hmac.new(KEY, ("mbox:" + EMAIL).encode(), hashlib.sha256).hexdigest()
    assert first.split("_")[-1] in digest, "a keyed HMAC-SHA256 of the actor identifier"
    # the identifier, not the name, decides the pseudonym
    assert Privacy(key=KEY).actor_id({"mbox": EMAIL, "name": "G. H."}) == first
    assert Privacy(key=KEY).actor_id({"mbox": "mailto:ada@example.com"}) != first


def test_pseudonym_of_an_account_hides_the_account() -> None:
    agent = {"account": {"homePage": "https://game.example.org", "name": "player-7"}}
    pseudonym = Privacy(key=KEY).actor_id(agent)
    assert "player" not in pseudonym and "game.example.org" not in pseudonym
    plain = Privacy().actor_id(agent)
    assert "player-7" in plain and "https://game.example.org" in plain


def test_anonymous_group_pseudonym_does_not_depend_on_member_order() -> None:
    a, b = {"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}
    privacy = Privacy(key=KEY)
    assert privacy.actor_id({"objectType": "Group", "member": [a, b]}) == privacy.actor_id(
        {"objectType": "Group", "member": [b, a]})
    assert "a@example.com" not in privacy.actor_id({"objectType": "Group", "member": [a, b]})


def test_flatten_pseudonymises_the_actor() -> None:
    row = flatten(rich(), Privacy(key=KEY, names="drop"))
    assert row["actor_id"] == Privacy(key=KEY).actor_id(RICH["actor"])
    assert "grace" not in row["actor_id"]
    assert row["actor_name"] is None


def test_names_drop_hash_keep() -> None:
    assert flatten(rich(), Privacy(key=KEY, names="drop"))["actor_name"] is None
    assert flatten(rich(), Privacy(key=KEY, names="keep"))["actor_name"] == "Grace Hopper"
    hashed = flatten(rich(), Privacy(key=KEY, names="hash"))["actor_name"]
    assert hashed and "Grace" not in hashed and "Hopper" not in hashed
    assert flatten(rich(), Privacy(key=KEY, names="hash"))["actor_name"] == hashed  # stable
    other = rich(actor={"name": "Ada Lovelace", "mbox": "mailto:ada@example.com"})
    assert flatten(other, Privacy(key=KEY, names="hash"))["actor_name"] != hashed


@pytest.mark.parametrize("kind", ["fill-in", "long-fill-in", "other"])
def test_free_text_answers_follow_the_policy(kind: str) -> None:
    s = with_interaction(kind, "My name is Grace and I live in Arlington")
    assert flatten(s, Privacy(key=KEY, free_text="drop"))["response"] is None
    assert flatten(s, Privacy(key=KEY, free_text="keep"))["response"] == "My name is Grace and I live in Arlington"
    hashed = flatten(s, Privacy(key=KEY, free_text="hash"))["response"]
    assert hashed and "Grace" not in hashed and hashed != s["result"]["response"]
    assert flatten(s, Privacy(key=KEY, free_text="hash"))["response"] == hashed


@pytest.mark.parametrize("kind", ["choice", "true-false", "sequencing", "numeric", "matching", "likert", None])
def test_other_responses_are_kept_whatever_the_free_text_policy(kind: str | None) -> None:
    s = with_interaction(kind, "b")
    for policy in ("drop", "hash"):
        assert flatten(s, Privacy(key=KEY, names="drop", free_text=policy))["response"] == "b"


def test_an_agent_as_object_is_pseudonymised_too() -> None:
    bob = {"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.com"}
    row = flatten(rich(object=bob), Privacy(key=KEY))
    assert row["object_type"] == "Agent"
    assert row["object_id"] == Privacy(key=KEY).actor_id(bob)
    assert "bob" not in row["object_id"]
    assert row["activity_type"] is None and row["object_name"] is None
    plain = flatten(rich(object=bob), Privacy())
    assert "mailto:bob@example.com" in plain["object_id"]
