"""The xAPI Profiles engine against the Profiles 1.0 spec text (Part Two §8-9, Part Three §2.1)."""

from __future__ import annotations

import copy

import pytest

from lrs.profiles import Profile, ProfileError
from lrs.profiles import jsonpath

BASE = "http://example.com/profiles/p"
VERB = "http://example.com/verbs/placed"
TYPE = "http://example.com/types/event"


def profile(*templates, concepts=(), patterns=()) -> Profile:
    return Profile.from_document({
        "id": BASE, "type": "Profile", "prefLabel": {"en": "Test"}, "versions": [{"id": BASE + "/v1"}],
        "templates": [{"id": f"{BASE}/t{i}", "type": "StatementTemplate", "inScheme": BASE + "/v1",
                       "prefLabel": {"en": f"t{i}"}, "definition": {"en": "x"}, **t} for i, t in enumerate(templates)],
        "concepts": list(concepts), "patterns": list(patterns),
    })


STATEMENT = {
    "actor": {"mbox": "mailto:a@example.com"},
    "verb": {"id": VERB},
    "object": {"id": "http://example.com/e/1", "definition": {"type": TYPE}},
    "result": {"response": "gold", "extensions": {"http://example.com/ext/place": 1}},
    "context": {"contextActivities": {"grouping": [{"id": "http://example.com/g", "definition": {"type": TYPE}}],
                                      "category": [{"id": BASE + "/v1"}]}},
}


def s(**changes):
    out = copy.deepcopy(STATEMENT)
    out.update(changes)
    return out


# -- JSONPath (Part Two §8.1) --------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("$.result.response", ["gold"]),
    ("result.response", ["gold"]),
    ("$.result.extensions['http://example.com/ext/place']", [1]),
    ("$.context.contextActivities.grouping[*].id", ["http://example.com/g"]),
    ("$.context.contextActivities.grouping[0].definition.type", [TYPE]),
    ("$.context.contextActivities['grouping','category'][*].id", ["http://example.com/g", BASE + "/v1"]),
    ("$.result.response | $.verb.id", ["gold", VERB]),
    ("$.result.nothing", []),
    ("$.context.contextActivities.grouping[5].id", []),
])
def test_jsonpath(path, expected):
    assert jsonpath.compile(path).find(STATEMENT) == expected


@pytest.mark.parametrize("path", ["$..id", "$.a[?(@.b)]", "$.a[(1)]", "$.a[", "$.a['b", "$.a.", ""])
def test_jsonpath_refuses_what_profiles_forbid(path):
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.compile(path)


# -- determining properties and matching ---------------------------------------------

def test_unmatched_statement_is_a_violation_without_template():
    [v] = profile({"verb": "http://example.com/verbs/other"}).check(s())
    assert v.template is None and v.found["verb"] == VERB and "matches no Statement Template" in v.message


def test_determining_properties_all_must_match():
    p = profile({"verb": VERB, "objectActivityType": TYPE, "contextGroupingActivityType": [TYPE]})
    assert p.check(s()) == []
    assert p.check(s(verb={"id": "http://example.com/v2"}))[0].template is None
    other = s(object={"id": "http://example.com/e/1", "definition": {"type": "http://example.com/types/x"}})
    assert p.check(other)[0].template is None
    no_grouping = s(context={})
    assert p.check(no_grouping)[0].template is None


def test_every_matching_template_must_follow_its_rules():
    p = profile({"verb": VERB}, {"verb": VERB, "rules": [{"location": "$.result.success", "presence": "included"}]})
    [v] = p.check(s())
    assert v.template == f"{BASE}/t1" and v.location == "$.result.success" and v.found is None


# -- rules (Part Three §2.1 follows_rule) ----------------------------------------------

@pytest.mark.parametrize("rule, ok", [
    ({"location": "$.result.response", "presence": "included"}, True),
    ({"location": "$.result.success", "presence": "included"}, False),
    ({"location": "$.result.success", "presence": "excluded"}, True),
    ({"location": "$.result.response", "presence": "excluded"}, False),
    ({"location": "$.result.success", "presence": "recommended"}, True),
    ({"location": "$.result.success", "presence": "recommended", "any": [True]}, True),  # absent: not checked
    ({"location": "$.result.response", "presence": "recommended", "any": ["silver"]}, False),  # present: checked
    ({"location": "$.result.response", "any": ["gold", "silver"]}, True),
    ({"location": "$.result.response", "any": ["silver"]}, False),
    ({"location": "$.result.success", "any": [True]}, False),  # no presence: strict, nothing found
    ({"location": "$.result.response", "all": ["gold"]}, True),
    ({"location": "$.context.contextActivities['grouping','category'][*].id", "all": ["http://example.com/g"]}, False),
    ({"location": "$.result.response", "none": ["gold"]}, False),
    ({"location": "$.result.response", "none": ["lead"]}, True),
    ({"location": "$.result.extensions['http://example.com/ext/place']", "any": [True]}, False),  # 1 is not true
    ({"location": "$.result.extensions['http://example.com/ext/place']", "any": [1.0]}, True),
    # selector: an evaluated value where the selector finds nothing is unmatchable
    ({"location": "$.context.contextActivities.grouping[*]", "selector": "$.definition.type", "presence": "included"}, True),
    ({"location": "$.context.contextActivities.category[*]", "selector": "$.definition.type", "presence": "included"}, False),
    ({"location": "$.context.contextActivities.category[*]", "selector": "$.definition.type", "presence": "excluded"}, True),
    ({"location": "$.context.contextActivities.category[*]", "selector": "$.id", "all": [BASE + "/v1"]}, True),
])
def test_rule(rule, ok):
    violations = profile({"verb": VERB, "rules": [rule]}).check(s())
    assert (violations == []) is ok, violations
    if not ok:
        assert violations[0].location.startswith(rule["location"])


def test_a_rule_needs_a_requirement_and_a_known_presence():
    with pytest.raises(ProfileError):
        profile({"verb": VERB, "rules": [{"location": "$.result.response"}]})
    with pytest.raises(ProfileError):
        profile({"verb": VERB, "rules": [{"location": "$.result.response", "presence": "maybe"}]})
    with pytest.raises(ProfileError):
        profile({"verb": VERB, "rules": [{"location": "$..response", "presence": "included"}]})


def test_not_a_profile():
    with pytest.raises(ProfileError):
        Profile.from_document({"type": "Verb"})
    with pytest.raises(ProfileError):
        Profile.from_json(b"{nope")


# -- StatementRef templates ------------------------------------------------------------

def test_object_statement_ref_template():
    p = profile({"verb": VERB}, {"verb": "http://example.com/verbs/confirmed",
                                 "objectStatementRefTemplate": [f"{BASE}/t0"]})
    target = s()
    ref = {"actor": {"mbox": "mailto:b@example.com"}, "verb": {"id": "http://example.com/verbs/confirmed"},
           "object": {"objectType": "StatementRef", "id": "6f1b1b7e-1111-4111-8111-111111111111"}}
    assert p.check(ref, {"6f1b1b7e-1111-4111-8111-111111111111": target}.get) == []
    assert p.check(ref, lambda _: None) == []  # not available to the checking system: no judgement (§2.1)
    wrong_target = s(verb={"id": "http://example.com/verbs/confirmed"},
                     object={"objectType": "StatementRef", "id": "x"})
    [v] = p.check(ref, {"6f1b1b7e-1111-4111-8111-111111111111": wrong_target}.get)
    assert v.template == f"{BASE}/t1" and v.location == "$.object.id"
    not_a_ref = s(verb={"id": "http://example.com/verbs/confirmed"})
    [v] = p.check(not_a_ref)
    assert v.location == "$.object" and "StatementRef" in v.message


# -- extensions' inlineSchema ------------------------------------------------------------

def test_extension_inline_schema():
    concept = {"id": "http://example.com/ext/place", "type": "ResultExtension", "inScheme": BASE + "/v1",
               "prefLabel": {"en": "place"}, "definition": {"en": "x"},
               "inlineSchema": '{"type": "integer", "minimum": 1, "maximum": 3}'}
    p = profile({"verb": VERB}, concepts=[concept])
    assert p.check(s()) == []
    bad = s(result={"extensions": {"http://example.com/ext/place": 7}})
    [v] = p.check(bad)
    assert v.found == 7 and v.location == "$.result.extensions['http://example.com/ext/place']"
    assert v.template == f"{BASE}/t0"
    with pytest.raises(ProfileError):
        profile({"verb": VERB}, concepts=[{**concept, "inlineSchema": "{not json"}])
