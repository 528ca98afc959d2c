"""validate_statement / validate_agent, from the specification text.

Valid: the spec's own examples (Data 2.3.2, 2.4, Appendix A-D), the xAPI-SG tracker examples and
edge cases the spec allows. Invalid: one statement per rule, each failing at the expected path
with the expected rule name.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from lrs.xapi.errors import XAPIError
from lrs.xapi.validate import agent_param, batch_matches_schema, validate_agent, validate_statement
from tests.xapi import spec_examples as spec

DATA = Path(__file__).resolve().parent.parent / "data"
VERSIONS = ("1.0.3", "2.0.0")
UUID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"

BASE: dict[str, Any] = {
    "id": UUID,
    "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
    "object": {
        "id": "http://example.com/activities/level-1",
        "definition": {"name": {"en-US": "Level 1"}, "type": "http://adlnet.gov/expapi/activities/lesson"},
    },
    "result": {"score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10}, "success": True, "duration": "PT2M5.5S"},
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {"parent": [{"id": "http://example.com/activities/game"}]},
        "extensions": {"http://example.com/extensions/level": 1},
    },
    "timestamp": "2025-03-10T10:05:00.000Z",
}
AGENT_OBJECT = {"objectType": "Agent", "mbox": "mailto:bob@example.com"}
STATEMENT_REF = {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}
SUB = {
    "objectType": "SubStatement",
    "actor": {"mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://example.com/visited"},
    "object": {"id": "http://example.com/website"},
}
ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
    "fileUrl": "http://over.there.com/file.txt",
}
CONTEXT_AGENT = {"objectType": "contextAgent", "agent": {"mbox": "mailto:coach@example.com"}, "relevantTypes": ["http://example.com/types/coach"]}
CONTEXT_GROUP = {
    "objectType": "contextGroup",
    "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com", "member": [{"mbox": "mailto:p1@example.com"}]},
    "relevantTypes": ["https://example.com/types/team"],
}


def make(**changes: Any) -> dict[str, Any]:
    """BASE with top-level properties replaced (a value of None removes the property)."""
    out = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = copy.deepcopy(value)
    return out


def edit(fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    fn(out)
    return out


def failure(statement: object, version: str = "1.0.3", **kwargs: Any) -> XAPIError:
    with pytest.raises(XAPIError) as info:
        validate_statement(statement, version, **kwargs)
    err = info.value
    assert err.status == 400 and err.error == "validation"
    return err


# --- valid ------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(spec.STATEMENTS))
def test_spec_example_statements_pass(name: str, version: str) -> None:
    validate_statement(spec.load(spec.STATEMENTS[name]), version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(spec.OBJECTS))
def test_spec_appendix_b_objects_pass(name: str, version: str) -> None:
    validate_statement(make(object=spec.load(spec.OBJECTS[name]), context=None), version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("interaction", sorted(spec.INTERACTIONS))
def test_spec_appendix_c_interactions_pass(interaction: str, version: str) -> None:
    obj = {"objectType": "Activity", "id": "http://example.com/q1", "definition": spec.INTERACTIONS[interaction]}
    validate_statement(make(object=obj), version)
    # the same definition inside a SubStatement and as a context activity
    validate_statement(make(object={**SUB, "object": obj}, context=None), version)
    validate_statement(make(context={"contextActivities": {"other": [obj]}}), version)


SG_EXAMPLES = sorted((DATA / "sg-examples").glob("*/*.json"))


def test_sg_examples_are_present() -> None:
    assert {p.parent.name for p in SG_EXAMPLES} == {"xasu", "js-tracker", "csharp-tracker"}
    assert len(SG_EXAMPLES) == 30


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", SG_EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sg_tracker_examples_pass(path: Path, version: str) -> None:
    validate_statement(json.loads(path.read_text()), version)


VALID = {
    "minimal, Agent and Activity without objectType": {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "urn:x:v"}, "object": {"id": "urn:x:a"}},
    "uppercase UUIDs": make(id=UUID.upper(), context={"registration": UUID.upper()}),
    "version 1.0": make(version="1.0"),
    "version 1.0.9": make(version="1.0.9"),
    "IRI with non-ASCII characters (Data 2.4.3.1)": make(verb={"id": "http://example.com/فعل/خواندن"}),
    "custom IRI schemes": make(object={"id": "mygame://HealthPotion"}, result={"extensions": {"mygame://coins": 12}}),
    "extension values null, empty string and empty object (XAPI-00119)": make(
        result={"extensions": {"http://example.com/null": None, "http://example.com/e": "", "http://example.com/o": {}}}
    ),
    "empty result, context and definition": make(result={}, context={}, object={"id": "http://example.com/a", "definition": {}}),
    "score at its bounds": make(result={"score": {"scaled": -1, "raw": 10, "min": -10, "max": 10}}),
    "scaled 1.0 with raw only": make(result={"score": {"scaled": 1.0, "raw": 0.6767676}}),
    "single contextActivities object (1.0 compatibility)": make(context={"contextActivities": {"parent": {"id": "http://example.com/p"}}}),
    "all four contextActivities kinds": make(context={"contextActivities": {k: [{"id": f"http://example.com/{k}"}] for k in ("parent", "grouping", "category", "other")}}),
    "anonymous group actor": make(actor={"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"account": {"homePage": "http://example.com", "name": ""}}]}),
    "identified group without members": make(actor={"objectType": "Group", "openid": "http://openid.example.org/team"}),
    "identified group with empty member list": make(actor={"objectType": "Group", "mbox": "mailto:team@example.com", "member": []}),
    "authority group of two agents (3-legged OAuth)": make(authority={
        "objectType": "Group",
        "member": [{"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}}, {"mbox": "mailto:bob@example.com"}],
    }),
    "agent, group and statement-ref objects with context (no revision/platform)": make(object=AGENT_OBJECT, context={"registration": UUID}),
    "statement ref object, context statement ref": make(object=STATEMENT_REF, context={"statement": STATEMENT_REF}),
    "substatement with result, context, timestamp and attachments": make(object={
        **SUB, "result": {"success": False}, "context": {"revision": "2", "platform": "web"},
        "timestamp": "2030-01-01T00:00:00Z", "attachments": [ATTACHMENT],
    }),
    "revision and platform with an Activity": make(context={"revision": "1.2", "platform": "iOS", "language": "en-GB"}),
    "attachment with SHA-512 and no fileUrl": make(attachments=[{**{k: v for k, v in ATTACHMENT.items() if k != "fileUrl"}, "sha2": "AB" * 64}]),
    "attachment of length 0": make(attachments=[{**ATTACHMENT, "length": 0}]),
    "instructor group and team group": make(context={
        "instructor": {"objectType": "Group", "member": [{"mbox": "mailto:t@example.com"}]},
        "team": {"objectType": "Group", "account": {"homePage": "http://example.com", "name": "team-a"}},
    }),
    "interaction without any correctResponsesPattern, and an empty one": make(object={
        "id": "http://example.com/q", "definition": {"interactionType": "choice", "correctResponsesPattern": [], "choices": []},
    }),
    "stored and authority sent by the client": make(stored="2025-03-10T10:05:01Z", authority={"account": {"homePage": "http://example.com", "name": "x"}}),
    "mbox with plus address and sub-domain": make(actor={"mbox": "mailto:first.last+tag@mail.example.co.uk"}),
    "grandfathered and private-use language tags": make(verb={"id": "http://example.com/v", "display": {"i-klingon": "x", "x-whatever": "y", "zh-cmn-Hans-CN": "z"}}),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_statements_pass(name: str, version: str) -> None:
    validate_statement(VALID[name], version)


def test_validation_does_not_change_the_statement() -> None:
    statement = spec.load(spec.APPENDIX_A_LONG)
    before = copy.deepcopy(statement)
    validate_statement(statement, "1.0.3")
    assert statement == before


def test_context_agents_and_groups_are_accepted_in_2_0() -> None:
    validate_statement(make(context={"contextAgents": [CONTEXT_AGENT], "contextGroups": [CONTEXT_GROUP]}), "2.0.0")
    validate_statement(make(object={**SUB, "context": {"contextAgents": [CONTEXT_AGENT]}}), "2.0.0")
    validate_statement(make(version="2.0.0"), "2.0.0")
    validate_statement(make(version="1.0.3"), "2.0.0")


def test_rfc_3339_space_separated_timestamp_is_accepted() -> None:
    validate_statement(make(timestamp="2008-09-15 15:53:00.601+00:00"), "2.0.0")


# --- invalid: (statement, API version, expected path, expected rule) ------------------


def _sub(**changes: Any) -> dict[str, Any]:
    return make(object={**SUB, **changes}, context=None)


def _definition(**definition: Any) -> dict[str, Any]:
    return make(object={"id": "http://example.com/q", "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction", **definition}})


def _score(**score: Any) -> dict[str, Any]:
    return make(result={"score": score})


INVALID: dict[str, tuple[Any, str, str, str]] = {
    # Data 2.2 formatting, XAPI-00001..00011
    "missing actor": (make(actor=None), "1.0.3", "actor", "required"),
    "missing verb": (make(verb=None), "1.0.3", "verb", "required"),
    "missing object": (make(object=None), "1.0.3", "object", "required"),
    "statement is an array": ([BASE], "1.0.3", "", "type"),
    "unknown top-level property": (make(foo=1), "1.0.3", "foo", "additionalProperties"),
    "wrongly cased key Verb": (edit(lambda s: s.update(Verb=s.pop("verb"))), "1.0.3", "Verb", "additionalProperties"),
    "wrongly cased key in 2.0 too": (edit(lambda s: s["result"].update(Success=True)), "2.0.0", "result.Success", "additionalProperties"),
    "unknown property in the actor": (make(actor={"mbox": "mailto:a@example.com", "email": "a@example.com"}), "1.0.3", "actor.email", "additionalProperties"),
    "null result property": (make(result={"completion": None}), "1.0.3", "result.completion", "null"),
    "null top-level property": ({**BASE, "result": None}, "1.0.3", "result", "null"),
    "null language-map value": (make(verb={"id": "http://example.com/v", "display": {"en-US": None}}), "1.0.3", "verb.display.en-US", "null"),
    "null moreInfo": (make(object={"id": "http://example.com/a", "definition": {"moreInfo": None}}), "1.0.3", "object.definition.moreInfo", "null"),
    "success as a string": (make(result={"success": "true"}), "1.0.3", "result.success", "type"),
    "completion as a string": (make(result={"completion": "false"}), "1.0.3", "result.completion", "type"),
    "score max as a numeric string": (_score(max="100"), "1.0.3", "result.score.max", "type"),
    "score raw as a boolean": (_score(raw=True), "1.0.3", "result.score.raw", "type"),
    "timestamp as a number": (make(timestamp=20250310), "1.0.3", "timestamp", "type"),
    "display as a string": (make(verb={"id": "http://example.com/v", "display": "i-enochian"}), "1.0.3", "verb.display", "type"),
    "definition as a string": (make(object={"id": "http://example.com/a", "definition": "should error"}), "1.0.3", "object.definition", "type"),
    "extensions as a string": (make(result={"extensions": "x"}), "1.0.3", "result.extensions", "type"),
    # actors, Data 2.4.2
    "actor objectType lowercase": (make(actor={"objectType": "agent", "mbox": "mailto:a@example.com"}), "1.0.3", "actor.objectType", "enum"),
    "agent with two IFIs": (make(actor={"mbox": "mailto:a@example.com", "openid": "http://openid.example.org/a"}), "1.0.3", "actor", "ifi"),
    "agent without IFI": (make(actor={"name": "Ada"}), "1.0.3", "actor", "ifi"),
    "mbox without mailto:": (make(actor={"mbox": "user@example.com"}), "1.0.3", "actor.mbox", "mbox"),
    "mbox without an address": (make(actor={"mbox": "mailto:"}), "1.0.3", "actor.mbox", "mbox"),
    "mbox with a NUL": (make(actor={"mbox": "mailto:a\u0000@example.com"}), "1.0.3", "actor.mbox", "mbox"),
    "mbox with a control character": (make(actor={"mbox": "mailto:a\u0001@example.com"}), "2.0.0", "actor.mbox", "mbox"),
    "mbox with a C1 control character in the domain": (make(actor={"mbox": "mailto:a@exam\u0085ple.com"}), "1.0.3", "actor.mbox", "mbox"),
    "mbox with DEL in a group member": (make(actor={"objectType": "Group", "member": [{"mbox": "mailto:a\u007f@example.com"}]}), "1.0.3", "actor.member[0].mbox", "mbox"),
    "mbox_sha1sum not 40 hex digits": (make(actor={"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee"}), "1.0.3", "actor.mbox_sha1sum", "sha1"),
    "openid without scheme": (make(actor={"openid": "open.id.com/testUser"}), "1.0.3", "actor.openid", "iri"),
    "account homePage without scheme": (make(actor={"account": {"homePage": "homePage.com/testUser", "name": "1"}}), "1.0.3", "actor.account.homePage", "iri"),
    "account name as an object": (make(actor={"account": {"homePage": "http://example.com", "name": {"key": "x"}}}), "1.0.3", "actor.account.name", "type"),
    "account without name": (make(actor={"account": {"homePage": "http://example.com"}}), "1.0.3", "actor.account.name", "required"),
    "group member that is a Group": (make(actor={"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@example.com"}]}), "1.0.3", "actor.member[0].objectType", "member"),
    "group member without IFI": (make(actor={"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}, {"name": "B"}]}), "1.0.3", "actor.member[1]", "ifi"),
    "anonymous group without member": (make(actor={"objectType": "Group", "name": "Team"}), "1.0.3", "actor.member", "required"),
    "anonymous group with empty member": (make(actor={"objectType": "Group", "member": []}), "1.0.3", "actor.member", "required"),
    "identified group with two IFIs": (make(actor={"objectType": "Group", "mbox": "mailto:t@example.com", "openid": "http://o.example.org/t"}), "1.0.3", "actor", "ifi"),
    "group member is not an array": (make(actor={"objectType": "Group", "mbox": "mailto:t@example.com", "member": {"mbox": "mailto:a@example.com"}}), "1.0.3", "actor.member", "type"),
    # verb, Data 2.4.3 and voiding 2.3.2
    "verb id without scheme": (make(verb={"id": "adlnet.gov/expapi/verbs/attended"}), "1.0.3", "verb.id", "iri"),
    "verb id with invalid scheme": (make(verb={"id": "ab=c://should.fail.com"}), "1.0.3", "verb.id", "iri"),
    "verb id with a space": (make(verb={"id": "http://example.com/my verb"}), "1.0.3", "verb.id", "iri"),
    "verb id empty": (make(verb={"id": ""}), "1.0.3", "verb.id", "iri"),
    "verb without id": (make(verb={"display": {"en-US": "x"}}), "1.0.3", "verb.id", "required"),
    "voiding with an Activity object": (make(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}), "1.0.3", "object", "voiding"),
    "voiding with an Agent object": (make(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}, object=AGENT_OBJECT, context=None), "2.0.0", "object", "voiding"),
    # object, Data 2.4.4
    "object objectType lowercase activity": (make(object={"objectType": "activity", "id": "http://example.com/a"}), "1.0.3", "object.objectType", "enum"),
    "object objectType unknown": (make(object={"objectType": "Person", "id": "http://example.com/a"}), "1.0.3", "object.objectType", "enum"),
    "activity without id": (make(object={"objectType": "Activity"}), "1.0.3", "object.id", "required"),
    "activity id without scheme": (make(object={"id": "www.example.com/meetings/34534"}), "1.0.3", "object.id", "iri"),
    "agent object without objectType": (make(object={"mbox": "mailto:bob@example.com"}, context=None), "1.0.3", "object.objectType", "required"),
    "agent object with two IFIs": (make(object={**AGENT_OBJECT, "mbox_sha1sum": "a" * 40}, context=None), "1.0.3", "object", "ifi"),
    "substatement without objectType": (make(object={k: v for k, v in SUB.items() if k != "objectType"}, context=None), "1.0.3", "object.objectType", "required"),
    "statement ref without id": (make(object={"objectType": "StatementRef"}, context=None), "1.0.3", "object.id", "required"),
    "statement ref with a bad UUID": (make(object={"objectType": "StatementRef", "id": "not-a-uuid"}, context=None), "1.0.3", "object.id", "uuid"),
    "definition type without scheme": (make(object={"id": "http://example.com/a", "definition": {"type": "should error"}}), "1.0.3", "object.definition.type", "iri"),
    "definition moreInfo without scheme": (make(object={"id": "http://example.com/a", "definition": {"moreInfo": "example.com/info"}}), "1.0.3", "object.definition.moreInfo", "iri"),
    "definition name with key en_US": (make(object={"id": "http://example.com/a", "definition": {"name": {"en_US": "x"}}}), "1.0.3", "object.definition.name", "language-tag"),
    "definition description with key de-419-DE": (make(object={"id": "http://example.com/a", "definition": {"description": {"de-419-DE": "x"}}}), "1.0.3", "object.definition.description", "language-tag"),
    "empty language-map key": (make(verb={"id": "http://example.com/v", "display": {"": "x"}}), "1.0.3", "verb.display", "language-tag"),
    # a Language Map has at least one entry (conformance requirements 4.2; the ADL suite's languages tests)
    "empty verb display": (make(verb={"id": "http://example.com/v", "display": {}}), "1.0.3", "verb.display", "minProperties"),
    "empty definition name": (make(object={"id": "http://example.com/a", "definition": {"name": {}}}), "1.0.3", "object.definition.name", "minProperties"),
    "empty definition description (2.0)": (make(object={"id": "http://example.com/a", "definition": {"description": {}}}), "2.0.0", "object.definition.description", "minProperties"),
    "empty interaction component description": (_definition(interactionType="choice", choices=[{"id": "a", "description": {}}]), "1.0.3", "object.definition.choices[0].description", "minProperties"),
    "empty SubStatement verb display": (make(object={"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v", "display": {}}, "object": {"id": "http://example.com/a"}}), "1.0.3", "object.verb.display", "minProperties"),
    "empty attachment display": (make(attachments=[{**ATTACHMENT, "display": {}}]), "1.0.3", "attachments[0].display", "minProperties"),
    "empty attachment description": (make(attachments=[{**ATTACHMENT, "description": {}}]), "1.0.3", "attachments[0].description", "minProperties"),
    "language-map key a12345": (make(verb={"id": "http://example.com/v", "display": {"en-US": "x", "a12345": "y"}}), "1.0.3", "verb.display", "language-tag"),
    "definition extension key not an IRI": (make(object={"id": "http://example.com/a", "definition": {"extensions": {"not.valid.com/extension": 1}}}), "1.0.3", "object.definition.extensions", "iri"),
    # interaction activities
    "interactionType wrong case": (_definition(interactionType="Choice"), "1.0.3", "object.definition.interactionType", "enum"),
    "interactionType not a string": (_definition(interactionType=12345), "1.0.3", "object.definition.interactionType", "enum"),
    "choices with a true-false interaction": (_definition(interactionType="true-false", choices=[{"id": "a"}]), "1.0.3", "object.definition.choices", "interaction"),
    "scale with a choice interaction": (_definition(interactionType="choice", scale=[{"id": "a"}]), "1.0.3", "object.definition.scale", "interaction"),
    "steps with a matching interaction": (_definition(interactionType="matching", source=[{"id": "a"}], steps=[{"id": "b"}]), "1.0.3", "object.definition.steps", "interaction"),
    "components without interactionType": (_definition(choices=[{"id": "a"}]), "1.0.3", "object.definition.interactionType", "interaction"),
    "correctResponsesPattern without interactionType (XAPI-00064)": (_definition(correctResponsesPattern=["a"]), "1.0.3", "object.definition.interactionType", "interaction"),
    "correctResponsesPattern not strings": (_definition(interactionType="numeric", correctResponsesPattern=[4]), "1.0.3", "object.definition.correctResponsesPattern[0]", "type"),
    "duplicate component ids": (_definition(interactionType="choice", choices=[{"id": "a"}, {"id": "a"}]), "1.0.3", "object.definition.choices[1].id", "interaction"),
    "component without id": (_definition(interactionType="likert", scale=[{"description": {"en": "x"}}]), "1.0.3", "object.definition.scale[0].id", "required"),
    "component description with bad tag": (_definition(interactionType="performance", steps=[{"id": "s", "description": {"something": "x"}}]), "1.0.3", "object.definition.steps[0].description", "language-tag"),
    # SubStatement, Data 2.4.4.3
    "substatement with id": (_sub(id=UUID), "1.0.3", "object.id", "substatement"),
    "substatement with stored": (_sub(stored="2025-01-01T00:00:00Z"), "1.0.3", "object.stored", "substatement"),
    "substatement with version": (_sub(version="1.0.0"), "1.0.3", "object.version", "substatement"),
    "substatement with authority": (_sub(authority={"mbox": "mailto:a@example.com"}), "1.0.3", "object.authority", "substatement"),
    "nested substatement": (_sub(object=dict(SUB)), "1.0.3", "object.object", "substatement"),
    "substatement without verb": (make(object={k: v for k, v in SUB.items() if k != "verb"}, context=None), "1.0.3", "object.verb", "required"),
    "substatement actor without IFI": (_sub(actor={"name": "x"}), "1.0.3", "object.actor", "ifi"),
    "substatement bad timestamp": (_sub(timestamp="01/011/2015"), "1.0.3", "object.timestamp", "timestamp"),
    "substatement revision with an Agent object": (_sub(object=AGENT_OBJECT, context={"revision": "1"}), "1.0.3", "object.context.revision", "context"),
    # result, Data 2.4.5
    "scaled above 1": (_score(scaled=1.5), "1.0.3", "result.score.scaled", "score"),
    "scaled below -1": (_score(scaled=-1.00001), "1.0.3", "result.score.scaled", "score"),
    "raw above max": (_score(raw=11, max=10), "1.0.3", "result.score.raw", "score"),
    "raw below min": (_score(raw=-1, min=0), "1.0.3", "result.score.raw", "score"),
    "min greater than max": (_score(min=10, max=0), "1.0.3", "result.score.min", "score"),
    "min equal to max": (_score(min=5, max=5), "1.0.3", "result.score.min", "score"),
    "unknown score property": (_score(percent=80), "1.0.3", "result.score.percent", "additionalProperties"),
    "duration PT1H30": (make(result={"duration": "PT1H30"}), "1.0.3", "result.duration", "duration"),
    "duration P1W1D": (make(result={"duration": "P1W1D"}), "1.0.3", "result.duration", "duration"),
    "duration P": (make(result={"duration": "P"}), "1.0.3", "result.duration", "duration"),
    "duration PT": (make(result={"duration": "PT"}), "1.0.3", "result.duration", "duration"),
    "duration alternative format": (make(result={"duration": "P0003-02-01T04:05:06"}), "1.0.3", "result.duration", "duration"),
    "duration negative": (make(result={"duration": "-PT1H"}), "1.0.3", "result.duration", "duration"),
    "duration fraction not on the smallest part": (make(result={"duration": "PT1.5H30M"}), "1.0.3", "result.duration", "duration"),
    "duration PA1H0M0S": (make(result={"duration": "PA1H0M0S"}), "1.0.3", "result.duration", "duration"),
    "result extension key not an IRI": (make(result={"extensions": {"progress": 0.5}}), "1.0.3", "result.extensions", "iri"),
    # context, Data 2.4.6
    "bad registration UUID": (make(context={"registration": "should fail"}), "1.0.3", "context.registration", "uuid"),
    "registration with too many digits": (make(context={"registration": "AA97B177-9383-4934-8543-0F91A7A028368"}), "1.0.3", "context.registration", "uuid"),
    "revision with an Agent object": (make(object=AGENT_OBJECT, context={"revision": "1.0"}), "1.0.3", "context.revision", "context"),
    "platform with a StatementRef object": (make(object=STATEMENT_REF, context={"platform": "web"}), "1.0.3", "context.platform", "context"),
    "revision with a SubStatement object": (make(object=SUB, context={"revision": "1"}), "1.0.3", "context.revision", "context"),
    "revision as a number": (make(context={"revision": 12345}), "1.0.3", "context.revision", "type"),
    "empty contextActivities": (make(context={"contextActivities": {}}), "1.0.3", "context.contextActivities", "minProperties"),
    "contextActivities key not allowed": (make(context={"contextActivities": {"parents": [{"id": "http://example.com/p"}]}}), "1.0.3", "context.contextActivities.parents", "additionalProperties"),
    "contextActivities value a string": (make(context={"contextActivities": {"parent": "http://example.com/p"}}), "1.0.3", "context.contextActivities.parent", "type"),
    "contextActivities activity with bad id": (make(context={"contextActivities": {"grouping": [{"id": "http://example.com/g"}, {"id": "nope"}]}}), "1.0.3", "context.contextActivities.grouping[1].id", "iri"),
    "contextActivities single activity with bad id": (make(context={"contextActivities": {"parent": {"id": "nope"}}}), "1.0.3", "context.contextActivities.parent.id", "iri"),
    "context activity definition with bad tag": (make(context={"contextActivities": {"category": [{"id": "http://example.com/c", "definition": {"name": {"en_GB": "x"}}}]}}), "1.0.3", "context.contextActivities.category[0].definition.name", "language-tag"),
    "team that is an Agent": (make(context={"team": {"objectType": "Agent", "mbox": "mailto:a@example.com"}}), "1.0.3", "context.team.objectType", "enum"),
    "team without objectType": (make(context={"team": {"mbox": "mailto:a@example.com"}}), "1.0.3", "context.team.objectType", "required"),
    "instructor without IFI": (make(context={"instructor": {"name": "T"}}), "1.0.3", "context.instructor", "ifi"),
    "instructor as a string": (make(context={"instructor": "should fail"}), "1.0.3", "context.instructor", "type"),
    "context statement objectType lowercase": (make(context={"statement": {"objectType": "statementref", "id": UUID}}), "1.0.3", "context.statement.objectType", "enum"),
    "context statement id not a UUID": (make(context={"statement": {"objectType": "StatementRef", "id": "should fail"}}), "1.0.3", "context.statement.id", "uuid"),
    "context language invalid": (make(context={"language": "something"}), "1.0.3", "context.language", "language-tag"),
    "context language not a string": (make(context={"language": {"a12345": "should fail"}}), "1.0.3", "context.language", "type"),
    "context extension key not an IRI": (make(context={"extensions": {"http://example.com/ok": 1, "example.com/extension/wrong": 2}}), "1.0.3", "context.extensions", "iri"),
    "contextAgents under 1.0.3": (make(context={"contextAgents": [CONTEXT_AGENT]}), "1.0.3", "context.contextAgents", "additionalProperties"),
    "contextGroups under 1.0.3": (make(context={"contextGroups": [CONTEXT_GROUP]}), "1.0.3", "context.contextGroups", "additionalProperties"),
    "contextAgent with wrong objectType": (make(context={"contextAgents": [{**CONTEXT_AGENT, "objectType": "Should fail"}]}), "2.0.0", "context.contextAgents[0].objectType", "enum"),
    "contextAgent with invalid agent": (make(context={"contextAgents": [{"objectType": "contextAgent", "agent": {"key": "Should fail"}}]}), "2.0.0", "context.contextAgents[0].agent.key", "additionalProperties"),
    "contextAgent agent without IFI": (make(context={"contextAgents": [{"objectType": "contextAgent", "agent": {"name": "Coach"}}]}), "2.0.0", "context.contextAgents[0].agent", "ifi"),
    "contextAgent agent that is a Group": (make(context={"contextAgents": [{"objectType": "contextAgent", "agent": CONTEXT_GROUP["group"]}]}), "2.0.0", "context.contextAgents[0].agent.objectType", "enum"),
    "contextAgent with empty relevantTypes": (make(context={"contextAgents": [{**CONTEXT_AGENT, "relevantTypes": []}]}), "2.0.0", "context.contextAgents[0].relevantTypes", "minItems"),
    "contextAgent with a non-IRI relevantType": (make(context={"contextAgents": [{**CONTEXT_AGENT, "relevantTypes": ["abc"]}]}), "2.0.0", "context.contextAgents[0].relevantTypes[0]", "iri"),
    "contextGroup with an invalid group": (make(context={"contextGroups": [{"objectType": "contextGroup", "group": {"key": "Should fail"}}]}), "2.0.0", "context.contextGroups[0].group.key", "additionalProperties"),
    "contextGroup with an anonymous group without members": (make(context={"contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group"}}]}), "2.0.0", "context.contextGroups[0].group.member", "required"),
    "contextGroup with member in the wrong place": (make(context={"contextGroups": [{**CONTEXT_GROUP, "member": []}]}), "2.0.0", "context.contextGroups[0].member", "additionalProperties"),
    # timestamps, Data 4.5
    "timestamp month 13": (make(timestamp="2013-13-01T00:00:00Z"), "1.0.3", "timestamp", "timestamp"),
    "timestamp 30 February": (make(timestamp="2013-02-30T00:00:00Z"), "1.0.3", "timestamp", "timestamp"),
    "timestamp hour 25": (make(timestamp="2013-05-18T25:00:00Z"), "1.0.3", "timestamp", "timestamp"),
    "timestamp offset -00:00": (make(timestamp="2008-09-15T15:53:00.601-00:00"), "1.0.3", "timestamp", "timestamp"),
    "timestamp offset -0000": (make(timestamp="2008-09-15T15:53:00.601-0000"), "2.0.0", "timestamp", "timestamp"),
    "timestamp offset -00": (make(timestamp="2008-09-15T15:53:00.601-00"), "1.0.3", "timestamp", "timestamp"),
    "timestamp not a date": (make(timestamp="01/011/2015"), "1.0.3", "timestamp", "timestamp"),
    "timestamp date only": (make(timestamp="2015-01-11"), "1.0.3", "timestamp", "timestamp"),
    "timestamp invalid string": (make(timestamp="should fail"), "1.0.3", "timestamp", "timestamp"),
    "stored invalid": (make(stored="yesterday"), "1.0.3", "stored", "timestamp"),
    # id, version, authority, attachments
    "statement id not a UUID": (make(id="MA97B177-9383-4934-8543-0F91A7A02836"), "1.0.3", "id", "uuid"),
    "statement id a number": (make(id=12345), "1.0.3", "id", "type"),
    "version 1.1.0 under 1.0.3": (make(version="1.1.0"), "1.0.3", "version", "version"),
    "version 2.0.0 under 1.0.3": (make(version="2.0.0"), "1.0.3", "version", "version"),
    "version 0.9.9 under 1.0.3": (make(version="0.9.9"), "1.0.3", "version", "version"),
    "version 3.0.0 under 2.0": (make(version="3.0.0"), "2.0.0", "version", "version"),
    "version 2.1.0 under 2.0": (make(version="2.1.0"), "2.0.0", "version", "version"),
    "authority group of three": (make(authority={"objectType": "Group", "member": [{"mbox": f"mailto:{n}@example.com"} for n in "abc"]}), "1.0.3", "authority.member", "authority"),
    "authority group of one": (make(authority={"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}), "1.0.3", "authority.member", "authority"),
    "authority not an agent": (make(authority={"key": "should fail"}), "1.0.3", "authority.key", "additionalProperties"),
    "attachments not an array": (make(attachments=ATTACHMENT), "1.0.3", "attachments", "type"),
    "attachment without contentType": (make(attachments=[{k: v for k, v in ATTACHMENT.items() if k != "contentType"}]), "1.0.3", "attachments[0].contentType", "required"),
    "attachment without sha2": (make(attachments=[{k: v for k, v in ATTACHMENT.items() if k != "sha2"}]), "1.0.3", "attachments[0].sha2", "required"),
    "attachment contentType not a media type": (make(attachments=[{**ATTACHMENT, "contentType": "pdf"}]), "1.0.3", "attachments[0].contentType", "content-type"),
    "attachment length a string": (make(attachments=[{**ATTACHMENT, "length": "27"}]), "1.0.3", "attachments[0].length", "type"),
    "attachment length fractional": (make(attachments=[{**ATTACHMENT, "length": 2.5}]), "1.0.3", "attachments[0].length", "type"),
    "attachment length negative": (make(attachments=[{**ATTACHMENT, "length": -1}]), "1.0.3", "attachments[0].length", "minimum"),
    "attachment sha2 not hex": (make(attachments=[{**ATTACHMENT, "sha2": "z" * 64}]), "1.0.3", "attachments[0].sha2", "sha2"),
    "attachment usageType not an IRI": (make(attachments=[{**ATTACHMENT, "usageType": "example.com/attachment-usage/test"}]), "1.0.3", "attachments[0].usageType", "iri"),
    "attachment fileUrl not an IRL": (make(attachments=[ATTACHMENT, {**ATTACHMENT, "fileUrl": "over.there.com/file.txt"}]), "1.0.3", "attachments[1].fileUrl", "iri"),
    "attachment display with bad tag": (make(attachments=[{**ATTACHMENT, "display": {"en-US": "x", "something": "y"}}]), "1.0.3", "attachments[0].display", "language-tag"),
    "attachment description with bad tag": (make(attachments=[{**ATTACHMENT, "description": {"de-419-DE": "y"}}]), "2.0.0", "attachments[0].description", "language-tag"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_statements_fail_at_path_with_rule(name: str) -> None:
    statement, version, path, rule = INVALID[name]
    err = failure(statement, version)
    assert (err.path, err.extra.get("rule")) == (path, rule), err.message
    assert err.message.startswith(f"{path}: ") if path else err.message
    assert len(err.message) > len(path) + 10  # names what is wrong


def test_every_1_0_3_failure_also_fails_under_2_0() -> None:
    """2.0 only adds contextAgents/contextGroups and version 2.0.x: everything else invalid stays invalid."""
    allowed_in_2_0 = {"contextAgents under 1.0.3", "contextGroups under 1.0.3", "version 2.0.0 under 1.0.3"}
    for name, (statement, version, path, rule) in INVALID.items():
        if version == "1.0.3" and name not in allowed_in_2_0:
            err = failure(statement, "2.0.0")
            assert (err.path, err.extra.get("rule")) == (path, rule), name


def test_the_batch_schema_check_agrees_with_the_statement_schema_check() -> None:
    """POST /statements checks a batch's schema in one call, then only the rules per statement:
    a batch holding any statement the schema refuses must be refused by that one call."""
    from lrs.xapi.validate import _fast_validator, _schema_key

    valid = make()
    refused_by_schema = 0
    for name, (statement, version, _, _) in INVALID.items():
        one = _fast_validator(_schema_key(version)).is_valid(statement)
        assert batch_matches_schema([valid, statement, valid], version) == one, name
        refused_by_schema += not one
    assert refused_by_schema > 50  # the corpus exercises the schema, not only the rules
    assert batch_matches_schema([valid] * 3, "1.0.3") and batch_matches_schema([valid], "2.0.0")
    assert not batch_matches_schema([valid, 1, "x"], "1.0.3")
    assert not batch_matches_schema({"not": "a list"}, "1.0.3")


def test_batch_path_prefix() -> None:
    err = failure(make(actor={"mbox": "user@example.com"}), path="[3]")
    assert err.path == "[3].actor.mbox"
    assert err.message.startswith("[3].actor.mbox: ")
    err = failure(make(result={"duration": "PT"}), path="[12]")
    assert err.path == "[12].result.duration"
    err = failure(make(foo=1), path="[0]")
    assert err.path == "[0].foo"


def test_messages_name_the_problem() -> None:
    assert "did you mean 'verb'" in failure(INVALID["wrongly cased key Verb"][0]).message
    assert "xAPI 2.0" in failure(INVALID["contextAgents under 1.0.3"][0]).message
    assert "'bad key'" in failure(make(context={"extensions": {"bad key": 1}})).message
    assert "'en_US'" in failure(INVALID["definition name with key en_US"][0]).message
    assert "1.0 or 1.0.x" in failure(INVALID["version 2.0.0 under 1.0.3"][0]).message
    assert "mbox, openid" in failure(INVALID["agent with two IFIs"][0]).message
    assert "not null" not in failure(INVALID["success as a string"][0]).message


@pytest.mark.parametrize("path", sorted((DATA / "invalid-sg-legacy").glob("*.json")), ids=lambda p: p.stem)
def test_legacy_sg_shaped_statements_fail(path: Path) -> None:
    statement = json.loads(path.read_text())
    expected = {
        "01-actor-name-only": ("actor", "ifi"),
        "02-success-as-string": ("result.success", "type"),
        "03-extension-key-not-iri": ("result.extensions", "iri"),
    }[path.stem]
    for version in VERSIONS:
        err = failure(statement, version)
        assert (err.path, err.extra.get("rule")) == expected


def test_unknown_api_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate_statement(BASE, "0.95")


# --- validate_agent ---------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:a@example.com"},
        {"objectType": "Agent", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        {"openid": "http://openid.example.org/a", "name": "A"},
        {"account": {"homePage": "http://www.example.com", "name": "1625378"}},
        {"objectType": "Group", "mbox": "mailto:team@example.com"},
        {"objectType": "Group", "account": {"homePage": "http://example.com", "name": "t"}, "member": [{"mbox": "mailto:a@example.com"}]},
    ],
)
def test_validate_agent_accepts_agents_and_identified_groups(agent: dict[str, Any]) -> None:
    validate_agent(agent)


@pytest.mark.parametrize(
    ("agent", "kwargs", "path", "rule"),
    [
        ("wrong", {}, "agent", "type"),
        ({"name": "A"}, {}, "agent", "ifi"),
        ({"mbox": "mailto:a@example.com", "openid": "http://o.example.org/a"}, {}, "agent", "ifi"),
        ({"mbox": "a@example.com"}, {}, "agent.mbox", "mbox"),
        ({"objectType": "agent", "mbox": "mailto:a@example.com"}, {}, "agent.objectType", "enum"),
        ({"mbox": "mailto:a@example.com", "Name": "A"}, {}, "agent.Name", "additionalProperties"),
        ({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}, {}, "agent", "ifi"),
        ({"objectType": "Group", "mbox": "mailto:t@example.com"}, {"allow_group": False}, "agent.objectType", "enum"),
        ({"account": {"homePage": "example.com", "name": "x"}}, {"path": "params.agent"}, "params.agent.account.homePage", "iri"),
    ],
)
def test_validate_agent_rejects(agent: object, kwargs: dict[str, Any], path: str, rule: str) -> None:
    with pytest.raises(XAPIError) as info:
        validate_agent(agent, **kwargs)
    assert (info.value.path, info.value.extra.get("rule")) == (path, rule), info.value.message


# --- agent_param: an agent sent as a JSON query parameter ---------------------------


def test_agent_param_returns_the_parsed_agent() -> None:
    assert agent_param('{"mbox": "mailto:a@example.com"}') == {"mbox": "mailto:a@example.com"}
    group = '{"objectType": "Group", "mbox": "mailto:t@example.com"}'
    assert agent_param(group)["objectType"] == "Group"


@pytest.mark.parametrize(
    ("raw", "kwargs", "path", "rule"),
    [
        ('{"mbox": "mailto:a@example.com", "mbox": "mailto:b@example.com"}', {}, "agent", None),  # a key twice
        ("[1]", {}, "agent", None),
        ("not json", {"path": "params.agent"}, "params.agent", None),
        ('{"objectType": "Group", "mbox": "mailto:t@example.com"}', {"allow_group": False}, "agent.objectType", "enum"),
        ('{"mbox": "a@example.com"}', {}, "agent.mbox", "mbox"),
    ],
)
def test_agent_param_rejects(raw: str, kwargs: dict[str, Any], path: str, rule: str | None) -> None:
    with pytest.raises(XAPIError) as info:
        agent_param(raw, **kwargs)
    assert info.value.status == 400
    assert (info.value.path, info.value.extra.get("rule")) == (path, rule), info.value.message


@pytest.mark.parametrize("name", sorted(INVALID))
def test_the_fast_schema_check_never_accepts_what_the_reporting_one_rejects(name: str) -> None:
    """validate_statement trusts jsonschema-rs's yes and asks fastjsonschema why only on its no."""
    import fastjsonschema

    from lrs.xapi.validate import _fast_validator, _schema_key, _validator

    statement, version, _, _ = INVALID[name]
    key = _schema_key(version)
    try:
        _validator(key)(copy.deepcopy(statement))
    except fastjsonschema.JsonSchemaValueException:
        assert not _fast_validator(key).is_valid(statement)
