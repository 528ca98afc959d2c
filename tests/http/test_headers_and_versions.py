"""Headers and versions: X-Experience-API-Version, Consistent-Through, Last-Modified, Content-Type,
HEAD, parameter names, CORS, and the About resource.

Spec: xAPI 1.0.3 Communication §1.1, §1.2, §2.1.3, §2.8, §3.2, §3.3; 9274.1.1 §4.1.6.1.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.conftest import ADMIN, new_id
from tests.http.helpers import (
    ABOUT,
    STATEMENTS,
    assert_error,
    each,
    ids_of,
    parse_http_date,
    parse_ts,
    query,
    store,
    store_each,
)

BASE = "/xapi"
VERSION = "X-Experience-API-Version"
CONSISTENT = "X-Experience-API-Consistent-Through"
ORIGIN = "https://content.example.org"


# -- X-Experience-API-Version (Communication §3.3) ------------------------------------------------

def test_missing_version_header_returns_400(bare_client, statement):  # XAPI-00321
    client = bare_client
    sid = new_id()
    responses = [
        client.get(STATEMENTS, auth=ADMIN),
        client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN),
        client.post(STATEMENTS, json=statement(), auth=ADMIN),
        client.put(STATEMENTS, params={"statementId": sid}, json=statement(), auth=ADMIN),
    ]
    for response in responses:
        assert_error(response, 400)
        # 1.0.3: the ADL 1.0.3 suite wants a 1.0.x header on this 400 (XAPI-00321); its 2.0 suite takes either
        assert response.headers[VERSION] == "1.0.3"
    assert client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN,
                      headers={VERSION: "1.0.3"}).status_code == 404


def test_every_resource_but_about_refuses_a_request_without_version_header_in_1_0_3(bare_client):  # XAPI-00321
    """The ADL 1.0.3 suite sends GETs without the header to each resource and wants a 400 that says
    1.0.x; its 2.0 suite accepts 1.0.x or 2.0.x there."""
    for resource in ("statements", "activities", "activities/profile", "activities/state", "agents", "agents/profile"):
        response = bare_client.get(f"{BASE}/{resource}", auth=ADMIN)
        assert_error(response, 400)
        assert response.headers[VERSION] == "1.0.3", resource


def test_unsupported_version_header_returns_400(client, statement):  # XAPI-00331, Communication §3.3
    def check(version):
        headers = {VERSION: version}
        assert_error(client.get(STATEMENTS, headers=headers), 400)
        response = client.post(STATEMENTS, json=statement(), headers=headers)
        assert_error(response, 400)
        assert response.headers[VERSION] == "1.0.3"

    each(["0.9", "0.95", "0.9.5", "1.1.0", "1.1", "1", "3.0.0", "1.0.x", "abc", ""], check)
    assert client.get(STATEMENTS).json()["statements"] == []


def test_1_0_and_every_1_0_patch_version_are_accepted(client, statement):  # Communication §3.3
    def check(version):
        headers = {VERSION: version}
        assert client.post(STATEMENTS, json=statement(), headers=headers).status_code == 200
        response = client.get(STATEMENTS, headers=headers)
        assert response.status_code == 200
        assert response.headers[VERSION] == "1.0.3"

    each(["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9"], check)


def test_2_0_0_is_accepted_and_answered_with_2_0_0(client, statement):
    headers = {VERSION: "2.0.0"}
    sid = new_id()
    response = client.post(STATEMENTS, json=statement(id=sid), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers[VERSION] == "2.0.0"
    response = client.get(STATEMENTS, params={"statementId": sid}, headers=headers)
    assert response.status_code == 200
    assert response.headers[VERSION] == "2.0.0"


def test_every_response_carries_the_version_header(bare_client, statement, credential):  # XAPI-00333
    client = bare_client
    v = {VERSION: "1.0.3"}
    reader = credential("statements/read")
    sid = new_id()
    responses = {
        "put 204": client.put(STATEMENTS, params={"statementId": sid}, json=statement(), auth=ADMIN, headers=v),
        "post 200": client.post(STATEMENTS, json=statement(), auth=ADMIN, headers=v),
        "get 200": client.get(STATEMENTS, auth=ADMIN, headers=v),
        "get single 200": client.get(STATEMENTS, params={"statementId": sid}, auth=ADMIN, headers=v),
        "head 200": client.head(STATEMENTS, auth=ADMIN, headers=v),
        "400 bad param": client.get(STATEMENTS, params={"bogus": "1"}, auth=ADMIN, headers=v),
        "400 no version": client.get(STATEMENTS, auth=ADMIN),
        "401": client.get(STATEMENTS, headers=v),
        "403": client.post(STATEMENTS, json=statement(), auth=reader, headers=v),
        "404": client.get(STATEMENTS, params={"statementId": new_id()}, auth=ADMIN, headers=v),
        "409": client.put(STATEMENTS, params={"statementId": sid}, json=statement(result={"success": True}),
                          auth=ADMIN, headers=v),
        "about": client.get(ABOUT),
        "preflight": client.options(STATEMENTS, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}),
    }
    missing = {name: r.status_code for name, r in responses.items() if not re.fullmatch(r"\d+\.\d+\.\d+", r.headers.get(VERSION, ""))}
    assert not missing, f"responses without a valid {VERSION} header: {missing}"
    assert responses["409"].status_code == 409 and responses["403"].status_code == 403


# -- X-Experience-API-Consistent-Through (Communication §2.1.3) -------------------------------------

def test_consistent_through_is_on_every_statement_resource_response(client, statement):  # XAPI-00153, XAPI-00160
    sid = new_id()
    responses = {
        "put": client.put(STATEMENTS, params={"statementId": sid}, json=statement()),
        "post": client.post(STATEMENTS, json=statement()),
        "post 400": client.post(STATEMENTS, json={"actor": 1}),
        "get": client.get(STATEMENTS),
        "get single": client.get(STATEMENTS, params={"statementId": sid}),
        "get 404": client.get(STATEMENTS, params={"statementId": new_id()}),
        "get 400": client.get(STATEMENTS, params={"limit": "x"}),
        "head": client.head(STATEMENTS),
    }
    now = datetime.now(timezone.utc)
    for name, response in responses.items():
        value = response.headers.get(CONSISTENT)
        assert value, f"{name}: no {CONSISTENT}"
        moment = parse_ts(value)  # ISO 8601 combined date and time
        assert abs(moment - now) < timedelta(minutes=1), (name, value)


def test_consistent_through_is_not_before_any_returned_stored(client, statement):  # XAPI-00152
    store_each(client, statement(), statement(), statement())
    response = query(client)
    consistent = parse_ts(response.headers[CONSISTENT])
    for s in response.json()["statements"]:
        assert consistent >= parse_ts(s["stored"]), (response.headers[CONSISTENT], s["stored"])
    sid = response.json()["statements"][0]["id"]
    single = client.get(STATEMENTS, params={"statementId": sid})
    assert parse_ts(single.headers[CONSISTENT]) >= parse_ts(single.json()["stored"])


# -- Last-Modified ---------------------------------------------------------------------------------

def test_last_modified_of_a_single_statement_is_its_stored(client, statement):  # Communication §2.1.3 SHOULD*
    sid = new_id()
    store(client, statement(id=sid))
    response = client.get(STATEMENTS, params={"statementId": sid})
    stored = parse_ts(response.json()["stored"]).replace(microsecond=0)
    assert parse_http_date(response.headers["Last-Modified"]) == stored


def test_last_modified_of_a_statement_result_is_the_latest_stored(client, statement):  # 9274.1.1 §4.1.6.1
    store_each(client, statement(), statement(), statement())
    for headers in ({}, {VERSION: "2.0.0"}):
        response = client.get(STATEMENTS, params={"ascending": "true", "limit": "2"}, headers=headers)
        latest = max(parse_ts(s["stored"]) for s in response.json()["statements"]).replace(microsecond=0)
        assert parse_http_date(response.headers["Last-Modified"]) == latest, headers


# -- Content-Type ----------------------------------------------------------------------------------

def test_get_responses_are_application_json(client, statement):  # XAPI-00165
    sid = new_id()
    store(client, statement(id=sid))
    for params in ({}, {"statementId": sid}, {"format": "ids"}, {"format": "canonical"}):
        response = client.get(STATEMENTS, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0].strip() == "application/json", params


# -- HEAD (Communication §1.1) ------------------------------------------------------------------------

def test_head_of_statements_matches_get_without_a_body(client, statement):  # XAPI-00125, XAPI-00126
    sid = new_id()
    store(client, statement(id=sid))
    for params in ({}, {"statementId": sid}, {"limit": "1", "format": "ids"}):
        got = client.get(STATEMENTS, params=params)
        head = client.head(STATEMENTS, params=params)
        assert head.status_code == got.status_code == 200, params
        assert head.content == b"", params
        for name in ("content-type", VERSION, "Last-Modified"):
            assert head.headers.get(name) == got.headers.get(name), (params, name)
        assert CONSISTENT in head.headers


def test_head_errors_match_get_errors_without_a_body(client):  # XAPI-00125
    cases = [
        ({"statementId": new_id()}, {}, 404),
        ({"limit": "x"}, {}, 400),
        ({"Limit": "1"}, {}, 400),
        ({}, {VERSION: "0.9"}, 400),
    ]

    def check(case):
        params, headers, status = case
        head = client.head(STATEMENTS, params=params, headers=headers)
        assert head.status_code == status and head.content == b"", (head.status_code, head.content)

    each(cases, check)
    unauthenticated = client.head(STATEMENTS, auth=None)
    assert unauthenticated.status_code == 401 and unauthenticated.content == b""


def test_head_of_about(bare_client):
    response = bare_client.head(ABOUT)
    assert response.status_code == 200
    assert response.content == b""


# -- parameter names (Communication §3.2) ----------------------------------------------------------------

def test_unknown_or_wrongly_cased_parameters_return_400(client, statement):  # XAPI-00324, XAPI-00325
    sid = new_id()
    store(client, statement(id=sid))
    cases = [
        {"foo": "bar"},
        {"StatementId": sid},
        {"statementID": sid},
        {"VoidedStatementId": sid},
        {"Limit": "1"},
        {"VERB": "http://adlnet.gov/expapi/verbs/experienced"},
        {"Ascending": "true"},
        {"related_Agents": "true"},
        {"Format": "ids"},
        {"statementId": sid, "Format": "ids"},
        {"limit": "1", "page": "2"},
        {"method": "GET"},
    ]
    each(cases, lambda params: assert_error(client.get(STATEMENTS, params=params), 400))


def test_a_repeated_parameter_is_400(client, statement):  # which of the two was meant?
    for method, url in (("GET", "?limit=1&limit=2"), ("GET", f"?statementId={new_id()}&statementId={new_id()}"),
                        ("PUT", f"?statementId={new_id()}&statementId={new_id()}")):
        body = assert_error(client.request(method, STATEMENTS + url, json=statement() if method == "PUT" else None), 400)
        assert body["path"] in ("limit", "statementId"), body
    assert ids_of(client) == []


# -- CORS (browser-based content) ------------------------------------------------------------------------

def test_preflight_is_answered_without_credentials(bare_client):
    request_headers = "authorization,content-type,x-experience-api-version"
    for path, method in ((STATEMENTS, "PUT"), (STATEMENTS, "POST"), (STATEMENTS, "GET"), (ABOUT, "GET")):
        response = bare_client.options(path, headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": request_headers,
        })
        assert response.status_code in (200, 204), (path, method, response.status_code)
        assert response.headers.get("access-control-allow-origin") in (ORIGIN, "*"), response.headers
        methods = response.headers.get("access-control-allow-methods", "").upper()
        assert method in methods or "*" in methods, (method, methods)
        allowed = response.headers.get("access-control-allow-headers", "").lower()
        for header in ("authorization", "content-type", "x-experience-api-version"):
            assert header in allowed, (header, allowed)


def test_responses_carry_access_control_allow_origin(client, statement):
    origin = {"Origin": ORIGIN}
    responses = {
        "get": client.get(STATEMENTS, headers=origin),
        "post": client.post(STATEMENTS, json=statement(), headers=origin),
        "400": client.get(STATEMENTS, params={"bogus": "1"}, headers=origin),
        "401": client.get(STATEMENTS, headers=origin, auth=None),
        "about": client.get(ABOUT, headers=origin),
    }
    for name, response in responses.items():
        assert response.headers.get("access-control-allow-origin") in (ORIGIN, "*"), name


def test_browser_content_can_read_the_xapi_response_headers(client):
    response = client.get(STATEMENTS, headers={"Origin": ORIGIN})
    exposed = response.headers.get("access-control-expose-headers", "").lower()
    for header in ("x-experience-api-version", "x-experience-api-consistent-through", "last-modified", "etag",
                   "x-lrs-profile-violations"):
        assert header in exposed or exposed == "*", (header, exposed)


# -- About (Communication §2.8) ----------------------------------------------------------------------------

def test_about_needs_neither_credentials_nor_version_header(bare_client):  # XAPI-00315, XAPI-00319
    response = bare_client.get(ABOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["version"], list) and all(isinstance(v, str) for v in body["version"])  # XAPI-00318
    assert {"1.0.3", "2.0.0"} <= set(body["version"])  # XAPI-00317
    assert set(body) <= {"version", "extensions"}, body  # no additional properties outside extensions
    if "extensions" in body:
        assert isinstance(body["extensions"], dict)  # XAPI-00320


def test_about_lists_what_the_client_s_major_version_can_use(bare_client):
    # 1.0.3 §2.8: the latest version of each major version; XAPI-00316: a 1.0.x client may be shown only
    # 0.9, 0.95, 1.0.0 or 1.0.x (TinCanPython and TinCan.NET raise on "2.0.0")
    for version in ("1.0.0", "1.0.1", "1.0.3", "1.0"):
        assert bare_client.get(ABOUT, headers={VERSION: version}).json()["version"] == ["1.0.3"], version
    for headers in ({VERSION: "2.0.0"}, {VERSION: "2.0"}, {}, {VERSION: "0.95"}):
        assert bare_client.get(ABOUT, headers=headers).json()["version"] == ["1.0.3", "2.0.0"], headers


def test_about_ignores_the_version_header_and_accepts_credentials(client):  # Communication §2.8
    for version in ("0.9", "1.1.0", "2.0.0", "1.0.3"):
        assert client.get(ABOUT, headers={VERSION: version}).status_code == 200, version


def test_about_answers_in_the_version_asked_for_else_in_1_0_3(bare_client):
    assert bare_client.get(ABOUT, headers={VERSION: "2.0.0"}).headers[VERSION] == "2.0.0"
    assert bare_client.get(ABOUT, headers={VERSION: "1.0.1"}).headers[VERSION] == "1.0.3"
    assert bare_client.get(ABOUT, headers={VERSION: "0.9"}).headers[VERSION] == "1.0.3"
    assert bare_client.get(ABOUT).headers[VERSION] == "1.0.3"


def test_a_method_no_resource_has_is_405_also_without_credentials(bare_client):  # ADL suite, Communication 3.2
    for path in (STATEMENTS, "/xapi/activities", "/xapi/agents"):
        response = bare_client.delete(path, headers={VERSION: "1.0.3"})
        assert_error(response, 405)
        assert "allow" in response.headers
    assert_error(bare_client.get(STATEMENTS, headers={VERSION: "1.0.3"}), 401)  # a method it has: credentials first


def test_a_method_not_allowed_says_which_are(client):  # RFC 9110 §15.5.6: a 405 carries Allow
    response = client.delete(ABOUT)
    assert_error(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
    response = client.delete(STATEMENTS)
    assert_error(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "PUT", "POST"}


def test_about_with_an_unknown_parameter_returns_400(bare_client):  # XAPI-00324
    assert_error(bare_client.get(ABOUT, params={"foo": "bar"}), 400)
