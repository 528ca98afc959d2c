"""Domain rules for documents (lrs.xapi.documents) and Person objects (lrs.xapi.agents), from the spec text."""

from __future__ import annotations

import hashlib
import json

import pytest

from lrs.xapi import documents as D
from lrs.xapi.agents import named_agents, person
from lrs.xapi.errors import XAPIError

NOW = "2026-01-01T00:00:00.000000Z"
AGENT = json.dumps({"mbox": "mailto:ada@example.com"})


def doc(contents: bytes, content_type: str | None = "application/json") -> D.Document:
    return D.Document.new(contents, content_type, NOW)


def status(fn, *args, **kwargs) -> int:
    with pytest.raises(XAPIError) as err:
        fn(*args, **kwargs)
    return err.value.status


def test_etag_is_lowercase_sha1_hex_of_the_contents():  # 1.0.3 Communication 3.1.s4.b2
    assert doc(b"abc").etag == hashlib.sha1(b"abc").hexdigest()
    assert doc(b"abc").etag == doc(b"abc").etag.lower()


def test_default_content_type():
    assert doc(b"x", None).content_type == "application/octet-stream"
    assert doc(b"{}", "Application/JSON; charset=utf-8").is_json


@pytest.mark.parametrize("header, tags", [
    (None, None), ('"abc"', ("abc",)), ("*", ("*",)), ('W/"abc", "DEF"', ("W/abc", "def")), ("abc", ("abc",)),
])
def test_parse_etags(header, tags):
    assert D.parse_etags(header) == tags


def test_merge_is_one_level_deep():  # 2.2.s7, XAPI-00183..00186
    current = doc(b'{"x": "foo", "y": "bar", "o": {"a": 1, "b": 2}}')
    merged = D.write(current, doc(b'{"x": "bash", "z": "faz", "o": {"c": 3}}'), merge=True, condition=D.Precondition())
    assert json.loads(merged.contents) == {"x": "bash", "y": "bar", "z": "faz", "o": {"c": 3}}
    assert merged.etag == hashlib.sha1(merged.contents).hexdigest()


@pytest.mark.parametrize("stored, posted", [
    (doc(b"text", "text/plain"), doc(b'{"a": 1}')),
    (doc(b'{"a": 1}'), doc(b"text", "text/plain")),
    (doc(b"[1, 2]"), doc(b'{"a": 1}')),
    (doc(b'{"a": 1}'), doc(b"[1]")),
    (doc(b"{not json"), doc(b'{"a": 1}')),
])
def test_merge_needs_two_json_objects(stored, posted):  # 2.2.s8.b1
    assert status(D.write, stored, posted, merge=True, condition=D.Precondition()) == 400


def test_post_of_a_new_document_is_a_put():  # XAPI-00233
    new = doc(b"anything", "text/plain")
    assert D.write(None, new, merge=True, condition=D.Precondition()) is new
    assert status(D.check_post, doc(b"[1]")) == 400
    assert status(D.check_post, doc(b"{bad")) == 400
    D.check_post(doc(b"bytes", "application/octet-stream"))


def test_preconditions():  # 3.1.s4
    current = doc(b'{"a": 1}')
    ok = [D.Precondition(if_match=(current.etag,)), D.Precondition(if_match=("*",)), D.Precondition(),
          D.Precondition(if_none_match=("other",))]
    for condition in ok:
        condition.check(current)
    assert status(D.Precondition(if_match=("nope",)).check, current) == 412
    assert status(D.Precondition(if_match=("*",)).check, None) == 412
    assert status(D.Precondition(if_none_match=("*",)).check, current) == 412
    assert status(D.Precondition(if_none_match=(current.etag,)).check, current) == 412
    assert status(D.Precondition(if_none_match=("W/" + current.etag,)).check, current) == 412  # weak comparison
    assert status(D.Precondition(if_match=("W/" + current.etag,)).check, current) == 412  # strong comparison
    assert status(D.Precondition(header_required=True).check, current) == 409
    D.Precondition(header_required=True).check(None)
    D.Precondition(if_none_match=("*",)).check(None)


def test_preconditions_of_the_multiple_document_delete():
    """Checked against the list the multiple-document GET returns (its ETag); ``*`` is "any document"."""
    listed = ["a", "b"]
    etag = hashlib.sha1(b'["a","b"]').hexdigest()
    assert D.id_list(listed) == b'["a","b"]' and D.etag_of(D.id_list([])) == hashlib.sha1(b"[]").hexdigest()
    for condition in (D.Precondition(), D.Precondition(if_match=(etag,)), D.Precondition(if_match=("*",)),
                      D.Precondition(if_match=("other", etag)), D.Precondition(if_none_match=("other",))):
        condition.check_many(listed)
    for condition in (D.Precondition(if_match=("other",)), D.Precondition(if_match=("W/" + etag,)),
                      D.Precondition(if_none_match=("*",)), D.Precondition(if_none_match=(etag,)),
                      D.Precondition(if_none_match=("W/" + etag,))):
        assert status(condition.check_many, listed) == 412, condition
    assert status(D.Precondition(if_match=("*",)).check_many, []) == 412
    D.Precondition(if_none_match=("*",)).check_many([])
    D.Precondition(if_match=(D.etag_of(b"[]"),)).check_many([])


def test_merge_keeps_numbers_as_written():  # 2.2.s7.b2: only the posted properties change
    current = doc(b'{"big": 98765432109876543210, "n": -9223372036854775809, "d": 0.10000000000000000000001}')
    posted = doc(b'{"e": 1E2, "f": 2.50000000000000000000001}')
    merged = D.write(current, posted, merge=True, condition=D.Precondition())
    assert merged.contents == (b'{"big":98765432109876543210,"n":-9223372036854775809,"d":0.10000000000000000000001,'
                               b'"e":1E2,"f":2.50000000000000000000001}')
    for bad in (b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": 1e999}', b'{"a": "\\ud800"}'):
        assert status(D.write, current, doc(bad), merge=True, condition=D.Precondition()) == 400, bad


def test_put_of_an_empty_json_body_is_refused():  # Communication 3.2.s3.b6
    assert status(D.check_put, doc(b"")) == 400
    assert status(D.check_put, doc(b"   ")) == 400
    D.check_put(doc(b"", "text/plain"))


@pytest.mark.parametrize("resource, method, version, required", [
    (D.STATE, "PUT", "1.0.3", False), (D.STATE, "PUT", "2.0.0", True), (D.STATE, "POST", "2.0.0", False),
    (D.ACTIVITY_PROFILE, "PUT", "1.0.3", True), (D.AGENT_PROFILE, "PUT", "1.0.3", True),
    (D.AGENT_PROFILE, "DELETE", "2.0.0", False),
])
def test_put_without_headers_rule(resource, method, version, required):
    condition = D.precondition(resource, method, if_match=None, if_none_match=None, version=version)
    assert condition.header_required is required


def test_parse_state_params():
    req = D.parse_params(D.STATE, "GET", {"activityId": "http://ex.com/a", "agent": AGENT,
                                          "registration": "0B6B7A7E-8A8C-4C3B-9A53-3F2F2D6F0A01"}, version="1.0.3")
    assert req.scope == D.DocumentScope(D.STATE, "http://ex.com/a", "mbox:mailto:ada@example.com",
                                        "0b6b7a7e-8a8c-4c3b-9a53-3f2f2d6f0a01")
    assert req.doc_id is None and req.since is None


@pytest.mark.parametrize("resource, method, params, path", [
    (D.STATE, "PUT", {"agent": AGENT, "stateId": "s"}, "activityId"),
    (D.STATE, "PUT", {"activityId": "http://ex.com/a", "stateId": "s"}, "agent"),
    (D.STATE, "PUT", {"activityId": "http://ex.com/a", "agent": AGENT}, "stateId"),
    (D.STATE, "GET", {"activityId": "not an iri", "agent": AGENT}, "activityId"),
    (D.STATE, "GET", {"activityId": "http://ex.com/a", "agent": "{"}, "agent"),
    (D.STATE, "GET", {"activityId": "http://ex.com/a", "agent": AGENT, "registration": "x"}, "registration"),
    (D.STATE, "GET", {"activityId": "http://ex.com/a", "agent": AGENT, "since": "yesterday"}, "since"),
    (D.STATE, "GET", {"activityId": "http://ex.com/a", "agent": AGENT, "StateId": "s"}, "StateId"),
    (D.STATE, "PUT", {"activityId": "http://ex.com/a", "agent": AGENT, "stateId": ""}, "stateId"),
    (D.ACTIVITY_PROFILE, "DELETE", {"activityId": "http://ex.com/a"}, "profileId"),
    (D.ACTIVITY_PROFILE, "PUT", {"activityId": "http://ex.com/a", "profileId": "p", "agent": AGENT}, "agent"),
    (D.AGENT_PROFILE, "GET", {"profileId": "p"}, "agent"),
    (D.AGENT_PROFILE, "GET", {"agent": AGENT, "registration": "0b6b7a7e-8a8c-4c3b-9a53-3f2f2d6f0a01"}, "registration"),
])
def test_parse_params_refusals_name_the_parameter(resource, method, params, path):
    with pytest.raises(XAPIError) as err:
        D.parse_params(resource, method, params, version="1.0.3")
    assert err.value.status == 400
    assert err.value.path.split(".")[0] == path


def test_since_with_one_document():
    params = {"activityId": "http://ex.com/a", "agent": AGENT, "stateId": "s", "since": "2026-01-01T00:00:00Z"}
    assert D.parse_params(D.STATE, "GET", params, version="1.0.3").since is None  # ignored (XAPI-00192)
    with pytest.raises(XAPIError):  # 2.0: "If the stateId parameter is included, Not Allowed"
        D.parse_params(D.STATE, "GET", params, version="2.0.0")


def test_group_is_not_a_document_agent():
    group = json.dumps({"objectType": "Group", "mbox": "mailto:team@example.com"})
    with pytest.raises(XAPIError):
        D.parse_params(D.AGENT_PROFILE, "GET", {"agent": group}, version="1.0.3")


def test_named_agents():
    statement = {
        "actor": {"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.com",
                  "member": [{"name": "Ada", "mbox": "mailto:ada@example.com"}, {"mbox": "mailto:x@example.com"}]},
        "verb": {"id": "http://ex.com/v"},
        "object": {"objectType": "SubStatement", "actor": {"name": "Bob", "openid": "http://bob.example.com/"},
                   "verb": {"id": "http://ex.com/v"}, "object": {"objectType": "Agent", "name": "Cy",
                                                                  "mbox_sha1sum": "A" * 40}},
        "context": {"instructor": {"name": "Teach", "account": {"homePage": "http://h.com", "name": "t"}}},
    }
    assert set(named_agents(statement)) == {
        ("mbox:mailto:team@example.com", "Team"), ("mbox:mailto:ada@example.com", "Ada"),
        ("openid:http://bob.example.com/", "Bob"), ("mbox_sha1sum:" + "a" * 40, "Cy"),
        ('account:["http://h.com","t"]', "Teach"),
    }


def test_person_has_arrays():  # 2.4.s5, XAPI-00237..00242
    assert person({"mbox": "mailto:ada@example.com"}, []) == {"objectType": "Person", "mbox": ["mailto:ada@example.com"]}
    assert person({"name": "Ada", "account": {"homePage": "http://h.com", "name": "ada"}}, ["Ada", "A. L."]) == {
        "objectType": "Person", "name": ["Ada", "A. L."], "account": [{"homePage": "http://h.com", "name": "ada"}],
    }
