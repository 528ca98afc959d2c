"""The Document Resources: /activities/state, /activities/profile, /agents/profile.

Spec: xAPI 1.0.3 Communication §2.2 (Document Resources, JSON merge), §2.3 (State), §2.6 (Agent Profile),
§2.7 (Activity Profile), §3.1 (Concurrency), §1.3 (Alternate Request Syntax); the xAPI 2.0 changes (a PUT
without If-Match/If-None-Match on an existing document is a 409 on all three resources; a single-document
GET takes no ``since``). Conformance requirements XAPI-00182..XAPI-00235, XAPI-00255..XAPI-00314.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import ADMIN, new_id
from tests.http.helpers import BASE, assert_error, each, encode_params, parse_http_date

V2 = {"X-Experience-API-Version": "2.0.0"}
JSON = "application/json"
ACTIVITY = "http://example.com/activities/documents"
OTHER_ACTIVITY = "http://example.com/activities/other"
AGENT = {"objectType": "Agent", "mbox": "mailto:doc@example.com"}
OTHER_AGENT = {"objectType": "Agent", "mbox": "mailto:someone-else@example.com"}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class Resource:
    name: str
    path: str
    context: dict[str, Any]  # the parameters besides the document id that every request needs
    id_param: str

    def __str__(self) -> str:  # readable pytest ids and ``each`` reports
        return self.name

    __repr__ = __str__


STATE = Resource("state", f"{BASE}/activities/state", {"activityId": ACTIVITY, "agent": AGENT}, "stateId")
ACTIVITY_PROFILE = Resource("activity-profile", f"{BASE}/activities/profile", {"activityId": ACTIVITY}, "profileId")
AGENT_PROFILE = Resource("agent-profile", f"{BASE}/agents/profile", {"agent": AGENT}, "profileId")
RESOURCES = [STATE, ACTIVITY_PROFILE, AGENT_PROFILE]
PROFILES = [ACTIVITY_PROFILE, AGENT_PROFILE]

each_resource = pytest.mark.parametrize("res", RESOURCES, ids=str)


# -- helpers ------------------------------------------------------------------------------

def params(res: Resource, doc_id: str | None = None, **extra: Any) -> dict[str, str]:
    """The resource's context parameters, the document id (if any) and ``extra`` (None removes one)."""
    out: dict[str, Any] = dict(res.context)
    if doc_id is not None:
        out[res.id_param] = doc_id
    out.update(extra)
    return encode_params({k: v for k, v in out.items() if v is not None})


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def as_bytes(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return json.dumps(content).encode("utf-8")


def write(client, method: str, res: Resource, doc_id: str, content: Any = b"", content_type: str | None = JSON,
          headers: dict[str, str] | None = None, **extra: Any):
    sent = {} if content_type is None else {"Content-Type": content_type}
    sent.update(headers or {})
    return client.request(method, res.path, params=params(res, doc_id, **extra), content=as_bytes(content),
                          headers=sent)


def put(client, res, doc_id, content, content_type=JSON, headers=None, **extra):
    return write(client, "PUT", res, doc_id, content, content_type, headers, **extra)


def post(client, res, doc_id, content, content_type=JSON, headers=None, **extra):
    return write(client, "POST", res, doc_id, content, content_type, headers, **extra)


def get(client, res, doc_id=None, headers=None, **extra):
    return client.get(res.path, params=params(res, doc_id, **extra), headers=headers or {})


def delete(client, res, doc_id=None, headers=None, **extra):
    return client.delete(res.path, params=params(res, doc_id, **extra), headers=headers or {})


def create(client, res: Resource, doc_id: str, content: Any = b'{"a": 1}', content_type: str | None = JSON,
           **extra: Any) -> None:
    """Store a new document (If-None-Match: * so that it is allowed on every resource and version)."""
    response = put(client, res, doc_id, content, content_type, headers={"If-None-Match": "*"}, **extra)
    assert response.status_code == 204, response.text


def fetch(client, res: Resource, doc_id: str, **extra: Any):
    """The single-document GET response, or None on 404."""
    response = get(client, res, doc_id, **extra)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response


def etag_of(client, res: Resource, doc_id: str, **extra: Any) -> str:
    response = fetch(client, res, doc_id, **extra)
    assert response is not None, f"{doc_id} is missing"
    return response.headers["etag"]


def stored(client, res: Resource, doc_id: str, **extra: Any) -> tuple[bytes, str, str] | None:
    """(contents, Content-Type, ETag) of a document, or None when there is none."""
    response = fetch(client, res, doc_id, **extra)
    if response is None:
        return None
    return response.content, response.headers["content-type"], response.headers["etag"]


def ids(client, res: Resource, **extra: Any) -> list[str]:
    response = get(client, res, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list), body
    return body


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def moment_between(before, after) -> str:
    """Run ``before()``, then take a timestamp, then run ``after()`` (short sleeps so that it lies between)."""
    before()
    time.sleep(0.01)
    mark = utc_now()
    time.sleep(0.01)
    after()
    return mark


def assert_param_error(response, name: str) -> None:
    """400 with a JSON body whose "path" names the parameter ``name``."""
    body = assert_error(response, 400)
    path = body.get("path")
    assert isinstance(path, str) and (path == name or path.startswith((name + ".", name + "["))), (
        f"path {path!r} does not name the parameter {name!r}: {body}")


# -- storing and fetching -----------------------------------------------------------------

@each_resource
def test_put_then_get_returns_the_document_with_etag_and_last_modified(client, res):
    """PUT 204 (XAPI-00190, XAPI-00273, XAPI-00287); GET 200 with the document (XAPI-00188, XAPI-00269,
    XAPI-00288); ETag quoted, the lower-case SHA-1 hex of the contents (§3.1); Last-Modified (§2.2)."""
    content = b'{"score": 3, "where": "chapter 2"}'
    before = datetime.now(UTC).replace(microsecond=0)
    response = put(client, res, "doc-1", content, headers={"If-None-Match": "*"})
    assert response.status_code == 204, response.text
    assert response.content == b""

    got = get(client, res, "doc-1")
    assert got.status_code == 200, got.text
    assert got.content == content
    assert got.headers["content-type"] == JSON
    assert got.headers["etag"] == f'"{sha1(content)}"'
    modified = parse_http_date(got.headers["last-modified"])
    assert before <= modified <= datetime.now(UTC) + timedelta(seconds=1)


@each_resource
def test_any_content_type_is_stored_byte_exact(client, res):
    """Contents are "arbitrary binary data" (§2.2): returned byte for byte with their Content-Type."""
    binary = bytes(range(256)) + b"\xff\xfe\x00\x00not utf-8\xc3"
    text = "Zoë 日本語\r\n  trailing spaces  \n".encode()
    cases = [
        ("binary", binary, "image/png"),
        ("text", text, "text/plain; charset=utf-8"),
        ("json-with-spacing", b'{ "b" :1,\n  "a": [1, 2.50] }\n', JSON),
        ("empty", b"", "text/plain"),
    ]

    def check(case):
        doc_id, content, content_type = case
        create(client, res, doc_id, content, content_type)
        got = fetch(client, res, doc_id)
        assert got is not None, f"{doc_id} not stored"
        assert got.content == content
        assert got.headers["content-type"] == content_type
        assert got.headers["etag"] == f'"{sha1(content)}"'

    each(cases, check)


def test_a_content_type_with_a_control_character_is_400(client):
    # Found by a 5xx hunt: the alternate request syntax carried "text/plain\x01" (or a line break)
    # into a stored document, whose every GET then broke the connection (no valid header to send).
    def check(res):
        for bad in ("text/plain\x01", "text/plain\r\nX-Injected: yes", "text/plain\x00", "text/\x7fplain"):
            for method in ("PUT", "POST"):
                form = {**params(res, "ct"), "Content-Type": bad, "content": "hello", "If-None-Match": "*",
                        "X-Experience-API-Version": "1.0.3", "Authorization": _basic(*ADMIN)}
                response = client.post(res.path, params={"method": method}, data=form)
                assert response.status_code == 400, (res.name, bad, method, response.text)
                assert response.json()["path"] == "Content-Type"
        assert fetch(client, res, "ct") is None
        create(client, res, "tab", b"x", "text/plain;\tcharset=utf-8")  # a tab is allowed in a header value
        assert fetch(client, res, "tab").headers["content-type"] == "text/plain;\tcharset=utf-8"

    each(RESOURCES, check)


def test_a_stored_content_type_that_cannot_be_a_header_is_served_as_octet_stream():
    from lrs.xapi.documents import served_content_type

    assert served_content_type("text/plain\x01") == "application/octet-stream"
    assert served_content_type("text/plain; charset=utf-8") == "text/plain; charset=utf-8"


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_document_without_content_type_is_application_octet_stream(client):
    def check(res):
        content = b"\x00\x01raw"
        create(client, res, "raw", content, content_type=None)
        got = fetch(client, res, "raw")
        assert got is not None
        assert got.content == content
        assert got.headers["content-type"] == "application/octet-stream"

    each(RESOURCES, check)


def test_put_replaces_the_document_and_its_etag(client):
    def check(res):
        create(client, res, "doc", b'{"a": 1}')
        first = etag_of(client, res, "doc")
        response = put(client, res, "doc", b"now plain text", "text/plain", headers={"If-Match": first})
        assert response.status_code == 204, response.text
        assert stored(client, res, "doc") == (b"now plain text", "text/plain", f'"{sha1(b"now plain text")}"')

    each(RESOURCES, check)


def test_head_returns_the_get_headers_without_a_body(client):  # Communication §1.1
    def check(res):
        create(client, res, "doc", b'{"a": 1}')
        for doc_id in ("doc", None):
            full = get(client, res, doc_id)
            head = client.head(res.path, params=params(res, doc_id))
            assert head.status_code == 200, (doc_id, head.text)
            assert head.content == b""
            assert head.headers["etag"] == full.headers["etag"]
            assert head.headers["content-type"] == full.headers["content-type"]
            assert head.headers.get("last-modified") == full.headers.get("last-modified")

    each(RESOURCES, check)


def test_get_of_a_missing_document_returns_404(client):
    def check(res):
        assert_error(get(client, res, "nothing-here"), 404)
        assert client.head(res.path, params=params(res, "nothing-here")).status_code == 404
        create(client, res, "doc")
        assert_error(get(client, res, "DOC"), 404)  # ids are case-sensitive strings

    each(RESOURCES, check)


def test_documents_are_kept_apart_by_their_context(client):
    """"unique within the scope of the Agent or Activity" (§2.2): another Activity or Agent sees other documents."""
    others = {"activityId": {"activityId": OTHER_ACTIVITY}, "agent": {"agent": OTHER_AGENT}}
    cases = [(res, name) for res in RESOURCES for name in res.context]

    def check(case):
        res, name = case
        other = others[name]
        create(client, res, name, b"mine", "text/plain")
        assert fetch(client, res, name, **other) is None
        assert name not in ids(client, res, **other)
        create(client, res, name, b"theirs", "text/plain", **other)
        assert stored(client, res, name, **other)[0] == b"theirs"
        assert stored(client, res, name)[0] == b"mine"

    each(cases, check)


def test_documents_for_unknown_activities_and_agents_are_accepted(client):
    """"The LRS MUST NOT reject documents on the basis of not having prior knowledge of the Activity and/or
    Agent" (§2.2): no statement mentions them here."""
    def check(res):
        context = {"activityId": "urn:uuid:" + new_id(), "agent": {"account": {"homePage": "http://x.example", "name": "n"}}}
        extra = {k: v for k, v in context.items() if k in res.context}
        assert put(client, res, "doc", b"{}", headers={"If-None-Match": "*"}, **extra).status_code == 204
        assert fetch(client, res, "doc", **extra) is not None

    each(RESOURCES, check)


# -- the list of ids ------------------------------------------------------------------------

@each_resource
def test_get_without_id_returns_the_ids_in_order_with_etag(client, res):
    """XAPI-00193, XAPI-00270, XAPI-00289: an array of ids; ETag (§3.1); Last-Modified of the newest (§2.2)."""
    empty = get(client, res)
    assert empty.status_code == 200, empty.text
    assert empty.json() == []
    assert empty.headers["etag"] == f'"{sha1(empty.content)}"'

    for doc_id in ("b", "a", "c 3", "ä"):
        create(client, res, doc_id)
    response = get(client, res)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert response.json() == ["a", "b", "c 3", "ä"]
    assert response.headers["etag"] == f'"{sha1(response.content)}"'
    newest = max(parse_http_date(fetch(client, res, d).headers["last-modified"]) for d in ("a", "b", "c 3", "ä"))
    assert parse_http_date(response.headers["last-modified"]) == newest


@each_resource
def test_get_ids_since_returns_only_documents_stored_or_updated_after_it(client, res):
    """XAPI-00195, XAPI-00221, XAPI-00222, XAPI-00268, XAPI-00275, XAPI-00294, XAPI-00303: "limited to entries
    that have been stored or updated since the specified timestamp (exclusive)"."""
    def older():
        create(client, res, "old-1")
        create(client, res, "old-2")

    def newer():
        create(client, res, "new")
        tag = etag_of(client, res, "old-2")
        assert put(client, res, "old-2", b'{"changed": true}', headers={"If-Match": tag}).status_code == 204

    mark = moment_between(older, newer)
    assert ids(client, res, since=mark) == ["new", "old-2"]
    # the same instant written with another UTC offset
    offset = datetime.fromisoformat(mark).astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert ids(client, res, since=offset.isoformat()) == ["new", "old-2"]
    assert ids(client, res, since="2000-01-01T00:00:00Z") == ["new", "old-1", "old-2"]
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert ids(client, res, since=future) == []


def test_single_document_get_ignores_since_under_1_0_3(client):
    """XAPI-00192: "There is no requirement here that the LRS reacts to the "since" parameter in the case of a
    GET request with valid "stateId"" (nor "profileId")."""
    def check(res):
        create(client, res, "doc", b'{"a": 1}')
        future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        response = get(client, res, "doc", since=future)
        assert response.status_code == 200, response.text
        assert response.content == b'{"a": 1}'

    each(RESOURCES, check)


def test_single_document_get_with_since_under_2_0_returns_400(client):
    """xAPI 2.0: a single-document GET takes no "since"; it is an unexpected parameter (400)."""
    def check(res):
        create(client, res, "doc")
        assert_param_error(get(client, res, "doc", headers=V2, since=utc_now()), "since")
        assert ids(client, res, since="2000-01-01T00:00:00Z") == ["doc"]
        response = client.get(res.path, params=params(res, since="2000-01-01T00:00:00Z"), headers=V2)
        assert response.status_code == 200 and response.json() == ["doc"], response.text

    each(RESOURCES, check)


# -- DELETE ---------------------------------------------------------------------------------

def test_delete_removes_one_document(client):
    """XAPI-00187, XAPI-00191, XAPI-00271, XAPI-00285: 204 and the document is gone; the others stay."""
    def check(res):
        create(client, res, "gone")
        create(client, res, "kept")
        response = delete(client, res, "gone")
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert fetch(client, res, "gone") is None
        assert ids(client, res) == ["kept"]
        assert delete(client, res, "never-there").status_code == 204
        assert ids(client, res) == ["kept"]

    each(RESOURCES, check)


# -- POST: the JSON merge -------------------------------------------------------------------

@each_resource
def test_post_merges_json_objects(client, res):
    """§2.2 JSON Procedure and its example; XAPI-00183..XAPI-00186, XAPI-00234, XAPI-00279, XAPI-00308; 204
    (XAPI-00189, XAPI-00272, XAPI-00286)."""
    create(client, res, "doc", {"x": "foo", "y": "bar"})
    response = post(client, res, "doc", {"x": "bash", "z": "faz"})
    assert response.status_code == 204, response.text
    assert response.content == b""
    got = fetch(client, res, "doc")
    assert got.json() == {"x": "bash", "y": "bar", "z": "faz"}
    assert got.headers["content-type"].startswith(JSON)
    assert got.headers["etag"] == f'"{sha1(got.content)}"'


@each_resource
def test_a_merge_that_would_make_a_document_too_large_is_413_and_changes_nothing(client, res, monkeypatch):
    # A slow-path hunt: POSTs grew a state document past SQLite's 1 GB limit on one value, and every
    # later one got a 500. A merge result over MAX_MERGED_BYTES is refused; a PUT still replaces it.
    from lrs.xapi import documents

    monkeypatch.setattr(documents, "MAX_MERGED_BYTES", 1_000)
    create(client, res, "doc", {"a": "x" * 400})
    assert post(client, res, "doc", {"b": "y" * 400}).status_code == 204
    before = stored(client, res, "doc")
    body = assert_error(post(client, res, "doc", {"c": "z" * 400}), 413)
    assert body["error"] == "too_large" and "1000 bytes" in body["message"], body
    assert stored(client, res, "doc") == before
    etag = before[2]
    assert put(client, res, "doc", {"c": "z" * 1_500}, headers={"If-Match": etag}).status_code == 204


def test_post_merge_replaces_top_level_properties_whole(client):
    """XAPI-00183: "only top-level properties are merged, even if a top-level property is an Object"."""
    def check(res):
        create(client, res, "doc", {"obj": {"a": 1, "b": {"c": 2}}, "list": [1, 2, 3], "keep": None})
        assert post(client, res, "doc", {"obj": {"b": {"d": 4}}, "list": [9]}).status_code == 204
        assert fetch(client, res, "doc").json() == {"obj": {"b": {"d": 4}}, "list": [9], "keep": None}
        assert post(client, res, "doc", {}).status_code == 204
        assert fetch(client, res, "doc").json() == {"obj": {"b": {"d": 4}}, "list": [9], "keep": None}

    each(RESOURCES, check)


def test_post_merge_accepts_json_with_a_charset(client):
    def check(res):
        create(client, res, "doc", {"x": 1}, "application/json; charset=utf-8")
        assert post(client, res, "doc", {"y": "é"}, "application/json; charset=UTF-8").status_code == 204
        assert fetch(client, res, "doc").json() == {"x": 1, "y": "é"}

    each(RESOURCES, check)


def test_post_merge_keeps_every_number_exactly(client):
    """§2.2.s7.b2: a merge sets only "the properties directly defined on the posted object": the properties it
    does not touch keep their values exactly as stored, and the posted ones arrive exactly as sent, however
    large or precise the number (integers beyond 64 bits, decimals beyond a double's precision)."""
    original = (b'{"playerId": 98765432109876543210, "n": -9223372036854775809, "d": 0.10000000000000000000001,'
                b' "small": 1, "e": 1E2, "neg": -0.0, "nested": {"big": 123456789012345678901234567890}}')
    posted = b'{"level": 2, "score": 340282366920938463463374607431768211457, "ratio": 2.50000000000000000000001}'
    merged = (b'{"playerId":98765432109876543210,"n":-9223372036854775809,"d":0.10000000000000000000001,'
              b'"small":1,"e":1E2,"neg":-0.0,"nested":{"big":123456789012345678901234567890},'
              b'"level":2,"score":340282366920938463463374607431768211457,"ratio":2.50000000000000000000001}')

    def check(res):
        doc_id = new_id()
        create(client, res, doc_id, original)
        assert fetch(client, res, doc_id).content == original  # a PUT stores the bytes as sent
        response = post(client, res, doc_id, posted)
        assert response.status_code == 204, response.text
        got = fetch(client, res, doc_id)
        assert got.content == merged
        assert got.headers["etag"] == f'"{sha1(merged)}"'
        # the merge keeps refusing what a PUT refuses: a duplicate key, NaN, a number too large for a double
        for bad in (b'{"level": 3, "level": 4}', b'{"x": NaN}', b'{"x": 1e999}'):
            assert_error(post(client, res, doc_id, bad), 400)
        assert fetch(client, res, doc_id).content == merged

    each(RESOURCES, check)


def test_post_to_a_missing_document_stores_it(client):
    """XAPI-00233, XAPI-00280, XAPI-00310: a POST for a document not in the LRS is treated as a PUT (204)."""
    def check(res):
        response = post(client, res, "json", {"x": 1})
        assert response.status_code == 204, response.text
        assert fetch(client, res, "json").json() == {"x": 1}
        response = post(client, res, "text", b"plain words", "text/plain")
        assert response.status_code == 204, response.text
        assert stored(client, res, "text") == (b"plain words", "text/plain", f'"{sha1(b"plain words")}"')

    each(RESOURCES, check)


@each_resource
def test_put_of_invalid_json_labelled_json_returns_400_and_changes_nothing(client, res):
    """Communication §3.2.s3.b6 (SHOULD*): content that does not match its Content-Type is rejected; stored,
    it would make every later POST merge into the document fail."""
    doc_id = new_id()
    create(client, res, doc_id, b'{"a": 1}')
    before = stored(client, res, doc_id)
    for bad in (b"{not json", b'{"a": 1, "a": 2}', b"[1,"):
        assert_error(put(client, res, doc_id, bad, headers={"If-Match": before[2]}), 400)
        assert_error(put(client, res, new_id(), bad, "application/json; charset=utf-8"), 400)
    assert stored(client, res, doc_id) == before
    assert put(client, res, doc_id, b"{not json", "text/plain", headers={"If-Match": before[2]}).status_code == 204


@each_resource
def test_put_of_an_empty_body_labelled_json_returns_400_and_changes_nothing(client, res):
    """Communication §3.2.s3.b6: an empty body is not JSON (as three spaces are not); stored as
    application/json, it would make every later POST merge fail. Other content types may be empty."""
    doc_id = new_id()
    create(client, res, doc_id, b'{"a": 1}')
    before = stored(client, res, doc_id)
    for content_type in (JSON, "application/json; charset=utf-8"):
        assert_error(put(client, res, doc_id, b"", content_type, headers={"If-Match": before[2]}), 400)
        assert_error(put(client, res, "empty", b"", content_type, headers={"If-None-Match": "*"}), 400)
        assert_error(post(client, res, "empty", b"", content_type), 400)
    assert stored(client, res, doc_id) == before
    assert fetch(client, res, "empty") is None
    response = put(client, res, "empty", b"", "text/plain", headers={"If-None-Match": "*"})
    assert response.status_code == 204, response.text
    assert stored(client, res, "empty")[:2] == (b"", "text/plain")


@each_resource
def test_post_that_cannot_be_merged_returns_400_and_changes_nothing(client, res):
    """§2.2: "If the document being posted or any existing document does not have a Content-Type of
    application/json, or if either document cannot be parsed as a JSON Object, the LRS MUST respond with
    HTTP status code 400 Bad Request, and MUST NOT update the target document". XAPI-00182, XAPI-00229,
    XAPI-00232, XAPI-00278, XAPI-00281, XAPI-00309, XAPI-00313; invalid JSON: XAPI-00235, XAPI-00284, XAPI-00314."""
    cases = [
        # (existing contents, existing type, posted contents, posted type)
        (b"plain", "text/plain", b'{"x": 1}', JSON),
        (b'{"a": 1}', JSON, b"plain", "text/plain"),
        (b'{"a": 1}', JSON, b'{"x": 1}', None),
        (b'{"a": 1}', JSON, b'{"x": 1}', "text/plain"),
        (b'{"a": 1}', JSON, b"[1, 2]", JSON),
        (b'{"a": 1}', JSON, b'"a string"', JSON),
        (b'{"a": 1}', JSON, b"{not json", JSON),
        (b'{"a": 1}', JSON, b"", JSON),
        (b"[1, 2]", JSON, b'{"x": 1}', JSON),
        (b'{"a": 1}', "application/octet-stream", b'{"x": 1}', JSON),
    ]

    def check(case):
        existing, existing_type, posted, posted_type = case
        doc_id = new_id()
        create(client, res, doc_id, existing, existing_type)
        before = stored(client, res, doc_id)
        assert_error(post(client, res, doc_id, posted, posted_type), 400)
        assert stored(client, res, doc_id) == before

    each(cases, check)


def test_post_of_invalid_json_to_a_missing_document_returns_400_and_stores_nothing(client):
    """XAPI-00235, XAPI-00284, XAPI-00314: invalid JSON with Content-Type application/json is a 400."""
    def check(res):
        for content in (b"{not json", b'{"a": 1,}', b"[1, 2]", b""):
            assert_error(post(client, res, "doc", content), 400)
            assert fetch(client, res, "doc") is None
        assert ids(client, res) == []

    each(RESOURCES, check)


# -- concurrency (§3.1) ---------------------------------------------------------------------

ORIGINAL = b'{"a": 1}'
SENT = b'{"b": 2}'
CONDITIONS = ("none", "if-match", "if-match-other", "if-match-star", "if-none-match-star")


def condition_headers(condition: str, current_etag: str) -> dict[str, str]:
    return {
        "none": {},
        "if-match": {"If-Match": current_etag},
        "if-match-other": {"If-Match": f'"{sha1(b"some other contents")}"'},
        "if-match-star": {"If-Match": "*"},
        "if-none-match-star": {"If-None-Match": "*"},
    }[condition]


def expected_status(res: Resource, method: str, condition: str, exists: bool, version: str) -> int:
    if condition.startswith("if-match"):
        # a non-matching ETag, or any If-Match when there is no document: the precondition fails
        return 204 if exists and condition != "if-match-other" else 412
    if condition == "if-none-match-star":
        return 412 if exists else 204
    # No header: a PUT must not overwrite an existing document, except State under 1.0.3 (§3.1 Client
    # Requirements: "The State Resource will permit PUT, POST and DELETE requests without concurrency headers").
    if method == "PUT" and exists and (res is not STATE or version.startswith("2.")):
        return 409
    # ... and on the profile resources it must not create one either: a client MUST send one of the
    # headers there (1.0.3 §3.1.s3.b1); the reference LRS and the ADL suites (1.0.3 and 2.0:
    # H.Communication2.6, XAPI-00273) answer 400.
    if method == "PUT" and res is not STATE:
        return 400
    return 204


def expected_contents(method: str, exists: bool, status: int) -> Any:
    """The document after the request: parsed JSON, or None when there is none."""
    if status != 204:
        return json.loads(ORIGINAL) if exists else None
    if method == "DELETE":
        return None
    if method == "POST" and exists:
        return {**json.loads(ORIGINAL), **json.loads(SENT)}
    return json.loads(SENT)


@each_resource
@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_concurrency_matrix(client, res, version):
    """§3.1: If-Match with the current ETag succeeds; any other If-Match, or If-Match on a missing document,
    is "412 Precondition Failed" and "MUST NOT make a modification to the resource"; If-None-Match: * on an
    existing document is 412; "If a PUT request is received without either header for a resource that
    already exists, the LRS: MUST return HTTP status 409 Conflict ... MUST NOT make a modification" (1.0.3:
    the profile resources; 2.0: all three). POST and DELETE without headers succeed."""
    cases = [(method, condition, exists)
             for method in ("PUT", "POST", "DELETE") for condition in CONDITIONS for exists in (True, False)]

    def check(case):
        method, condition, exists = case
        doc_id = f"{method}-{condition}-{'exists' if exists else 'missing'}"
        current = f'"{sha1(ORIGINAL)}"'
        if exists:
            create(client, res, doc_id, ORIGINAL)
            current = etag_of(client, res, doc_id)
            before = stored(client, res, doc_id)
        headers = {"X-Experience-API-Version": version, **condition_headers(condition, current)}
        if method == "DELETE":
            response = delete(client, res, doc_id, headers=headers)
        else:
            response = write(client, method, res, doc_id, SENT, JSON, headers)
        status = expected_status(res, method, condition, exists, version)
        if status == 204:
            assert response.status_code == 204, f"expected 204, got {response.status_code}: {response.text}"
        else:
            assert_error(response, status)
        after = fetch(client, res, doc_id)
        want = expected_contents(method, exists, status)
        if want is None:
            assert after is None, f"document should not exist, has {after.content!r}"
        else:
            assert after is not None, "document missing"
            assert after.json() == want
            if status != 204:
                assert stored(client, res, doc_id) == before  # byte for byte, same ETag

    each(cases, check)


def test_if_match_accepts_a_list_of_etags(client):  # RFC 2616 §14.24: If-Match = "*" | 1#entity-tag
    def check(res):
        create(client, res, "doc", ORIGINAL)
        current = etag_of(client, res, "doc")
        other = f'"{sha1(b"x")}"'
        response = put(client, res, "doc", SENT, headers={"If-Match": f"{other}, {current}"})
        assert response.status_code == 204, response.text
        assert fetch(client, res, "doc").content == SENT

    each(RESOURCES, check)


def test_if_match_with_a_weak_etag_does_not_match(client):
    """§3.1: the LRS "MUST handle the If-Match header as described in RFC2616"; RFC 2616 §14.24: "The server
    MUST use the strong comparison function"; §13.3.3: "in order to be considered equal, both validators MUST
    be identical in every way, and both MUST NOT be weak". So If-Match: W/"<etag>" fails (412)."""
    def check(res):
        create(client, res, "doc", ORIGINAL)
        current = etag_of(client, res, "doc")
        assert_error(put(client, res, "doc", SENT, headers={"If-Match": "W/" + current}), 412)
        assert fetch(client, res, "doc").content == ORIGINAL

    each(RESOURCES, check)


def test_conflict_response_explains_how_to_resolve_it(client):
    """§3.1: the 409 "MUST return a response explaining that the Learning Record Provider SHOULD check the
    current state of the resource [and] set the "If-Match" header with the current ETag"."""
    cases = [(ACTIVITY_PROFILE, "1.0.3"), (AGENT_PROFILE, "1.0.3"),
             (STATE, "2.0.0"), (ACTIVITY_PROFILE, "2.0.0"), (AGENT_PROFILE, "2.0.0")]

    def check(case):
        res, version = case
        doc_id = f"conflict-{version}"
        create(client, res, doc_id, ORIGINAL)
        body = assert_error(put(client, res, doc_id, SENT, headers={"X-Experience-API-Version": version}), 409)
        assert "If-Match" in body["message"] and "ETag" in body["message"], body
        assert fetch(client, res, doc_id).content == ORIGINAL

    each(cases, check)


def test_state_put_without_headers_overwrites_under_1_0_3(client):
    """§3.1: "The State Resource will permit PUT, POST and DELETE requests without concurrency headers"."""
    create(client, STATE, "doc", ORIGINAL)
    response = put(client, STATE, "doc", b"replaced", "text/plain")
    assert response.status_code == 204, response.text
    assert stored(client, STATE, "doc")[:2] == (b"replaced", "text/plain")


# -- State: registration, multiple-document DELETE, agent matching ---------------------------

REG_1 = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
REG_2 = "0f8fad5b-d9cb-469f-a165-70867728950e"
REG_3 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_state_registration_is_part_of_the_document_key(client):
    """§2.3: the document "that exists in the context of the specified Activity, Agent, and registration (if
    specified)"; XAPI-00218, XAPI-00220, XAPI-00227, XAPI-00219."""
    create(client, STATE, "s", b"no registration", "text/plain")
    create(client, STATE, "s", b"registration 1", "text/plain", registration=REG_1)
    create(client, STATE, "s", b"registration 2", "text/plain", registration=REG_2)
    assert stored(client, STATE, "s")[0] == b"no registration"
    assert stored(client, STATE, "s", registration=REG_1)[0] == b"registration 1"
    assert stored(client, STATE, "s", registration=REG_2)[0] == b"registration 2"
    assert fetch(client, STATE, "s", registration=REG_3) is None

    assert post(client, STATE, "m", {"x": 1}, registration=REG_1).status_code == 204
    assert post(client, STATE, "m", {"y": 2}, registration=REG_1).status_code == 204
    assert fetch(client, STATE, "m", registration=REG_1).json() == {"x": 1, "y": 2}
    assert fetch(client, STATE, "m") is None

    assert delete(client, STATE, "s", registration=REG_1).status_code == 204
    assert fetch(client, STATE, "s", registration=REG_1) is None
    assert stored(client, STATE, "s")[0] == b"no registration"
    assert stored(client, STATE, "s", registration=REG_2)[0] == b"registration 2"


def test_state_ids_without_registration_cover_every_registration(client):
    """§2.3 Multiple Document GET: "all state data for this context (Activity + Agent [ + registration if
    specified])"; XAPI-00193, XAPI-00220."""
    create(client, STATE, "a")
    create(client, STATE, "b", registration=REG_1)
    create(client, STATE, "c", registration=REG_2)
    create(client, STATE, "d", registration=REG_1)
    create(client, STATE, "x", activityId=OTHER_ACTIVITY)
    create(client, STATE, "y", agent=OTHER_AGENT)
    assert ids(client, STATE) == ["a", "b", "c", "d"]
    assert ids(client, STATE, registration=REG_1) == ["b", "d"]
    assert ids(client, STATE, registration=REG_2) == ["c"]
    assert ids(client, STATE, registration=REG_3) == []
    # An id used with and without a registration is one id in the list ("Array of State id(s)").
    create(client, STATE, "a", registration=REG_2)
    assert ids(client, STATE) == ["a", "b", "c", "d"]


def test_state_ids_since_with_registration(client):
    def older():
        create(client, STATE, "old", registration=REG_1)

    def newer():
        create(client, STATE, "new", registration=REG_1)
        create(client, STATE, "new-elsewhere", registration=REG_2)

    mark = moment_between(older, newer)
    assert ids(client, STATE, registration=REG_1, since=mark) == ["new"]
    assert ids(client, STATE, since=mark) == ["new", "new-elsewhere"]


def test_state_delete_without_state_id_deletes_the_context(client):
    """§2.3 Multiple Document DELETE: "Deletes all state data for this context (Activity + Agent [+ registration
    if specified])", 204; XAPI-00187, XAPI-00194."""
    create(client, STATE, "a")
    create(client, STATE, "b", registration=REG_1)
    create(client, STATE, "c", registration=REG_2)
    create(client, STATE, "x", activityId=OTHER_ACTIVITY)
    create(client, STATE, "y", agent=OTHER_AGENT)

    response = delete(client, STATE, registration=REG_1)
    assert response.status_code == 204, response.text
    assert ids(client, STATE) == ["a", "c"]

    response = delete(client, STATE)
    assert response.status_code == 204, response.text
    assert ids(client, STATE) == []
    assert ids(client, STATE, activityId=OTHER_ACTIVITY) == ["x"]
    assert ids(client, STATE, agent=OTHER_AGENT) == ["y"]
    assert delete(client, STATE).status_code == 204  # nothing left: still 204


def test_state_delete_with_since_deletes_only_newer_documents(client):
    """XAPI-00223: "An LRS's State API can process a DELETE request with "since" as a parameter"."""
    def older():
        create(client, STATE, "old")

    def newer():
        create(client, STATE, "new")
        create(client, STATE, "new-reg", registration=REG_1)

    mark = moment_between(older, newer)
    response = delete(client, STATE, since=mark)
    assert response.status_code == 204, response.text
    assert ids(client, STATE) == ["old"]


def test_state_delete_with_state_id_ignores_since(client):
    """XAPI-00191: "There is no requirement here that the LRS reacts to the "since" parameter in the case of a
    DELETE request with valid "stateId"" (the document is deleted)."""
    create(client, STATE, "doc")
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert delete(client, STATE, "doc", since=future).status_code == 204
    assert fetch(client, STATE, "doc") is None


def list_etag(client, res: Resource, **extra: Any) -> str:
    """The ETag of the multiple-document GET with these parameters."""
    response = get(client, res, **extra)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def test_state_delete_without_state_id_honours_if_match(client):
    """xAPI 2.0 §4.1.4 (1.0.3 §3.1): on a DELETE the LRS "shall handle the If-Match header as described in
    RFC2616 ... if the header precondition fails, shall return 412 and shall not make a modification". The
    multiple-document DELETE is checked against what the GET with the same parameters returns (its ETag);
    If-Match: * needs at least one document."""
    create(client, STATE, "a")
    create(client, STATE, "b", registration=REG_1)
    create(client, STATE, "c", registration=REG_2)
    everything = list_etag(client, STATE)
    reg_1 = list_etag(client, STATE, registration=REG_1)
    create(client, STATE, "d")  # the list changes: the ETag read before is stale
    stale = [everything, f'"{sha1(b"other")}"', "W/" + list_etag(client, STATE), reg_1]

    def check(tag):
        assert_error(delete(client, STATE, headers={"If-Match": tag}), 412)
        assert ids(client, STATE) == ["a", "b", "c", "d"]

    each(stale, check)
    # the ETag of the list with the same parameters (registration, since) matches
    assert delete(client, STATE, registration=REG_1, headers={"If-Match": reg_1}).status_code == 204
    assert ids(client, STATE) == ["a", "c", "d"]
    mark = moment_between(lambda: None, lambda: create(client, STATE, "e"))
    assert_error(delete(client, STATE, since=mark, headers={"If-Match": list_etag(client, STATE)}), 412)
    response = delete(client, STATE, since=mark, headers={"If-Match": list_etag(client, STATE, since=mark)})
    assert response.status_code == 204, response.text
    assert ids(client, STATE) == ["a", "c", "d"]
    assert delete(client, STATE, headers={"If-Match": f'"{sha1(b"x")}", {list_etag(client, STATE)}'}).status_code == 204
    assert ids(client, STATE) == []
    # If-Match: * needs a document to match
    assert_error(delete(client, STATE, headers={"If-Match": "*"}), 412)
    create(client, STATE, "f")
    assert_error(delete(client, STATE, registration=REG_1, headers={"If-Match": "*"}), 412)
    assert delete(client, STATE, headers={"If-Match": "*"}).status_code == 204
    assert ids(client, STATE) == []


def test_state_delete_without_state_id_honours_if_none_match(client):
    """RFC 2616 §14.26: If-None-Match: * fails when any document exists, and an ETag fails when it is the
    current one of the list; a failed precondition is 412 and deletes nothing."""
    create(client, STATE, "a")
    create(client, STATE, "b", registration=REG_1)
    for tag in ("*", list_etag(client, STATE), "W/" + list_etag(client, STATE)):
        assert_error(delete(client, STATE, headers={"If-None-Match": tag}), 412)
        assert ids(client, STATE) == ["a", "b"]
    assert_error(delete(client, STATE, registration=REG_1, headers={"If-None-Match": "*"}), 412)
    assert ids(client, STATE) == ["a", "b"]
    # no document in the context of the request: If-None-Match: * holds (and nothing is deleted)
    assert delete(client, STATE, registration=REG_2, headers={"If-None-Match": "*"}).status_code == 204
    assert ids(client, STATE) == ["a", "b"]
    stale = list_etag(client, STATE, registration=REG_1)
    response = delete(client, STATE, headers={"If-None-Match": stale})
    assert response.status_code == 204, response.text
    assert ids(client, STATE) == []


def test_agent_parameter_is_matched_by_its_identifier(client):
    """Agents are the same when they have the same IFI (Data §2.4.2.1): name and objectType do not matter."""
    variants = [
        {"mbox": "mailto:doc@example.com"},
        {"objectType": "Agent", "mbox": "mailto:doc@example.com"},
        {"name": "Someone", "mbox": "mailto:doc@example.com"},
        {"objectType": "Agent", "name": "Other Name", "mbox": "mailto:doc@example.com"},
    ]
    for res in (STATE, AGENT_PROFILE):
        create(client, res, "doc", b"contents", "text/plain", agent=variants[0])

    def check(case):
        res, variant = case
        assert stored(client, res, "doc", agent=variant)[0] == b"contents"
        assert ids(client, res, agent=variant) == ["doc"]

    each([(res, variant) for res in (STATE, AGENT_PROFILE) for variant in variants], check)
    for res in (STATE, AGENT_PROFILE):
        assert delete(client, res, "doc", agent=variants[3]).status_code == 204
        assert fetch(client, res, "doc", agent=variants[0]) is None, res


def test_every_kind_of_agent_identifier_keys_documents(client):
    agents = [
        {"mbox": "mailto:one@example.com"},
        {"mbox_sha1sum": sha1(b"mailto:two@example.com")},
        {"openid": "http://openid.example.com/three"},
        {"account": {"homePage": "http://lms.example.com", "name": "four"}},
        {"account": {"homePage": "http://lms.example.com", "name": "five"}},
        {"account": {"homePage": "http://other.example.com", "name": "four"}},
    ]
    cases = [(res, index) for res in (STATE, AGENT_PROFILE) for index in range(len(agents))]
    for res, index in cases:
        create(client, res, "doc", f"agent {index}", "text/plain", agent=agents[index])

    def check(case):
        res, index = case
        assert stored(client, res, "doc", agent=agents[index])[0] == f"agent {index}".encode()
        assert ids(client, res, agent=agents[index]) == ["doc"]

    each(cases, check)


# -- parameter validation -------------------------------------------------------------------
# Each refusal is a 400 whose JSON body's "path" names the parameter; a refused write stores nothing
# (XAPI-00182: "An LRS makes no modifications to stored data for any rejected request").

METHODS = ("GET", "PUT", "POST", "DELETE")


def required_params(res: Resource, method: str) -> list[str]:
    names = list(res.context)
    if method in ("PUT", "POST") or (method == "DELETE" and res is not STATE):
        names.append(res.id_param)
    return names


def send(client, method: str, res: Resource, query: Any, headers: dict[str, str] | None = None):
    if method in ("PUT", "POST"):
        return client.request(method, res.path, params=query, content=b'{"x": 1}',
                              headers={"Content-Type": JSON, **(headers or {})})
    return client.request(method, res.path, params=query, headers=headers or {})


def assert_nothing_stored(client) -> None:
    for res in RESOURCES:
        assert ids(client, res) == [], res


def test_missing_required_parameter_returns_400(client):
    """State: XAPI-00206..XAPI-00215; Agent Profile: XAPI-00261..XAPI-00267; Activity Profile: XAPI-00296..XAPI-00302."""
    cases = [(res, method, name) for res in RESOURCES for method in METHODS for name in required_params(res, method)]

    def check(case):
        res, method, name = case
        assert_param_error(send(client, method, res, params(res, "doc", **{name: None})), name)

    each(cases, check)
    assert_nothing_stored(client)


BAD_AGENTS = [
    "mailto:doc@example.com",                                          # not JSON
    "{not json",
    '"mailto:doc@example.com"',                                        # JSON, not an object
    '[{"mbox": "mailto:doc@example.com"}]',
    "{}",                                                              # no IFI
    '{"name": "No Identifier"}',
    '{"mbox": "mailto:doc@example.com", "openid": "http://openid.example.com/doc"}',  # two IFIs
    '{"mbox": "doc@example.com"}',                                     # mbox not a mailto IRI
    '{"account": {"homePage": "http://lms.example.com"}}',             # incomplete account
    '{"objectType": "Group", "mbox": "mailto:group@example.com"}',     # a Group, not an Agent
    '{"objectType": "Group", "member": [{"mbox": "mailto:doc@example.com"}]}',
    '{"objectType": "Person", "mbox": ["mailto:doc@example.com"]}',
]


def test_agent_parameter_that_is_not_an_agent_returns_400(client):
    """State: "agent" not in JSON format is a 400 (XAPI-00196..XAPI-00199); Agent Profile: "agent" not an Agent
    Object is a 400 (XAPI-00255..XAPI-00258); §2.6 "The "agent" parameter is an Agent Object and not a Group";
    Activity Profile GET: XAPI-00304 ("agent" not in JSON format)."""
    cases = [(res, method, raw) for res in (STATE, AGENT_PROFILE) for method in METHODS for raw in BAD_AGENTS]
    cases += [(ACTIVITY_PROFILE, "GET", raw) for raw in BAD_AGENTS[:4]]

    def check(case):
        res, method, raw = case
        doc_id = None if res is ACTIVITY_PROFILE else "doc"
        assert_param_error(send(client, method, res, {**params(res, doc_id), "agent": raw}), "agent")

    each(cases, check)
    assert_nothing_stored(client)


def test_state_registration_that_is_not_a_uuid_returns_400(client):
    """XAPI-00200..XAPI-00203."""
    bad_values = ("not-a-uuid", "", "12345", REG_1[:-1], REG_1 + "0", "{" + REG_1 + "}")
    cases = [(method, doc_id, bad) for method in METHODS for doc_id in ("doc", None) for bad in bad_values
             if doc_id or method in ("GET", "DELETE")]

    def check(case):
        method, doc_id, bad = case
        assert_param_error(send(client, method, STATE, params(STATE, doc_id, registration=bad)), "registration")

    each(cases, check)
    assert_nothing_stored(client)


def test_since_that_is_not_a_timestamp_returns_400(client):
    """State: XAPI-00204 (GET), XAPI-00205 (DELETE); Agent Profile: XAPI-00260; Activity Profile: XAPI-00295."""
    bad_values = ("yesterday", "", "2024-13-01T00:00:00Z", "1700000000", "2024-01-01T00:00:00-00:00")
    cases = [(res, method, bad) for res in RESOURCES for method in (("GET", "DELETE") if res is STATE else ("GET",))
             for bad in bad_values]
    for res in RESOURCES:
        create(client, res, "doc")

    def check(case):
        res, method, bad = case
        assert_param_error(send(client, method, res, params(res, since=bad)), "since")

    each(cases, check)
    for res in RESOURCES:
        assert ids(client, res) == ["doc"], res


def test_activity_id_that_is_not_an_iri_returns_400(client):
    bad_values = ("not an iri", "", "activity-1", "/relative/path")
    cases = [(res, method, bad) for res in (STATE, ACTIVITY_PROFILE) for method in METHODS for bad in bad_values]

    def check(case):
        res, method, bad = case
        assert_param_error(send(client, method, res, params(res, "doc", activityId=bad)), "activityId")

    each(cases, check)
    assert_nothing_stored(client)


def test_unknown_parameter_returns_400(client):
    """xAPI 2.0: the LRS "shall reject with 400 any parameter it does not recognise"."""
    cases = [(res, method, name) for res in RESOURCES for method in METHODS
             for name in ("foo", "limit", "statementId")]
    cases += [(ACTIVITY_PROFILE, method, "agent") for method in ("PUT", "POST", "DELETE")]
    cases += [(AGENT_PROFILE, method, "activityId") for method in METHODS]
    cases += [(res, method, "since") for res in RESOURCES for method in ("PUT", "POST")]

    def check(case):
        res, method, name = case
        value = {"agent": AGENT, "activityId": ACTIVITY, "since": "2000-01-01T00:00:00Z"}.get(name, "1")
        assert_param_error(send(client, method, res, params(res, "doc", **{name: value})), name)

    each(cases, check)
    assert_nothing_stored(client)


def test_parameter_in_the_wrong_case_returns_400(client):
    """xAPI 2.0: reject "any parameter that matches a spec parameter in all but case" (cf. XAPI-00325)."""
    cases = []
    for res in RESOURCES:
        for method in METHODS:
            for name in [*res.context, res.id_param]:
                for wrong in {name[0].upper() + name[1:], name.lower(), name.upper()} - {name}:
                    cases.append((res, method, name, wrong))

    def check(case):
        res, method, name, wrong = case
        query = params(res, "doc")
        query[wrong] = query.pop(name)
        assert_param_error(send(client, method, res, query), wrong)

    each(cases, check)
    assert_nothing_stored(client)


def test_empty_document_id_returns_400(client):
    """The id is "Set by Learning Record Provider" (§2.2): an empty stateId / profileId names no document."""
    def check(case):
        res, method = case
        assert_param_error(send(client, method, res, params(res, "")), res.id_param)

    each([(res, method) for res in RESOURCES for method in METHODS], check)
    assert_nothing_stored(client)


def test_repeated_parameter_returns_400(client):
    """A parameter given twice is ambiguous (which document was meant?): 400 naming it, and nothing stored or
    deleted, rather than taking the last value (PUT ...&stateId=first&stateId=second stored "second")."""
    create(client, STATE, "doc")
    seconds = {"activityId": OTHER_ACTIVITY, "agent": json.dumps(OTHER_AGENT), "registration": REG_2,
               "stateId": "second", "profileId": "second", "since": "2000-01-01T00:00:00Z"}
    cases = []
    for res in RESOURCES:
        for method in METHODS:
            names = [*res.context, res.id_param]
            if res is STATE:
                names.append("registration")
            if method == "GET" or (res is STATE and method == "DELETE"):
                names.append("since")
            for name in names:
                for second in ("same", "other"):
                    cases.append((res, method, name, second))

    def check(case):
        res, method, name, second = case
        query = params(res, "doc", registration=REG_1 if res is STATE else None,
                       since="2000-01-01T00:00:00Z" if name == "since" else None)
        items = [*query.items(), (name, query[name] if second == "same" else seconds[name])]
        assert_param_error(send(client, method, res, items), name)

    each(cases, check)
    assert ids(client, STATE) == ["doc"]
    assert ids(client, ACTIVITY_PROFILE) == [] and ids(client, AGENT_PROFILE) == []


# -- scopes and credentials (Communication §4.2) --------------------------------------------

def attempts(client, res: Resource, auth) -> dict[str, Any]:
    """One request of each kind on ``res`` with ``auth``; the responses by name."""
    return {
        "GET one": client.get(res.path, params=params(res, "doc"), auth=auth),
        "GET ids": client.get(res.path, params=params(res), auth=auth),
        "PUT": client.put(res.path, params=params(res, "doc"), content=b'{"new": 1}',
                          headers={"Content-Type": JSON, "If-Match": f'"{sha1(ORIGINAL)}"'}, auth=auth),
        "POST": client.post(res.path, params=params(res, "doc"), content=b'{"new": 1}',
                            headers={"Content-Type": JSON}, auth=auth),
        "DELETE": client.delete(res.path, params=params(res, "doc"), auth=auth),
    }


def test_scopes_decide_which_document_resources_a_credential_may_use(client, credential):
    """XAPI-00327: 403 when the credential's scopes do not allow the request. "state" allows the State
    Resource, "profile" the two profile resources, "all/read" reads only."""
    grants = {
        ("statements/write",): {STATE: set(), ACTIVITY_PROFILE: set(), AGENT_PROFILE: set()},
        ("state",): {STATE: {"GET one", "GET ids", "PUT", "POST", "DELETE"}, ACTIVITY_PROFILE: set(),
                     AGENT_PROFILE: set()},
        ("profile",): {STATE: set(), ACTIVITY_PROFILE: {"GET one", "GET ids", "PUT", "POST", "DELETE"},
                       AGENT_PROFILE: {"GET one", "GET ids", "PUT", "POST", "DELETE"}},
        ("all/read",): {res: {"GET one", "GET ids"} for res in RESOURCES},
    }
    cases = [(scopes, res) for scopes in grants for res in RESOURCES]
    auths = {scopes: credential(*scopes) for scopes in grants}

    def check(case):
        scopes, res = case
        # a fresh document each time, so that writes allowed by an earlier case do not change what this sees
        assert delete(client, res, "doc").status_code == 204
        create(client, res, "doc", ORIGINAL)
        allowed = grants[scopes][res]
        for name, response in attempts(client, res, auths[scopes]).items():
            if name in allowed:
                assert response.status_code in (200, 204), f"{name}: {response.status_code} {response.text}"
            else:
                assert_error(response, 403)
        if not allowed & {"PUT", "POST", "DELETE"}:
            assert fetch(client, res, "doc").content == ORIGINAL  # refused writes change nothing

    each(cases, check)


def test_document_requests_without_credentials_return_401(client):  # XAPI-00334
    def check(res):
        create(client, res, "doc", ORIGINAL)
        for name, response in attempts(client, res, None).items():
            assert_error(response, 401)
            assert response.headers.get("www-authenticate", "").lower().startswith("basic"), name
        assert_error(client.get(res.path, params=params(res, "doc"), auth=("admin-key", "wrong")), 401)
        assert fetch(client, res, "doc").content == ORIGINAL

    each(RESOURCES, check)


# -- the Alternate Request Syntax (§1.3) ------------------------------------------------------

def alternate(client, res: Resource, method: str, fields: dict[str, Any]):
    """POST <resource>?method=<method> with ``fields`` (dicts JSON-encoded) as a form body, no other credentials."""
    body = urlencode(encode_params(fields)).encode()
    return client.post(f"{res.path}?{urlencode({'method': method})}", content=body, auth=None,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def form_headers() -> dict[str, str]:
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}


def test_state_put_through_the_alternate_syntax(client):
    """§1.3: "POST ...?method=PUT" with the parameters, headers and content as form fields."""
    fields = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "alt", "content": "héllo as text",
              "Content-Type": "text/plain", **form_headers()}
    response = alternate(client, STATE, "PUT", fields)
    assert response.status_code == 204, response.text
    assert stored(client, STATE, "alt")[:2] == ("héllo as text".encode(), "text/plain")


@each_resource
def test_document_methods_through_the_alternate_syntax(client, res):
    context = {**res.context, **form_headers()}
    doc = {res.id_param: "alt"}
    response = alternate(client, res, "PUT", {**context, **doc, "content": '{"x": 1}', "Content-Type": JSON,
                                              "If-None-Match": "*"})
    assert response.status_code == 204, response.text
    response = alternate(client, res, "POST", {**context, **doc, "content": '{"y": 2}', "Content-Type": JSON})
    assert response.status_code == 204, response.text
    response = alternate(client, res, "GET", {**context, **doc})
    assert response.status_code == 200, response.text
    assert response.json() == {"x": 1, "y": 2}
    current = response.headers["etag"]
    response = alternate(client, res, "PUT", {**context, **doc, "content": '{"z": 3}', "Content-Type": JSON,
                                              "If-Match": f'"{sha1(b"stale")}"'})
    assert_error(response, 412)
    response = alternate(client, res, "GET", context)
    assert response.status_code == 200 and response.json() == ["alt"], response.text
    response = alternate(client, res, "DELETE", {**context, **doc, "If-Match": current})
    assert response.status_code == 204, response.text
    assert fetch(client, res, "alt") is None
