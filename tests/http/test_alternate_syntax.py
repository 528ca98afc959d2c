"""The Alternate Request Syntax (Communication §1.3, Appendix C): POST ...?method=X with a form body
carrying headers, parameters and content. XAPI-00336, XAPI-00148."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

from tests.conftest import ADMIN, new_id
from tests.http.helpers import STATEMENTS, assert_error, get_statement, ids_of, store

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def alternate(client, method: str, fields: dict, *, query: str | None = None, headers: dict | None = None):
    """POST /statements?method=<method> with ``fields`` url-encoded as the body (no credentials of its own)."""
    target = f"{STATEMENTS}?{query if query is not None else urlencode({'method': method})}"
    return client.post(target, content=urlencode(fields).encode(), headers={**FORM, **(headers or {})})


def with_headers(**fields):
    return {"Authorization": basic(*ADMIN), "X-Experience-API-Version": "1.0.3", **fields}


def test_put_through_the_alternate_syntax(bare_client, statement):  # Appendix C
    client = bare_client
    sid = new_id()
    body = statement(id=sid, timestamp="2014-12-29T12:09:37.468Z")
    content = json.dumps(body)
    response = alternate(client, "PUT", with_headers(
        statementId=sid, **{"Content-Type": "application/json", "Content-Length": str(len(content))}, content=content))
    assert response.status_code == 204, response.text
    got = client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN, headers={"X-Experience-API-Version": "1.0.3"})
    assert got.status_code == 200
    assert got.json()["actor"] == body["actor"]


def test_post_through_the_alternate_syntax(bare_client, statement):
    client = bare_client
    ids = [new_id(), new_id()]
    content = json.dumps([statement(id=ids[0]), statement(id=ids[1])])
    response = alternate(client, "POST", with_headers(**{"Content-Type": "application/json"}, content=content))
    assert response.status_code == 200, response.text
    assert response.json() == ids


def test_get_through_the_alternate_syntax(client, statement):  # XAPI-00148
    sid = new_id()
    store(client, statement(id=sid), statement())
    response = alternate(client, "GET", {"statementId": sid}, headers={})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == sid
    response = alternate(client, "GET", {"limit": "1", "format": "ids"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["statements"]) == 1 and body["more"]
    assert "name" not in body["statements"][0]["actor"]


def test_get_through_the_alternate_syntax_with_headers_in_the_form(bare_client, statement):
    client = bare_client
    response = alternate(client, "GET", with_headers(verb="http://adlnet.gov/expapi/verbs/experienced"))
    assert response.status_code == 200, response.text
    assert response.json()["statements"] == []
    assert "X-Experience-API-Consistent-Through" in response.headers


def test_head_through_the_alternate_syntax(client, statement):
    sid = new_id()
    store(client, statement(id=sid))
    response = alternate(client, "HEAD", {"statementId": sid})
    assert response.status_code == 200
    assert response.content == b""
    # the answer of a POST: a Content-Length other than 0 would leave the client waiting for a body
    assert response.headers.get("content-length", "0") == "0"
    assert response.headers["content-type"].startswith("application/json")


def test_alternate_syntax_without_a_form_content_type(bare_client, statement):
    """§1.3.s3.b9: the form Content-Type is SHOULD* for the client; XDomainRequest, which this syntax is
    for, sends none or text/plain. The body is still read as a form."""
    for content_type in (None, "text/plain", "text/plain; charset=UTF-8"):
        sid = new_id()
        fields = with_headers(statementId=sid, content=json.dumps(statement(id=sid)), **{"Content-Type": "application/json"})
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = bare_client.post(f"{STATEMENTS}?method=PUT", content=urlencode(fields).encode(), headers=headers)
        assert response.status_code == 204, (content_type, response.text)
        got = bare_client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN,
                              headers={"X-Experience-API-Version": "1.0.3"})
        assert got.status_code == 200 and got.json()["id"] == sid
    response = bare_client.post(f"{STATEMENTS}?method=GET", content=json.dumps(with_headers()).encode(),
                                headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_alternate_syntax_content_is_utf8(bare_client, statement):  # Communication §1.3 "interpret as UTF-8"
    client = bare_client
    sid = new_id()
    content = json.dumps(statement(id=sid, actor={"name": "Zoë 日本語", "mbox": "mailto:zoe@example.com"}),
                         ensure_ascii=False)
    response = alternate(client, "PUT", with_headers(statementId=sid, **{"Content-Type": "application/json"}, content=content))
    assert response.status_code == 204, response.text
    got = client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN, headers={"X-Experience-API-Version": "1.0.3"})
    assert got.json()["actor"]["name"] == "Zoë 日本語"


def test_alternate_syntax_with_wrong_credentials_in_the_form_returns_401(bare_client, statement):
    client = bare_client
    fields = with_headers(content=json.dumps(statement()), **{"Content-Type": "application/json"})
    fields["Authorization"] = basic(ADMIN[0], "wrong")
    assert_error(alternate(client, "POST", fields), 401)
    del fields["Authorization"]
    assert_error(alternate(client, "POST", fields), 401)


def test_alternate_syntax_without_version_returns_400(bare_client, statement):
    fields = with_headers(content=json.dumps(statement()), **{"Content-Type": "application/json"})
    del fields["X-Experience-API-Version"]
    assert_error(alternate(bare_client, "POST", fields), 400)


def test_alternate_syntax_with_other_query_parameters_returns_400(client, statement):  # Communication §1.3
    sid = new_id()
    response = alternate(client, "PUT", {"content": json.dumps(statement())},
                         query=urlencode({"method": "PUT", "statementId": sid}))
    assert_error(response, 400)
    assert_error(client.get(STATEMENTS, params={"statementId": sid}), 404)


def test_alternate_syntax_with_unknown_method_returns_400(client):
    assert_error(alternate(client, "PATCH", {}), 400)
    assert_error(alternate(client, "FOO", {}), 400)


def test_alternate_syntax_with_unknown_form_parameter_returns_400(client, statement):  # Communication §3.2
    response = alternate(client, "GET", {"bogus": "1"})
    assert_error(response, 400)
    response = alternate(client, "PUT", {"statementId": new_id(), "Statementid": new_id(),
                                          "content": json.dumps(statement())})
    assert_error(response, 400)


def test_alternate_syntax_put_without_statement_id_returns_400(client, statement):
    assert_error(alternate(client, "PUT", {"content": json.dumps(statement()), "Content-Type": "application/json"}), 400)
    assert ids_of(client) == []


def test_alternate_syntax_with_invalid_content_returns_400(client):
    assert_error(alternate(client, "POST", {"content": "{not json", "Content-Type": "application/json"}), 400)
    assert_error(alternate(client, "POST", {"content": '{"actor": 1}', "Content-Type": "application/json"}), 400)


def test_method_parameter_on_a_get_returns_400(client):  # not POST: 'method' is then an unknown parameter
    assert_error(client.get(STATEMENTS, params={"method": "GET"}), 400)


def test_alternate_syntax_conflict_returns_409(client, statement):
    sid = new_id()
    store(client, statement(id=sid))
    response = alternate(client, "PUT", {"statementId": sid, "Content-Type": "application/json",
                                          "content": json.dumps(statement(result={"success": False}))})
    assert_error(response, 409)
    assert "result" not in get_statement(client, sid)


def test_alternate_syntax_accepts_a_form_content_type_with_charset(client, statement):  # what browsers send
    sid = new_id()
    response = alternate(client, "PUT", {"statementId": sid, "Content-Type": "application/json",
                                          "content": json.dumps(statement())},
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert response.status_code == 204, response.text
    assert get_statement(client, sid)["id"] == sid


def test_from_another_site_only_the_form_s_own_credentials_count(bare_client, statement):
    # A browser adds Basic credentials it remembers to a form another site makes it POST: with the
    # alternate syntax that was a cross-site request forgery (found by a black-box probe).
    client = bare_client

    def stored() -> int:
        answer = client.get(STATEMENTS, auth=ADMIN, headers={"X-Experience-API-Version": "1.0.3"})
        return len(answer.json()["statements"])

    fields = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
              "content": json.dumps(statement())}
    remembered = {"Authorization": basic(*ADMIN)}
    evil = {**remembered, "Origin": "https://evil.example"}
    assert_error(alternate(client, "POST", fields, headers=evil), 401)
    assert_error(alternate(client, "POST", fields, headers={**remembered, "Origin": "null"}), 401)
    for broken in ("http://[", "http://a]b"):  # no URL at all: was a 500 (found by a 5xx hunt)
        assert_error(alternate(client, "POST", fields, headers={**remembered, "Origin": broken}), 401)
    assert stored() == 0
    assert alternate(client, "POST", {**fields, "Authorization": basic(*ADMIN)}, headers=evil).status_code == 200
    # the same site, and clients that are not browsers (no Origin), as before
    same = {**remembered, "Origin": "http://testserver"}
    assert alternate(client, "POST", {**fields, "content": json.dumps(statement())}, headers=same).status_code == 200
    assert alternate(client, "POST", {**fields, "content": json.dumps(statement())}, headers=remembered).status_code == 200
    assert stored() == 3


STATE = "/xapi/activities/state"


def test_a_document_read_through_a_cross_site_form_cannot_run_as_a_page_of_the_lrs(bare_client, credential):
    # A credential with `state` (a game's) stored a text/html document; a page of another site then made a
    # visitor's browser POST a form ?method=GET carrying that credential: the answer was the document,
    # as text/html, rendered as a page of the LRS's origin (its script could read /admin with the Basic
    # credentials the browser remembers there). Every answer now forbids scripts, sniffing and framing.
    game = credential("statements/write", "state")
    params = {"activityId": "http://example.com/a", "agent": '{"mbox": "mailto:x@example.com"}', "stateId": "s"}
    stored = bare_client.put(STATE, params=params, content=b"<script>alert(document.domain)</script>", auth=game,
                             headers={"X-Experience-API-Version": "1.0.3", "Content-Type": "text/html"})
    assert stored.status_code == 204, stored.text
    fields = {"Authorization": basic(*game), "X-Experience-API-Version": "1.0.3", **params}
    response = bare_client.post(f"{STATE}?method=GET", content=urlencode(fields).encode(),
                                headers={**FORM, "Origin": "https://evil.example"})
    assert response.status_code == 200 and response.content.startswith(b"<script>")
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = {d.strip().split(" ")[0]: d.strip() for d in response.headers["content-security-policy"].split(";")}
    assert policy["sandbox"] == "sandbox" and policy["default-src"] == "default-src 'none'", policy
    assert policy["frame-ancestors"] == "frame-ancestors 'none'", policy
    for answer in (bare_client.get("/xapi/about"), bare_client.get(STATE, params=params)):  # (a 401 too)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in answer.headers["content-security-policy"]


def test_alternate_syntax_content_that_is_not_utf8_is_400(bare_client, statement):
    # §1.3.s3.b5: the LRS MUST interpret the content as UTF-8; %FF is no UTF-8, so nothing is stored
    sid = new_id()
    body = (urlencode(with_headers(statementId=sid, **{"Content-Type": "application/json"}))
            + "&content=" + json.dumps(statement(id=sid, actor={"name": "X", "mbox": "mailto:x@example.com"}))
            .replace('"X"', '"%FF"').replace("&", "%26"))
    response = bare_client.post(f"{STATEMENTS}?method=PUT", content=body.encode(), headers=FORM)
    assert_error(response, 400)
    got = bare_client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN, headers={"X-Experience-API-Version": "1.0.3"})
    assert_error(got, 404)
    document = urlencode(with_headers(activityId="http://example.com/a", agent='{"mbox": "mailto:x@example.com"}',
                                      stateId="s")) + "&content=caf%E9"
    assert_error(bare_client.post(f"{STATE}?method=PUT", content=document.encode(), headers=FORM), 400)


def test_a_document_without_a_content_type_field_is_stored_as_sent(bare_client):
    # A form without Content-Type: the document is what a request without the header is (not JSON)
    fields = with_headers(activityId="http://example.com/a", agent='{"mbox": "mailto:x@example.com"}', stateId="s",
                          content="level=3")
    response = bare_client.post(f"{STATE}?method=PUT", content=urlencode(fields).encode(), headers=FORM)
    assert response.status_code == 204, response.text
    got = bare_client.get(STATE, params={k: fields[k] for k in ("activityId", "agent", "stateId")}, auth=ADMIN,
                          headers={"X-Experience-API-Version": "1.0.3"})
    assert got.status_code == 200 and got.content == b"level=3"
    assert not got.headers["content-type"].startswith("application/json"), got.headers


# -- xAPI 2.0: no alternate request syntax -----------------------------------------------------------

def test_v2_requests_cannot_use_the_alternate_syntax(bare_client, statement):
    """9274.1.1 has no Alternate Request Syntax (the 1.0.3 §1.3 text is gone): on a 2.0 request ``method``
    is a parameter the standard does not define, refused with 400 (§4.1.5), whether the version comes as
    a header or as a form field, and nothing is stored (the ADL 2.0 suite: "The LRS does NOT allow
    Alternate Request Syntax in xAPI 2.0")."""
    client = bare_client
    v2 = {"X-Experience-API-Version": "2.0.0"}
    sid = new_id()
    content = json.dumps(statement(id=sid))
    cases = [
        ("PUT", {"statementId": sid, "content": content, "X-Experience-API-Version": "2.0.0"}, v2),
        ("PUT", {"statementId": sid, "content": content, "X-Experience-API-Version": "2.0.0"}, {}),
        ("PUT", {"statementId": sid, "content": content}, v2),
        ("POST", {"content": content}, {"X-Experience-API-Version": "2.0"}),
        ("GET", {}, v2),
        ("HEAD", {}, v2),
    ]
    for method, fields, headers in cases:
        response = alternate(client, method, {"Authorization": basic(*ADMIN), **fields}, headers=headers)
        body = assert_error(response, 400)
        assert body["path"] == "method", (method, fields, headers, body)
        assert response.headers["X-Experience-API-Version"] == "2.0.0"
    for version in ("1.0.3", "2.0.0"):
        got = client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN, headers={"X-Experience-API-Version": version})
        assert got.status_code == 404, got.text
    # also on the document resources
    state = "/xapi/activities/state?" + urlencode({"method": "PUT"})
    fields = {"activityId": "http://example.com/a", "agent": json.dumps({"mbox": "mailto:a@example.com"}),
              "stateId": "s", "content": "{}", "Content-Type": "application/json", "Authorization": basic(*ADMIN)}
    response = client.post(state, content=urlencode(fields).encode(), headers={**FORM, **v2})
    assert_error(response, 400)


def test_1_0_3_requests_keep_the_alternate_syntax(bare_client, statement):
    client = bare_client
    sid = new_id()
    response = alternate(client, "PUT", with_headers(statementId=sid, content=json.dumps(statement(id=sid))))
    assert response.status_code == 204, response.text
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
