"""PUT and POST /statements: storing, ids, conflicts, batches, validation errors, LRS-set properties.

Spec: xAPI 1.0.3 Communication §2.1.1, §2.1.2, §3.2; Data §2.2, §2.3.1, §2.4.7-§2.4.10, §4.5;
xAPI 2.0 (9274.1.1) LRS §4.1.6.1, §4.2.4.2.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import new_id
from tests.http.helpers import (
    LRS_SET,
    STATEMENTS,
    agent,
    assert_error,
    each,
    get_statement,
    ids_of,
    parse_ts,
    post,
    store,
    without,
)

V2 = {"X-Experience-API-Version": "2.0.0"}


def put(client, statement_id, body, **kwargs):
    return client.put(STATEMENTS, params={"statementId": statement_id}, json=body, **kwargs)


# -- PUT -------------------------------------------------------------------------------

def test_put_stores_statement_and_returns_204_without_body(client, statement):  # XAPI-00143, XAPI-00144
    sid = new_id()
    response = put(client, sid, statement())
    assert response.status_code == 204, response.text
    assert response.content == b""
    got = get_statement(client, sid)
    assert got["id"] == sid
    assert got["actor"]["mbox"] == "mailto:ada@example.com"


def test_put_with_matching_id_in_body_returns_204(client, statement):
    sid = new_id()
    assert put(client, sid, statement(id=sid)).status_code == 204
    assert get_statement(client, sid)["id"] == sid


def test_put_without_statement_id_returns_400(client, statement):  # XAPI-00145
    response = client.put(STATEMENTS, json=statement(id=new_id()))
    assert_error(response, 400)


def test_put_with_statement_id_not_matching_body_id_returns_400(client, statement):
    sid, other = new_id(), new_id()
    assert_error(put(client, sid, statement(id=other)), 400)
    assert client.get(STATEMENTS, params={"statementId": sid}).status_code == 404
    assert client.get(STATEMENTS, params={"statementId": other}).status_code == 404


def test_put_with_invalid_statement_id_returns_400(client, statement):
    bad_ids = ["not-a-uuid", "12345", "", "6fa459ea-ee8a-3ca4-894e-db77e160355"]
    each(bad_ids, lambda bad_id: assert_error(put(client, bad_id, statement()), 400))


def test_put_with_an_array_body_returns_400(client, statement):
    assert_error(put(client, new_id(), [statement()]), 400)


def test_put_with_wrongly_cased_statement_id_param_returns_400(client, statement):  # XAPI-00325
    response = client.put(STATEMENTS, params={"statementID": new_id()}, json=statement())
    assert_error(response, 400)


def test_put_with_unknown_param_returns_400(client, statement):  # XAPI-00324
    response = client.put(STATEMENTS, params={"statementId": new_id(), "foo": "bar"}, json=statement())
    assert_error(response, 400)


# -- POST ------------------------------------------------------------------------------

def test_post_single_statement_returns_200_and_a_list_with_its_id(client, statement):  # XAPI-00146, XAPI-00147
    sid = new_id()
    response = post(client, statement(id=sid))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == [sid]


def test_post_assigns_a_uuid_when_id_is_missing(client, statement):  # XAPI-00026
    [sid] = post(client, statement()).json()
    assert str(uuid.UUID(sid)) == sid.lower()
    assert get_statement(client, sid)["id"] == sid


def test_post_batch_returns_ids_in_order_assigning_missing_ones(client, statement):
    first, third = new_id(), new_id()
    response = post(client, [statement(id=first), statement(), statement(id=third)])
    assert response.status_code == 200, response.text
    ids = response.json()
    assert len(ids) == 3
    assert ids[0] == first and ids[2] == third
    assert ids[1] not in (first, third)
    uuid.UUID(ids[1])
    for sid in ids:
        assert get_statement(client, sid)["id"] == sid


def test_post_with_unknown_query_param_returns_400(client, statement):  # XAPI-00324
    response = client.post(STATEMENTS, params={"statementId": new_id()}, json=statement())
    assert_error(response, 400)
    assert ids_of(client) == []


def test_post_non_statement_body_returns_400(client):
    bodies = ["a string", 42, None, True, [1], [None], ["x"], {}, [{}], {"actor": None}]
    each(bodies, lambda body: assert_error(post(client, body), 400))
    assert ids_of(client) == []


# -- conflicts and equivalence (Data §2.3.1 "Statement Comparison Requirements") ---------

def test_conflicting_put_returns_409_and_keeps_the_original(client, statement):  # XAPI-00142
    sid = new_id()
    assert put(client, sid, statement()).status_code == 204
    before = get_statement(client, sid)
    response = put(client, sid, statement(verb={"id": "http://example.com/verbs/other"}, actor=agent("bob")))
    assert_error(response, 409)
    assert get_statement(client, sid) == before


def test_conflicting_post_returns_409_and_keeps_the_original(client, statement):  # XAPI-00142
    sid = new_id()
    store(client, statement(id=sid))
    before = get_statement(client, sid)
    assert_error(post(client, statement(id=sid, result={"success": True})), 409)
    assert get_statement(client, sid) == before


def test_resending_the_same_statement_with_put_is_not_an_error(client, statement):
    sid = new_id()
    assert put(client, sid, statement()).status_code == 204
    before = get_statement(client, sid)
    assert put(client, sid, statement()).status_code == 204
    assert get_statement(client, sid) == before
    assert ids_of(client) == [sid]


def test_resending_the_same_statement_with_post_is_not_an_error(client, statement):
    # Communication 2.1.2.s2.b4: a statement the LRS already has is answered 409 or 204 (the ADL suite:
    # PUT, then POST the same statement: "should return 409 or 204"); 204, as it is the same statement.
    sid = new_id()
    assert put(client, sid, statement(id=sid)).status_code == 204
    before = get_statement(client, sid)
    response = post(client, statement(id=sid))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert get_statement(client, sid) == before
    assert ids_of(client) == [sid]


def test_a_batch_holding_statements_the_lrs_already_has_is_answered_with_every_id(client, statement):
    # Client libraries read a batch's ids from the answer (TinCan.NET and TinCanJava take only a 200 as
    # success): a batch gets its 200 and ids also when the LRS had all of it already (a resend).
    sid, new = new_id(), new_id()
    store(client, statement(id=sid))
    for batch, ids in (([statement(id=sid)], [sid]), ([statement(id=sid), statement(id=new)], [sid, new])):
        response = post(client, batch)
        assert response.status_code == 200, response.text
        assert response.json() == ids
    assert sorted(ids_of(client)) == sorted([sid, new])


def test_reposting_a_fetched_statement_is_not_a_conflict(client, statement):
    # id, stored, authority, version and timestamp may be LRS-assigned: differences there are ignored.
    sid = new_id()
    store(client, statement(id=sid))
    fetched = get_statement(client, sid)
    assert {"stored", "authority", "version", "timestamp"} <= fetched.keys()
    response = post(client, fetched)
    assert response.status_code == 204, response.text
    assert put(client, sid, fetched).status_code == 204
    assert get_statement(client, sid) == fetched


def test_sent_stored_authority_and_version_do_not_make_a_conflict(client, statement):
    sid = new_id()
    store(client, statement(id=sid))
    resent = statement(
        id=sid, stored="2001-01-01T00:00:00.000Z", version="1.0.0",
        authority={"objectType": "Agent", "mbox": "mailto:someone-else@example.com"},
    )
    assert put(client, sid, resent).status_code == 204


def test_key_order_does_not_make_a_conflict(client, statement):
    sid = new_id()
    original = statement(id=sid, result={"score": {"raw": 5, "min": 0, "max": 10}, "success": True})
    store(client, original)

    def reverse(value):
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    raw = json.dumps(reverse(original))
    assert raw != json.dumps(original)
    response = client.post(STATEMENTS, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 204, response.text


def test_timestamp_and_attachments_do_not_make_a_conflict(client, statement):
    # xAPI 2.0 §4.2: "shall specifically not consider ... Timestamp ... Any attachments" for equivalence;
    # 1.0.3 Data 2.3.1.b1 (timestamp: a property the LRS may assign) and b6 (Attachments are not part of
    # the statement). The statement stored first stays.
    sid = new_id()
    first = statement(id=sid, timestamp="2024-01-01T10:00:00Z",
                      attachments=[{**ATTACHMENT, "fileUrl": "http://example.com/files/a.txt"}])
    store(client, first)
    before = get_statement(client, sid)
    resent = statement(id=sid, timestamp="2025-06-01T08:30:00Z",
                       attachments=[{**ATTACHMENT, "fileUrl": "http://example.com/files/b.txt"}])
    assert put(client, sid, resent).status_code == 204
    assert post(client, [statement(id=sid)]).status_code == 200  # neither timestamp nor attachments
    for version in ("1.0.3", "2.0.0"):
        response = client.put(STATEMENTS, params={"statementId": sid}, json=resent,
                              headers={"X-Experience-API-Version": version})
        assert response.status_code == 204, (version, response.text)
    assert get_statement(client, sid) == before
    # a SubStatement's timestamp is part of the object, which is compared
    sub = {"objectType": "SubStatement", "actor": agent("ann"), "verb": {"id": "http://example.com/verbs/did"},
           "object": {"id": "http://example.com/activities/a"}, "timestamp": "2024-01-01T12:00:00+02:00"}
    sid = new_id()
    store(client, statement(id=sid, object=sub))
    assert put(client, sid, statement(id=sid, object={**sub, "timestamp": "2024-01-01T10:00:00Z"})).status_code == 204
    assert_error(put(client, sid, statement(id=sid, object={**sub, "timestamp": "2024-01-01T11:00:00Z"})), 409)


def test_same_timestamp_in_another_timezone_does_not_make_a_conflict(client, statement):
    # Data §2.3.1: serialization of Timestamp data is an exception to immutability.
    sid = new_id()
    store(client, statement(id=sid, timestamp="2024-01-01T12:00:00.000+02:00"))
    assert put(client, sid, statement(id=sid, timestamp="2024-01-01T10:00:00.000Z")).status_code == 204


def test_group_member_order_does_not_make_a_conflict(client, statement):
    # Data §2.3.1: the list of Agents in a Group is not an ordered list.
    sid = new_id()
    members = [agent("ann"), agent("bob"), agent("cat")]
    store(client, statement(id=sid, actor={"objectType": "Group", "member": members}))
    reordered = statement(id=sid, actor={"objectType": "Group", "member": list(reversed(members))})
    assert put(client, sid, reordered).status_code == 204


def test_different_duration_serialization_makes_a_conflict(client, statement):
    # Data §2.3.1: Result Duration is compared as a string.
    sid = new_id()
    store(client, statement(id=sid, result={"duration": "PT1M"}))
    assert_error(put(client, sid, statement(id=sid, result={"duration": "PT60S"})), 409)


def test_case_that_carries_no_meaning_does_not_make_a_conflict(client, statement):
    # Data §2.3.1.b7: case-insensitive properties (an e-mail domain; UUIDs and SHA-1 sums are hexadecimal).
    sid, target, registration = new_id(), new_id(), new_id()
    store(client, statement(id=target))
    original = statement(
        id=sid, actor={"mbox": "mailto:ann@example.com"}, object={"objectType": "StatementRef", "id": target},
        context={"registration": registration, "instructor": {"mbox_sha1sum": "a" * 40}},
    )
    store(client, original)
    upper = statement(
        id=sid.upper(), actor={"mbox": "mailto:ann@EXAMPLE.com"},
        object={"objectType": "StatementRef", "id": target.upper()},
        context={"registration": registration.upper(), "instructor": {"mbox_sha1sum": "A" * 40}},
    )
    assert put(client, sid, upper).status_code == 204
    assert post(client, upper).status_code == 204
    assert get_statement(client, sid)["actor"] == {"mbox": "mailto:ann@example.com"}  # the first one stays
    # the part of an address before the @ is not case-insensitive
    assert_error(put(client, sid, {**upper, "actor": {"mbox": "mailto:ANN@example.com"}}), 409)


def test_an_objecttype_left_out_is_its_default_when_comparing(client, statement):
    # Data §2.4.2.1 and §2.4.4.1: an actor without objectType is an Agent, an object an Activity.
    sid = new_id()
    store(client, statement(id=sid, actor={"objectType": "Agent", "mbox": "mailto:ann@example.com"},
                            object={"objectType": "Activity", "id": "http://example.com/activities/a"}))
    bare = statement(id=sid, actor={"mbox": "mailto:ann@example.com"}, object={"id": "http://example.com/activities/a"})
    assert put(client, sid, bare).status_code == 204
    assert_error(put(client, sid, {**bare, "actor": {"objectType": "Group", "mbox": "mailto:ann@example.com"}}), 409)


def test_extensions_are_compared_as_sent(client, statement):
    sid = new_id()
    ext = "http://example.com/ext"
    store(client, statement(id=sid, result={"extensions": {ext: {"mbox": "mailto:a@example.com"}}}))
    assert_error(put(client, sid, statement(id=sid, result={"extensions": {ext: {"mbox": "mailto:a@EXAMPLE.com"}}})), 409)


def test_2_0_compares_durations_to_the_hundredth_of_a_second(client, statement):
    # xAPI 2.0 §4.2.7: precision beyond 0.01 s is not part of the comparison; 1.0.3 compares strings (above).
    sid = new_id()
    assert put(client, sid, statement(id=sid, result={"duration": "PT1.001S"}), headers=V2).status_code == 204
    for same in ("PT1.00S", "PT1.009S", "PT1S"):
        assert put(client, sid, statement(id=sid, result={"duration": same}), headers=V2).status_code == 204, same
    assert_error(put(client, sid, statement(id=sid, result={"duration": "PT1.01S"}), headers=V2), 409)
    other = new_id()
    store(client, statement(id=other, result={"duration": "PT1.001S"}))
    assert_error(put(client, other, statement(id=other, result={"duration": "PT1.00S"})), 409)


def test_conflict_inside_a_batch_stores_nothing(client, statement):  # XAPI-00326
    existing, fresh = new_id(), new_id()
    store(client, statement(id=existing))
    response = post(client, [statement(id=fresh), statement(id=existing, actor=agent("bob"))])
    assert_error(response, 409)
    assert client.get(STATEMENTS, params={"statementId": fresh}).status_code == 404
    assert ids_of(client) == [existing]


def test_batch_with_an_already_stored_identical_statement_is_accepted(client, statement):
    existing, fresh = new_id(), new_id()
    store(client, statement(id=existing))
    response = post(client, [statement(id=existing), statement(id=fresh)])
    assert response.status_code == 200, response.text
    assert response.json() == [existing, fresh]
    assert sorted(ids_of(client)) == sorted([existing, fresh])


@pytest.mark.parametrize("same_content", [True, False])
def test_two_statements_with_one_id_in_a_batch_return_400_and_store_nothing(client, statement, same_content):
    sid, other = new_id(), new_id()
    second = statement(id=sid) if same_content else statement(id=sid, actor=agent("bob"))
    response = post(client, [statement(id=other), statement(id=sid), second])
    assert_error(response, 400)
    assert ids_of(client) == []


def test_v2_two_statements_with_one_id_in_a_batch_return_400(client, statement):
    sid = new_id()
    response = post(client, [statement(id=sid), statement(id=sid)], headers=V2)
    assert_error(response, 400)
    assert ids_of(client) == []


# -- atomicity and validation errors ------------------------------------------------------

def test_batch_with_one_invalid_statement_stores_nothing(client, statement):  # XAPI-00326
    good = new_id()
    bad = statement(id=new_id())
    del bad["actor"]
    response = post(client, [statement(id=good), bad])
    assert_error(response, 400)
    assert client.get(STATEMENTS, params={"statementId": good}).status_code == 404
    assert ids_of(client) == []


def test_validation_rejection_names_the_offending_path(client, statement):
    response = post(client, statement(actor={"objectType": "Agent", "mbox": "ada@example.com"}))
    body = assert_error(response, 400)
    assert body.get("path") == "actor.mbox", body


def test_validation_rejection_in_a_batch_names_the_statement_and_the_path(client, statement):
    response = post(client, [statement(), statement(actor={"objectType": "Agent", "mbox": "ada@example.com"})])
    body = assert_error(response, 400)
    path = body.get("path") or ""
    assert "actor.mbox" in path and "1" in path, body


def test_an_empty_language_map_is_refused_and_nothing_of_its_batch_stored(client, statement):
    """A Language Map has at least one entry (conformance requirements 4.2; the ADL suite sends
    an empty display, name or description and expects 400)."""
    good = new_id()
    empty = statement(object={"id": "http://example.com/a", "definition": {"name": {}}})
    body = assert_error(post(client, [statement(id=good), empty]), 400)
    assert body.get("path") == "[1].object.definition.name", body
    assert ids_of(client) == []
    body = assert_error(post(client, statement(verb={"id": "http://example.com/v", "display": {}})), 400)
    assert body.get("path") == "verb.display", body


def test_put_validation_rejection_names_the_offending_path(client, statement):
    response = put(client, new_id(), statement(verb={"id": "not an iri"}))
    body = assert_error(response, 400)
    assert body.get("path") == "verb.id", body


def test_invalid_json_returns_400(client):
    raws = [
        b"{", b"{'actor': 1}", b"[", b"not json", b'{"actor": {"mbox": "mailto:a@example.com"}, }',
        b"\xff\xfe\x00", b'{"a": NaN}',
    ]

    def check(raw):
        assert_error(client.post(STATEMENTS, content=raw, headers={"Content-Type": "application/json"}), 400)
        assert_error(client.put(STATEMENTS, params={"statementId": new_id()}, content=raw,
                                headers={"Content-Type": "application/json"}), 400)

    each(raws, check)


def test_empty_body_returns_400(client):
    assert_error(client.post(STATEMENTS, content=b"", headers={"Content-Type": "application/json"}), 400)
    response = client.put(STATEMENTS, params={"statementId": new_id()}, content=b"",
                          headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_statement_with_a_duplicate_key_returns_400(client):  # XAPI-00021
    raw = (
        b'{"actor": {"mbox": "mailto:ada@example.com"},'
        b' "verb": {"id": "http://example.com/verbs/a"},'
        b' "verb": {"id": "http://example.com/verbs/b"},'
        b' "object": {"id": "http://example.com/activities/x"}}'
    )
    response = client.post(STATEMENTS, content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_malformed_statements_return_400_never_500(client):
    bodies = [
        {"actor": [], "verb": {}, "object": {}},
        {"actor": {"mbox": 5}, "verb": {"id": 5}, "object": {"id": 5}},
        {"actor": {"objectType": "Group", "member": "x"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"objectType": "SubStatement"}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"objectType": "StatementRef", "id": 7}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "timestamp": 5},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "context": []},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "result": {"score": {"raw": "5"}}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v", "display": {"en-US": 1}}, "object": {"id": "http://e.com/a"}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a", "definition": {"name": []}}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "id": None},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "id": 12},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "version": 1},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "authority": "me"},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "attachments": {}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "id": "not-a-uuid"},
        {"Actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}},
        {"actor": {"objectType": "agent", "mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}},
        {"actor": {"mbox": "mailto:a@e.com"}, "verb": {"id": "http://e.com/v"}, "object": {"id": "http://e.com/a"}, "extra": 1},
        ]

    def check(body):
        assert_error(post(client, body), 400)
        assert_error(put(client, new_id(), body), 400)

    each(bodies, check)
    assert ids_of(client) == []


def test_deeply_nested_extension_is_not_a_500(client, statement):
    prefix = json.dumps(statement())[:-1]
    raw = prefix + ', "result": {"extensions": {"http://example.com/ext": ' + "[" * 5000 + "]" * 5000 + "}}}"
    response = client.post(STATEMENTS, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 413), response.text


# -- content types (Communication §1.5, §3.2) ---------------------------------------------

def test_put_or_post_with_non_json_content_type_returns_400(client, statement):  # XAPI-00127
    def check(content_type):
        headers = {"Content-Type": content_type} if content_type else {}
        raw = json.dumps(statement())
        assert_error(client.post(STATEMENTS, content=raw, headers=headers), 400)
        assert_error(client.put(STATEMENTS, params={"statementId": new_id()}, content=raw, headers=headers), 400)

    each(["text/plain", "application/xml", "application/x-www-form-urlencoded", "text/json", None], check)
    assert ids_of(client) == []


def test_json_content_type_with_charset_is_accepted(client, statement):
    response = client.post(STATEMENTS, content=json.dumps(statement()).encode(),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text


def test_utf8_content_is_stored_and_returned_intact(client, statement):  # Communication §1.4
    sid = new_id()
    sent = statement(id=sid, actor=agent("zoe", name="Zoë Ñandú 日本語 🎓"))
    raw = json.dumps(sent, ensure_ascii=False).encode("utf-8")
    response = client.post(STATEMENTS, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert get_statement(client, sid)["actor"]["name"] == "Zoë Ñandú 日本語 🎓"


# -- exactness (Data §2.2 "MUST NOT return a different serialization") ----------------------

def test_statement_is_returned_as_sent_plus_lrs_properties(client, statement):  # XAPI-00170
    sid, registration = new_id(), new_id()
    sent = statement(
        id=sid,
        actor={"objectType": "Group", "name": "Team A", "member": [agent("ann"), {"account": {"homePage": "http://example.com", "name": "b-1"}}]},
        result={
            "score": {"scaled": 0.875, "raw": 87.5, "min": 0, "max": 100},
            "success": True, "completion": False, "response": "a[,]b", "duration": "PT1M30.5S",
            "extensions": {"http://example.com/ext/r": {"nested": [1, 2.5, None, "x"], "null": None}},
        },
        context={
            "registration": registration,
            "instructor": agent("ian"),
            "contextActivities": {"parent": [{"id": "http://example.com/activities/course", "objectType": "Activity"}]},
            "revision": "r1", "platform": "web", "language": "en-US",
            "extensions": {"http://example.com/ext/c": 1e-7},
        },
    )
    store(client, sent)
    got = get_statement(client, sid)
    # Group members are an unordered list (Data §2.3.1): compare them as a set.
    for s in (got, sent):
        s["actor"]["member"] = sorted(s["actor"]["member"], key=lambda m: json.dumps(m, sort_keys=True))
    assert without(got, *LRS_SET) == without(sent, *LRS_SET)
    assert got["id"] == sid


# -- stored, timestamp, authority, version (Data §2.4.7-§2.4.10) ----------------------------

def test_stored_is_set_by_the_lrs_overwriting_a_sent_value(client, statement):  # XAPI-00097, XAPI-00023
    sid = new_id()
    before = datetime.now(timezone.utc)
    store(client, statement(id=sid, stored="2001-01-01T00:00:00.000Z"))
    stored = parse_ts(get_statement(client, sid)["stored"])
    assert abs(stored - before) < timedelta(minutes=5), stored


def test_stored_has_at_least_millisecond_precision(client, statement):  # Data §4.5
    sid = new_id()
    store(client, statement(id=sid))
    stored = get_statement(client, sid)["stored"]
    seconds_part = stored.split("T", 1)[1]
    assert "." in seconds_part, stored
    fraction = seconds_part.split(".", 1)[1]
    digits = len(fraction) - len(fraction.lstrip("0123456789"))
    assert digits >= 3, stored


def test_timestamp_defaults_to_stored(client, statement):  # Data §2.4.7
    sid = new_id()
    store(client, statement(id=sid))
    got = get_statement(client, sid)
    assert parse_ts(got["timestamp"]) == parse_ts(got["stored"])


def test_timestamp_defaults_to_stored_on_put(client, statement):
    sid = new_id()
    assert put(client, sid, statement()).status_code == 204
    got = get_statement(client, sid)
    assert parse_ts(got["timestamp"]) == parse_ts(got["stored"])


def test_timestamp_is_kept_as_sent(client, statement):
    sid = new_id()
    store(client, statement(id=sid, timestamp="2024-01-01T12:00:00.123+02:00"))
    got = get_statement(client, sid)
    assert parse_ts(got["timestamp"]) == parse_ts("2024-01-01T10:00:00.123Z")


def test_timestamp_precision_beyond_milliseconds_keeps_at_least_milliseconds(client, statement):  # XAPI-00122
    sid = new_id()
    store(client, statement(id=sid, timestamp="2024-01-01T10:00:00.123456Z"))
    returned = parse_ts(get_statement(client, sid)["timestamp"])
    assert returned.replace(microsecond=returned.microsecond // 1000 * 1000) == parse_ts("2024-01-01T10:00:00.123Z")


def test_invalid_timestamp_returns_400(client, statement):  # XAPI-00022, XAPI-00123
    timestamps = ["yesterday", "2024-13-01T00:00:00Z", "2024-01-32T00:00:00Z", "2024-01-01T25:00:00Z", "", "2024-02-30T10:00:00Z", "2024-01-01T10:00:00ZZ"]
    each(timestamps, lambda timestamp: assert_error(post(client, statement(timestamp=timestamp)), 400))


def test_future_timestamp_is_accepted(client, statement):  # Data §2.4.7 "SHOULD* NOT reject"
    future = (datetime.now(timezone.utc) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert post(client, statement(timestamp=future)).status_code == 200


def test_v2_converts_a_non_utc_timestamp_to_utc(client, statement):  # xAPI 2.0: timestamps converted to UTC
    sid = new_id()
    store(client, statement(id=sid, timestamp="2024-01-01T12:00:00+02:00"), headers=V2)
    for headers in (V2, {}):
        response = client.get(STATEMENTS, params={"statementId": sid}, headers=headers)
        assert response.status_code == 200, response.text
        timestamp = response.json()["timestamp"]
        assert timestamp.startswith("2024-01-01T10:00:00"), timestamp
        assert timestamp.endswith("Z"), timestamp


def test_v2_converts_a_substatement_s_timestamp_to_utc(client, statement):  # xAPI 2.0 §4.2.7: every Timestamp
    sub = {"objectType": "SubStatement", "actor": agent("ann"), "verb": {"id": "http://example.com/verbs/did"},
           "object": {"id": "http://example.com/activities/a"}, "timestamp": "2024-05-01T12:00:00+02:00"}
    v2, v1 = new_id(), new_id()
    store(client, statement(id=v2, object=sub), headers=V2)
    store(client, statement(id=v1, object=sub))
    assert get_statement(client, v2)["object"]["timestamp"] == "2024-05-01T10:00:00Z"
    assert get_statement(client, v1)["object"]["timestamp"] == "2024-05-01T12:00:00+02:00"  # 1.0.3: as sent


def test_authority_is_set_when_absent(client, statement):  # XAPI-00099
    sid = new_id()
    store(client, statement(id=sid))
    authority = get_statement(client, sid)["authority"]
    assert isinstance(authority, dict)
    assert authority.get("objectType", "Agent") == "Agent"
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in authority]
    assert len(ifis) == 1, authority


def test_an_authority_group_must_be_an_anonymous_pair(client, statement):  # Data §2.4.9; ADL suite authorities.js
    pair = [agent("app"), {"account": {"homePage": "http://example.com", "name": "user"}}]
    assert post(client, statement(authority={"objectType": "Group", "member": pair})).status_code == 200
    for ifi in ({"mbox": "mailto:bob@example.com"}, {"openid": "http://example.com/bob"},
                {"mbox_sha1sum": "a" * 40}, {"account": {"homePage": "http://example.com", "name": "bob"}}):
        response = post(client, statement(authority={"objectType": "Group", "member": pair, **ifi}))
        assert_error(response, 400)
        assert response.json()["path"].startswith("authority."), response.json()
    assert_error(post(client, statement(authority={"objectType": "Group", "member": pair[:1]})), 400)


def test_authority_is_overwritten_with_the_credentials_agent(client, statement, credential):  # Data §2.4.9
    first = credential("statements/write", "statements/read")
    second = credential("statements/write", "statements/read")
    forged = {"objectType": "Agent", "mbox": "mailto:forged@example.com"}
    a1, a2, b1 = new_id(), new_id(), new_id()
    store(client, statement(id=a1, authority=forged), auth=first)
    store(client, statement(id=a2), auth=first)
    store(client, statement(id=b1, authority=forged), auth=second)
    auth_a1 = get_statement(client, a1)["authority"]
    auth_a2 = get_statement(client, a2)["authority"]
    auth_b1 = get_statement(client, b1)["authority"]
    assert auth_a1 != forged and auth_b1 != forged
    assert auth_a1 == auth_a2, "one credential maps to one authority (deterministically)"
    assert auth_a1 != auth_b1, "two credentials have distinct authorities"


def test_version_is_set_to_1_0_0_when_absent(client, statement):  # Data §2.4.10, XAPI-00332
    sid = new_id()
    store(client, statement(id=sid))
    assert get_statement(client, sid)["version"] == "1.0.0"


@pytest.mark.parametrize("version", ["1.0.3", "1.0.0"])
def test_version_sent_is_kept(client, statement, version):  # XAPI-00332
    sid = new_id()
    store(client, statement(id=sid, version=version))
    assert get_statement(client, sid)["version"] == version


def test_statement_version_not_starting_with_1_0_returns_400(client, statement):  # XAPI-00101
    versions = ["1.1.0", "0.95", "0.9", "2.0.0", "1.0.x", "one", ""]
    each(versions, lambda version: assert_error(post(client, statement(version=version)), 400))


def test_v2_version_is_set_to_2_0_0_when_absent(client, statement):  # 9274.1.1 §4.2.4.3
    sid = new_id()
    store(client, statement(id=sid), headers=V2)
    assert get_statement(client, sid, )["version"] == "2.0.0"


def test_v2_accepts_context_agents_and_groups(client, statement):
    sid = new_id()
    context = {
        "contextAgents": [{"objectType": "contextAgent", "agent": agent("ian"),
                           "relevantTypes": ["http://example.com/types/instructor"]}],
        "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [agent("ann")]},
                           "relevantTypes": ["http://example.com/types/team"]}],
    }
    store(client, statement(id=sid, context=context), headers=V2)
    assert get_statement(client, sid)["context"] == context


def test_v1_rejects_context_agents(client, statement):  # 1.0.3 has no contextAgents: an additional property
    context = {"contextAgents": [{"objectType": "contextAgent", "agent": agent("ian")}]}
    assert_error(post(client, statement(context=context)), 400)


# -- attachments in application/json (Communication §1.5.1) ----------------------------------------------

ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
}


def test_json_batch_with_file_url_attachments_is_accepted(client, statement):
    sid = new_id()
    attachments = [{**ATTACHMENT, "fileUrl": "http://example.com/files/a.txt"}]
    response = post(client, [statement(id=sid, attachments=attachments)])
    assert response.status_code == 200, response.text
    assert get_statement(client, sid)["attachments"] == attachments


def test_json_statement_with_an_attachment_without_file_url_returns_400(client, statement):  # Communication §1.5.2
    assert_error(post(client, statement(attachments=[ATTACHMENT])), 400)
    assert ids_of(client) == []


class TestBodySizeLimit:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_(max_body_bytes=2000)

    def test_too_large_request_returns_413(self, client, statement):  # Communication §3.2, XAPI-00328
        big = statement(result={"response": "x" * 5000})
        assert_error(post(client, big), 413)
        assert post(client, statement()).status_code == 200


def test_extension_numbers_json_and_storage_cannot_carry_are_handled(client, statement):
    # 1e999 is no finite number: 400, not a 500 or a silent null
    body = '{"actor":{"mbox":"mailto:a@example.com"},"verb":{"id":"http://example.com/v"},' \
           '"object":{"id":"http://example.com/a"},"result":{"extensions":{"http://example.com/x":1e999}}}'
    response = client.post("/xapi/statements", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    # a huge integer is kept as a number (a float), not a 500
    huge = body.replace("1e999", "123456789012345678901234567890")
    response = client.post("/xapi/statements", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    [sid] = response.json()
    got = client.get("/xapi/statements", params={"statementId": sid}).json()
    assert got["result"]["extensions"]["http://example.com/x"] == pytest.approx(1.2345678901234568e29)
