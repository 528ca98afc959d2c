"""GET /activities (the full Activity object) and GET /agents (the Person object).

Spec: xAPI 1.0.3 Communication §2.4 (Agents Resource), §2.5 (Activities Resource), §3.1 (ETag on GET),
§4.2 (the "define" scope); Data §2.4.4.1 (canonical Activity definitions). Conformance requirements
XAPI-00236..XAPI-00254.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.http.helpers import (
    BASE,
    activity,
    activity_id,
    agent,
    assert_error,
    each,
    store,
    store_each,
)

ACTIVITIES = f"{BASE}/activities"
AGENTS = f"{BASE}/agents"
PERSON_PROPERTIES = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def get_activity(client, activity_iri: str, **kwargs: Any) -> dict[str, Any]:
    response = client.get(ACTIVITIES, params={"activityId": activity_iri}, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def get_person(client, who: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = client.get(AGENTS, params={"agent": json.dumps(who)}, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    person = response.json()
    assert_person_shape(person)
    return person


def assert_person_shape(person: dict[str, Any]) -> None:
    """XAPI-00237..XAPI-00242, XAPI-00244: objectType "Person"; every other property an array of values shaped
    like the Agent property of the same name; no other properties (§2.4 "SHOULD* NOT be added")."""
    assert person.get("objectType") == "Person", person
    assert set(person) <= PERSON_PROPERTIES, f"unexpected properties {set(person) - PERSON_PROPERTIES}"
    for prop in PERSON_PROPERTIES - {"objectType"}:
        if prop not in person:
            continue
        values = person[prop]
        assert isinstance(values, list) and values, f"{prop} must be a non-empty array, got {values!r}"
        assert len(values) == len({json.dumps(v, sort_keys=True) for v in values}), f"{prop} repeats a value"
        for value in values:
            if prop == "account":
                assert isinstance(value, dict) and set(value) == {"homePage", "name"}, value
                assert all(isinstance(v, str) for v in value.values()), value
            else:
                assert isinstance(value, str), f"{prop}: {value!r}"
            if prop == "mbox":
                assert value.startswith("mailto:"), value


def mbox(key: str) -> str:
    return f"mailto:{key}@example.com"


# -- /activities --------------------------------------------------------------------------

def test_activity_object_carries_the_definition_statements_gave(client, statement):
    """XAPI-00251, XAPI-00252, XAPI-00253: 200 and the complete Activity object."""
    definition = {
        "name": {"en-US": "Quiz 1"},
        "description": {"en-US": "The first quiz"},
        "type": "http://adlnet.gov/expapi/activities/assessment",
        "moreInfo": "http://example.com/more/quiz-1",
        "extensions": {"http://example.com/ext/level": 3},
    }
    store(client, statement(object=activity("quiz-1", **definition)))
    response = client.get(ACTIVITIES, params={"activityId": activity_id("quiz-1")})
    assert response.status_code == 200, response.text
    assert response.json() == {"objectType": "Activity", "id": activity_id("quiz-1"), "definition": definition}
    # §3.1: "An LRS responding to a GET request MUST add an ETag HTTP header", the quoted SHA-1 of the body
    assert response.headers["etag"] == f'"{sha1(response.content)}"'


def test_activity_definitions_from_several_statements_are_combined(client, statement):
    """XAPI-00254: "LRS accepts two statements each with a different language description of an activity using
    the exact same "activityId". The LRS must return both language descriptions". (Sent with the admin
    credential, scope "all", which includes "define".)"""
    store_each(
        client,
        statement(object=activity("course", name={"en-US": "Course"}, description={"en-US": "A course"})),
        statement(object=activity("course", name={"fr-FR": "Cours"}, description={"fr-FR": "Un cours"})),
    )
    store(  # and within one batch
        client,
        statement(object=activity("batch", name={"en-US": "Batch"})),
        statement(object=activity("batch", name={"de-DE": "Stapel"}, type="http://example.com/types/b")),
    )
    definition = get_activity(client, activity_id("course"))["definition"]
    assert definition["name"] == {"en-US": "Course", "fr-FR": "Cours"}
    assert definition["description"] == {"en-US": "A course", "fr-FR": "Un cours"}
    definition = get_activity(client, activity_id("batch"))["definition"]
    assert definition == {"name": {"en-US": "Batch", "de-DE": "Stapel"}, "type": "http://example.com/types/b"}


def test_activity_definitions_are_taken_from_context_activities_and_substatements(client, statement):
    """XAPI-00254: "all available information about an activity from any statements"."""
    store(client, statement(
        object={
            "objectType": "SubStatement",
            "actor": agent("sub"),
            "verb": {"id": "http://example.com/verbs/planned"},
            "object": activity("inner", name={"en-US": "Inner"}),
        },
        context={"contextActivities": {"parent": [activity("parent", name={"en-US": "Parent"})],
                                        "grouping": activity("grouping", name={"en-US": "Grouping"})}},
    ))

    def check(key):
        assert get_activity(client, activity_id(key)).get("definition") == {"name": {"en-US": key.title()}}

    each(["inner", "parent", "grouping"], check)


def test_unknown_activity_returns_an_activity_object_with_its_id(client, statement):
    """§2.5: "If an LRS does not have a canonical definition of the Activity to return, the LRS SHOULD* still
    return an Activity Object when queried" (xAPI 2.0: shall)."""
    store(client, statement(object=activity("no-definition")))
    for iri in ("http://example.com/activities/never-seen", "urn:uuid:2f9d0a6a-4b07-4c38-9b63-1b7f2b8f0d5e",
                activity_id("no-definition")):
        assert get_activity(client, iri) == {"objectType": "Activity", "id": iri}


def test_definition_from_a_credential_without_define_does_not_change_the_canonical_one(client, statement, credential):
    """Communication §4.2, scope "define": "If storing a Statement when this is not granted, ids will be saved
    and the LRS MAY save the original Statement for audit purposes, but SHOULD NOT update its canonical
    representation of any Actors or Activities"."""
    store(client, statement(object=activity("guarded", name={"en-US": "Guarded"})))
    writer = credential("statements/write")
    store(client, statement(object=activity("guarded", name={"en-US": "Changed", "fr-FR": "Gardé"})), auth=writer)
    assert get_activity(client, activity_id("guarded"))["definition"] == {"name": {"en-US": "Guarded"}}
    store(client, statement(object=activity("guarded", name={"fr-FR": "Gardé"})),
          auth=credential("statements/write", "define"))
    assert get_activity(client, activity_id("guarded"))["definition"] == {"name": {"en-US": "Guarded", "fr-FR": "Gardé"}}


def test_activities_parameter_errors_return_400(client):
    """XAPI-00250 (no activityId); activityId not an IRI; xAPI 2.0: unknown parameters and parameters that match
    one "in all but case" are rejected. The JSON body's "path" names the parameter."""
    cases = [
        ({}, "activityId"),
        ({"activityId": "not an iri"}, "activityId"),
        ({"activityId": ""}, "activityId"),
        ({"activityId": "relative/path"}, "activityId"),
        ({"activityId": activity_id("a"), "foo": "1"}, "foo"),
        ({"activityId": activity_id("a"), "agent": json.dumps({"mbox": mbox("a")})}, "agent"),
        ({"activityID": activity_id("a")}, "activityID"),
        ({"ActivityId": activity_id("a")}, "ActivityId"),
    ]

    def check(case):
        query, name = case
        body = assert_error(client.get(ACTIVITIES, params=query), 400)
        assert body.get("path") == name, body

    each(cases, check)


def test_activities_head_returns_headers_without_a_body(client):  # Communication §1.1
    response = client.head(ACTIVITIES, params={"activityId": activity_id("x")})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"] == client.get(ACTIVITIES, params={"activityId": activity_id("x")}).headers["etag"]


# -- /agents ------------------------------------------------------------------------------

def test_person_gathers_every_name_used_with_the_identifier(client, statement):
    """XAPI-00236, XAPI-00246, XAPI-00248: a Person object from what the LRS knows of the Agent."""
    store_each(
        client,
        statement(actor={"objectType": "Agent", "name": "Ada", "mbox": mbox("ada")}),
        statement(actor={"name": "Ada Lovelace", "mbox": mbox("ada")}),
        statement(actor={"name": "Ada", "mbox": mbox("ada")}),
        statement(actor={"name": "Bob", "mbox": mbox("bob")}),
    )
    response = client.get(AGENTS, params={"agent": json.dumps({"mbox": mbox("ada")})})
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{sha1(response.content)}"'  # §3.1
    person = response.json()
    assert_person_shape(person)
    assert sorted(person["name"]) == ["Ada", "Ada Lovelace"]
    assert person["mbox"] == [mbox("ada")]
    assert set(person) == {"objectType", "name", "mbox"}


def test_person_names_come_from_every_place_an_agent_appears(client, statement):
    store(
        client,
        statement(actor={"objectType": "Group", "name": "Team", "member": [agent("carol")]},
                  context={"instructor": {"name": "Dr Dave", "mbox": mbox("dave")}}),
        statement(object={"objectType": "Agent", "name": "Eve the Object", "mbox": mbox("eve")}),
        statement(object={
            "objectType": "SubStatement", "actor": {"name": "Frank Inside", "mbox": mbox("frank")},
            "verb": {"id": "http://example.com/verbs/planned"}, "object": activity("x"),
        }),
        statement(actor={"objectType": "Group", "name": "Identified Group", "mbox": mbox("group"),
                         "member": [{"name": "Gina Member", "mbox": mbox("gina")}]}),
    )
    expected = {"carol": "Carol", "dave": "Dr Dave", "eve": "Eve the Object", "frank": "Frank Inside",
                "gina": "Gina Member", "group": "Identified Group"}

    def check(key):
        assert get_person(client, {"mbox": mbox(key)}) == {"objectType": "Person", "name": [expected[key]],
                                                           "mbox": [mbox(key)]}

    each(sorted(expected), check)


def test_unknown_agent_returns_a_person_with_the_request_information(client):
    """§2.4: "If an LRS does not have any additional information about an Agent to return, the LRS MUST still
    return a Person Object when queried, but that Person Object will only include the information associated
    with the requested Agent" (XAPI-00247)."""
    cases = [
        ({"objectType": "Agent", "name": "Zed", "mbox": mbox("zed")},
         {"objectType": "Person", "name": ["Zed"], "mbox": [mbox("zed")]}),
        ({"mbox": mbox("nameless")}, {"objectType": "Person", "mbox": [mbox("nameless")]}),
        ({"mbox_sha1sum": sha1(b"mailto:hidden@example.com")},
         {"objectType": "Person", "mbox_sha1sum": [sha1(b"mailto:hidden@example.com")]}),
        ({"name": "Open", "openid": "http://openid.example.com/open"},
         {"objectType": "Person", "name": ["Open"], "openid": ["http://openid.example.com/open"]}),
        ({"account": {"homePage": "http://lms.example.com", "name": "u-17"}},
         {"objectType": "Person", "account": [{"homePage": "http://lms.example.com", "name": "u-17"}]}),
    ]

    def check(case):
        who, expected = case
        assert get_person(client, who) == expected

    each(cases, check)


def test_account_agents_get_their_names_and_a_complete_account(client, statement):
    """XAPI-00242: "account" is an array of Account Objects; §2.4 "Complete account Objects (homePage and name)
    MUST be provided"."""
    account = {"homePage": "http://lms.example.com", "name": "u-42"}
    store_each(client, statement(actor={"name": "Learner 42", "account": account}),
               statement(actor={"name": "L. Fortytwo", "account": account}),
               statement(actor={"name": "Someone Else", "account": {**account, "name": "u-43"}}))
    person = get_person(client, {"objectType": "Agent", "account": account})
    assert person["account"] == [account]
    assert sorted(person["name"]) == ["L. Fortytwo", "Learner 42"]
    assert set(person) == {"objectType", "name", "account"}


def test_agents_parameter_errors_return_400(client):
    """XAPI-00243 (no agent); XAPI-00249: "rejects a GET request with "agent" as a parameter if it is not a valid
    (in structure) Agent"; §2.4 the parameter "is not a Person Object, nor is it a Group"; xAPI 2.0: unknown
    parameters and wrongly cased ones are rejected."""
    bad_agents = [
        "mailto:a@example.com",
        "{not json",
        '"mailto:a@example.com"',
        "[]",
        "{}",
        '{"name": "No Identifier"}',
        '{"mbox": "mailto:a@example.com", "mbox_sha1sum": "' + sha1(b"mailto:a@example.com") + '"}',
        '{"mbox": "a@example.com"}',
        '{"account": {"name": "u-1"}}',
        '{"objectType": "Group", "mbox": "mailto:group@example.com"}',
        '{"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}',
        '{"objectType": "Person", "mbox": ["mailto:a@example.com"]}',
    ]
    cases = [({"agent": raw}, "agent") for raw in bad_agents]
    good = json.dumps({"mbox": mbox("a")})
    cases += [
        ({}, "agent"),
        ({"agent": good, "foo": "1"}, "foo"),
        ({"agent": good, "activityId": activity_id("a")}, "activityId"),
        ({"Agent": good}, "Agent"),
        ({"AGENT": good}, "AGENT"),
    ]

    def check(case):
        query, name = case
        body = assert_error(client.get(AGENTS, params=query), 400)
        path = body.get("path")
        assert isinstance(path, str) and (path == name or path.startswith((name + ".", name + "["))), body

    each(cases, check)


def test_repeated_parameter_returns_400(client):
    """A parameter given twice is ambiguous (which Activity or Agent was meant?): 400 naming it, rather than
    the last value silently taken."""
    one, other = json.dumps({"mbox": mbox("a")}), json.dumps({"mbox": mbox("b")})
    cases = [
        (ACTIVITIES, [("activityId", activity_id("a")), ("activityId", activity_id("b"))], "activityId"),
        (ACTIVITIES, [("activityId", activity_id("a")), ("activityId", activity_id("a"))], "activityId"),
        (AGENTS, [("agent", one), ("agent", other)], "agent"),
        (AGENTS, [("agent", one), ("agent", one)], "agent"),
    ]

    def check(case):
        path, query, name = case
        body = assert_error(client.get(path, params=query), 400)
        assert body.get("path") == name, body

    each(cases, check)


# -- credentials --------------------------------------------------------------------------

def test_activities_and_agents_need_a_credential_with_a_read_scope(client, credential):
    """401 without credentials (XAPI-00334); 403 when the scopes do not allow it (§2.4 "An LRS SHOULD reject
    insufficiently privileged requests with 403 Forbidden", XAPI-00327)."""
    requests = {
        "activities": (ACTIVITIES, {"activityId": activity_id("a")}),
        "agents": (AGENTS, {"agent": json.dumps({"mbox": mbox("a")})}),
    }
    for path, query in requests.values():
        response = client.get(path, params=query, auth=None)
        assert_error(response, 401)
        assert response.headers.get("www-authenticate", "").lower().startswith("basic")
    allowed = ["statements/read", "all/read", "define", "profile", "state"]
    cases = [(scope, name) for scope in ["statements/write", *allowed] for name in requests]
    auths = {scope: credential(scope) for scope in ["statements/write", *allowed]}

    def check(case):
        scope, name = case
        path, query = requests[name]
        response = client.get(path, params=query, auth=auths[scope])
        if scope in allowed:
            assert response.status_code == 200, response.text
        else:
            assert_error(response, 403)

    each(cases, check)


def test_names_from_a_credential_without_define_do_not_change_the_person(client, statement, credential):
    """Communication §4.2, scope "define": "If storing a Statement when this is not granted, ids will be saved
    and the LRS MAY save the original Statement for audit purposes, but SHOULD NOT update its canonical
    representation of any Actors or Activities"."""
    store(client, statement(actor={"name": "Ada", "mbox": mbox("ada")}))
    store(client, statement(actor={"name": "Not Ada", "mbox": mbox("ada")}), auth=credential("statements/write"))
    assert get_person(client, {"mbox": mbox("ada")})["name"] == ["Ada"]
    store(client, statement(actor={"name": "Ada L.", "mbox": mbox("ada")}),
          auth=credential("statements/write", "define"))
    assert sorted(get_person(client, {"mbox": mbox("ada")})["name"]) == ["Ada", "Ada L."]
