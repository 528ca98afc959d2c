"""Authentication (HTTP Basic) and the scope table (Communication §4, §4.2, §3.2).

XAPI-00327 (403 for insufficient permissions), XAPI-00334 (401), XAPI-00335 (HTTP Basic).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import pytest

from tests.conftest import ADMIN, new_id
from tests.http.helpers import STATEMENTS, agent, assert_error, each, follow_all, ids_of, ifi, store


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def assert_unauthorized(response):
    assert_error(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("basic"), response.headers


# -- 401 -----------------------------------------------------------------------------------------

def test_missing_credentials_return_401_with_www_authenticate(client, statement):  # XAPI-00334
    assert_unauthorized(client.get(STATEMENTS, auth=None))
    assert_unauthorized(client.post(STATEMENTS, json=statement(), auth=None))
    assert_unauthorized(client.put(STATEMENTS, params={"statementId": new_id()}, json=statement(), auth=None))
    assert ids_of(client) == []


def test_wrong_or_malformed_credentials_return_401(client, statement):  # XAPI-00334, XAPI-00335
    cases = [
        {"auth": (ADMIN[0], "wrong-secret")},
        {"auth": ("no-such-key", ADMIN[1])},
        {"auth": (ADMIN[0], "")},
        {"headers": basic(":")},  # "Basic Og==": we do not allow unauthenticated access
        {"headers": basic(ADMIN[0])},  # no colon
        {"headers": {"Authorization": "Basic !!!not-base64!!!"}},
        {"headers": {"Authorization": "Basic"}},
        {"headers": {"Authorization": "Bearer " + ADMIN[1]}},
        {"headers": {"Authorization": ADMIN[0] + ":" + ADMIN[1]}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()}},
    ]

    def check(kwargs):
        kwargs = {"auth": None, **kwargs}
        assert_unauthorized(client.get(STATEMENTS, **kwargs))
        assert_unauthorized(client.post(STATEMENTS, json=statement(), **kwargs))

    each(cases, check)
    assert ids_of(client) == []


def test_a_refusal_does_not_say_whether_the_key_exists(client, credential):
    # "unknown or revoked credential" against "wrong secret" told which keys exist (a black-box probe)
    key, _ = credential("statements/read")
    answers = [client.get(STATEMENTS, auth=auth) for auth in ((key, "wrong"), ("no-such-key", "wrong"), (ADMIN[0], "x"))]
    for answer in answers:
        assert_unauthorized(answer)
    assert len({a.content for a in answers}) == 1, [a.text for a in answers]


def test_two_authorization_headers_are_400(client):
    # The first one counted: a proxy that checked the other would have been fooled (a black-box probe).
    client.auth = None
    good, bad = basic(":".join(ADMIN))["Authorization"], basic("nobody:nothing")["Authorization"]
    for pair in ((good, bad), (bad, good), (good, good)):
        response = client.get(STATEMENTS, headers=[("Authorization", pair[0]), ("Authorization", pair[1])])
        assert_error(response, 400)
        assert response.json()["path"] == "Authorization"


def test_basic_scheme_is_case_insensitive(client):  # RFC 7235: auth-scheme is case-insensitive
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    assert client.get(STATEMENTS, auth=None, headers={"Authorization": "basic " + token}).status_code == 200


# -- 403 per scope (Communication §4.2) ----------------------------------------------------------

SCOPE_TABLE = [
    # scopes, may read statements, may write statements
    (("statements/write",), False, True),
    (("statements/read",), True, False),
    (("statements/read/mine",), True, False),
    (("all/read",), True, False),
    (("all",), True, True),
    (("state",), False, False),
    (("define",), False, False),
    (("profile",), False, False),
    (("statements/write", "statements/read"), True, True),
]


@pytest.mark.parametrize("scopes, may_read, may_write", SCOPE_TABLE, ids=["+".join(s[0]) for s in SCOPE_TABLE])
def test_scopes_allow_or_forbid_statement_calls(client, statement, credential, scopes, may_read, may_write):  # XAPI-00327
    key = credential(*scopes)
    existing = new_id()
    store(client, statement(id=existing))

    post = client.post(STATEMENTS, json=statement(), auth=key)
    put_id = new_id()
    put = client.put(STATEMENTS, params={"statementId": put_id}, json=statement(), auth=key)
    if may_write:
        assert post.status_code == 200, post.text
        assert put.status_code == 204, put.text
    else:
        assert_error(post, 403)
        assert_error(put, 403)
        assert len(ids_of(client)) == 1, "a forbidden write stored something"

    reads = [
        client.get(STATEMENTS, auth=key),
        client.head(STATEMENTS, auth=key),
        client.get(STATEMENTS, params={"verb": "http://adlnet.gov/expapi/verbs/experienced"}, auth=key),
    ]
    for response in reads:
        if may_read:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 403, response.status_code
    if not may_read:
        assert_error(client.get(STATEMENTS, params={"statementId": existing}, auth=key), 403)


# -- statements/read/mine ------------------------------------------------------------------------

def test_read_mine_sees_only_statements_with_its_own_authority(client, statement, credential):
    mine_key = credential("statements/write", "statements/read/mine")
    other_key = credential("statements/write")
    mine = [new_id(), new_id(), new_id()]
    for sid in mine:
        store(client, statement(id=sid), auth=mine_key)
        store(client, statement(), auth=other_key)
        store(client, statement())  # admin
    response = client.get(STATEMENTS, auth=mine_key)
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["statements"]] == mine[::-1]
    # filters and paging keep the restriction
    pages = follow_all(client, result_as(client, mine_key, limit=1), auth=mine_key)
    assert [sid for page in pages for sid in page] == mine[::-1]
    filtered = client.get(STATEMENTS, params={"agent": '{"mbox": "mailto:ada@example.com"}'}, auth=mine_key)
    assert [s["id"] for s in filtered.json()["statements"]] == mine[::-1]


def result_as(client, key, **params):
    response = client.get(STATEMENTS, params=params, auth=key)
    assert response.status_code == 200, response.text
    return response.json()


def test_read_mine_cannot_fetch_another_authoritys_statement(client, statement, credential):
    mine_key = credential("statements/write", "statements/read/mine")
    mine, theirs = new_id(), new_id()
    store(client, statement(id=mine), auth=mine_key)
    store(client, statement(id=theirs))
    assert client.get(STATEMENTS, params={"statementId": mine}, auth=mine_key).status_code == 200
    response = client.get(STATEMENTS, params={"statementId": theirs}, auth=mine_key)
    assert response.status_code in (403, 404), response.status_code
    assert "actor" not in response.json()


def test_read_mine_without_write_sees_nothing_written_by_others(client, statement, credential):
    reader = credential("statements/read/mine")
    store(client, statement(), statement())
    response = client.get(STATEMENTS, auth=reader)
    assert response.status_code == 200
    assert response.json()["statements"] == []


def test_read_mine_with_read_sees_everything(client, statement, credential):
    key = credential("statements/read/mine", "statements/read")
    ids = store(client, statement(), statement())
    response = client.get(STATEMENTS, auth=key)
    assert sorted(s["id"] for s in response.json()["statements"]) == sorted(ids)


def test_read_mine_matches_the_authority_the_lrs_assigns(client, statement, credential):
    key = credential("statements/write", "statements/read/mine")
    sid = store(client, statement(actor=agent("ann")), auth=key)[0]
    authority = client.get(STATEMENTS, params={"statementId": sid}).json()["authority"]
    related = client.get(STATEMENTS, params={"agent": json.dumps(authority), "related_agents": "true"},
                         auth=key)
    assert [s["id"] for s in related.json()["statements"]] == [sid]
    assert ids_of(client, agent=ifi("ann")) == [sid]


# -- checking secrets ----------------------------------------------------------------------------

async def _status(app, key: str, secret: str) -> int:
    """GET /xapi/statements through the ASGI app with these Basic credentials: the status."""
    authorization = b"Basic " + base64.b64encode(f"{key}:{secret}".encode())
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": STATEMENTS, "raw_path": STATEMENTS.encode(), "root_path": "", "query_string": b"limit=1",
        "headers": [(b"authorization", authorization), (b"x-experience-api-version", b"1.0.3")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


def test_concurrent_requests_with_one_secret_check_it_once(app, settings, monkeypatch):
    # A secret is checked by PBKDF2 (tens of ms of CPU). The first burst of a client's requests,
    # or all clients of a restarted server, used to check it once per request: a soak test saw
    # the first second of load stall.
    from lrs.credentials import new_credential
    from lrs.http import auth

    checked: list[str] = []
    real_check, real_digest = auth.verify_secret, auth._digest
    # A check finishes only once every request of its burst has its credential and is about to
    # check the secret (it digests it first): without the shared check, each of them starts its
    # own by then, whatever the machine's speed.
    burst = {"size": 0, "asked": 0, "all_asked": threading.Event()}

    def counted_digest(secret_hash: str, secret: str) -> bytes:
        burst["asked"] += 1
        if burst["asked"] == burst["size"]:
            burst["all_asked"].set()
        return real_digest(secret_hash, secret)

    def gated_check(secret: str, secret_hash: str) -> bool:
        checked.append(secret)
        assert burst["all_asked"].wait(10)
        return real_check(secret, secret_hash)

    monkeypatch.setattr(auth, "_digest", counted_digest)
    monkeypatch.setattr(auth, "verify_secret", gated_check)

    async def scenario() -> tuple[list[int], list[int], list[int], str]:
        async def together(size: int, key: str, secret: str) -> list[int]:
            burst.update(size=size, asked=0, all_asked=threading.Event())
            return await asyncio.gather(*(_status(app, key, secret) for _ in range(size)))

        async with app.router.lifespan_context(app):
            cred, secret = new_credential(["all"], authority_homepage=settings.authority_homepage)
            await app.state.store.put_credential(cred)
            right = await together(8, cred.key, secret)
            wrong = await together(4, cred.key, "not-" + secret)
            again = await together(3, cred.key, secret)
            return right, wrong, again, secret

    right, wrong, again, secret = asyncio.run(scenario())
    assert right == [200] * 8
    assert wrong == [401] * 4
    assert again == [200] * 3  # remembered: no new check
    assert checked == [secret, "not-" + secret]


def test_a_secret_changed_in_the_store_stops_writing_here_within_a_second(client, statement, app, settings, monkeypatch):
    # A review: a process that had accepted a key and secret for statement writes kept accepting that
    # secret after another process stored a new one for the key (LRS_ADMIN_SECRET given anew), because
    # remembered writes skip the look-up and their commit checks only revocation. And a revoked
    # credential's invalid write got the 400 of its body instead of a 401.
    from lrs.credentials import new_credential
    from lrs.http import auth

    now = [time.monotonic()]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    wait = getattr(auth, "RECHECK_AFTER", 1.0)
    cred, old = new_credential(["all"], authority_homepage=settings.authority_homepage)
    client.portal.call(app.state.store.put_credential, cred)
    key = cred.key
    assert client.post(STATEMENTS, json=statement(), auth=(key, old)).status_code == 200
    rotated, new = new_credential(["all"], authority_homepage=settings.authority_homepage)
    rotated = type(cred)(**{**vars(cred), "secret_hash": rotated.secret_hash})
    client.portal.call(app.state.store.put_credential, rotated)  # as another process would
    now[0] += wait
    assert_unauthorized(client.post(STATEMENTS, json=statement(), auth=(key, old)))
    assert client.post(STATEMENTS, json=statement(), auth=(key, new)).status_code == 200
    client.portal.call(app.state.store.revoke_credential, key)
    # Within the second, the commit refuses it, in the same words as every other refusal (a review: the
    # commit's own message told a revoked key from a wrong secret).
    response = client.post(STATEMENTS, json=statement(), auth=(key, new))
    assert_unauthorized(response)
    assert response.json()["message"] == client.post(STATEMENTS, json=statement(), auth=(key, "wrong")).json()["message"]
    now[0] += wait
    assert_unauthorized(client.post(STATEMENTS, json={"not": "a statement"}, auth=(key, new)))


def test_a_wrong_secret_sent_again_is_not_checked_again(app, settings, monkeypatch):
    # A game with a mistyped secret keeps sending it: each request cost a PBKDF2 check (some 60 ms of
    # CPU). Once found wrong for its credential, the same secret is refused without one.
    from lrs.credentials import new_credential
    from lrs.http import auth

    checked: list[str] = []
    real_check = auth.verify_secret
    monkeypatch.setattr(auth, "verify_secret", lambda secret, hashed: checked.append(secret) or real_check(secret, hashed))

    async def scenario() -> tuple[list[int], int, str]:
        async with app.router.lifespan_context(app):
            cred, secret = new_credential(["all"], authority_homepage=settings.authority_homepage)
            await app.state.store.put_credential(cred)
            wrong = [await _status(app, cred.key, "typo-" + secret) for _ in range(5)]
            return wrong, await _status(app, cred.key, secret), secret

    wrong, right, secret = asyncio.run(scenario())
    assert wrong == [401] * 5 and right == 200
    assert checked == ["typo-" + secret, secret]


def test_a_flood_of_new_secrets_is_checked_one_at_a_time_and_the_excess_is_429(app, settings, monkeypatch):
    # Someone who knows a key (the README's examples use `admin`) tries a new secret with every
    # request: each check took a thread of its own, and both cores went to PBKDF2, the server starved.
    # Now one check runs at a time and, past MAX_WAITING_CHECKS waiting, the request gets 429.
    from lrs.credentials import new_credential
    from lrs.http import auth

    monkeypatch.setattr(auth, "MAX_WAITING_CHECKS", 4)
    running, most = [0], [0]
    lock = threading.Lock()
    real_check = auth.verify_secret

    def slow_check(secret: str, hashed: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        try:
            return real_check(secret, hashed)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(auth, "verify_secret", slow_check)

    async def scenario() -> list[int]:
        async with app.router.lifespan_context(app):
            cred, _ = new_credential(["all"], authority_homepage=settings.authority_homepage)
            await app.state.store.put_credential(cred)
            return await asyncio.gather(*(_status(app, cred.key, f"guess-{n}") for n in range(10)))

    statuses = asyncio.run(scenario())
    assert sorted(statuses) == [401] * 4 + [429] * 6
    assert most[0] == 1


def test_a_new_admin_secret_keeps_the_admin_credentials_authority(tmp_path):
    # A review: LRS_ADMIN_SECRET given anew remade the admin credential from scratch, so with another
    # LRS_AUTHORITY_HOMEPAGE than at its first start its statements got another authority (another
    # agent: the homePage is fixed when a credential is made).
    from dataclasses import replace

    from starlette.testclient import TestClient

    from lrs.app import create_app
    from lrs.config import Settings
    from tests.conftest import sqlite_url

    first = Settings(database_url=sqlite_url(tmp_path / "lrs.sqlite3"), admin_key="lab-admin", admin_secret="one",
                     authority_homepage="urn:first", sqlite_synchronous="NORMAL", sqlite_writer="thread")
    body = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://example.com/v"},
            "object": {"id": "http://example.com/o"}}

    def authority(settings: Settings, secret: str) -> dict:
        with TestClient(create_app(settings)) as client:
            client.headers["X-Experience-API-Version"] = "1.0.3"
            if secret != "one":
                assert_unauthorized(client.post(STATEMENTS, json=body, auth=("lab-admin", "one")))
            response = client.post(STATEMENTS, json=body, auth=("lab-admin", secret))
            assert response.status_code == 200, response.text
            [sid] = response.json()
            return client.get(STATEMENTS, params={"statementId": sid}, auth=("lab-admin", secret)).json()["authority"]

    before = authority(first, "one")
    assert before["account"]["homePage"] == "urn:first"
    assert authority(replace(first, admin_secret="two", authority_homepage="urn:second"), "two") == before
