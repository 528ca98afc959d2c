"""What real xAPI client libraries send and expect, beyond the conformance suites.

Each test names the client whose behaviour it reproduces (TinCanJS, xAPIWrapper, @xapi/xapi,
TinCan.NET, TinCanPython, the e-UCM trackers) and the spec text that decides what is right.
"""

from __future__ import annotations

import json

from tests.conftest import new_id
from tests.http.helpers import ABOUT, STATEMENTS, store

BASE = "/xapi"
STATE = f"{BASE}/activities/state"
ORIGIN = "https://game.example.org"
PLAYER = json.dumps({"objectType": "Agent", "account": {"homePage": "https://game.example.org", "name": "p1"}})
GAME = "https://game.example.org/java-quest"


# -- HTTP caches (browser clients: TinCanJS, xAPIWrapper, @xapi/xapi, xasu-js) -------------------

def test_xapi_answers_are_not_kept_by_browser_caches(client, statement):
    """A browser keeps a GET answer that carries Last-Modified and no Cache-Control, and serves it
    again without asking (heuristic freshness, RFC 9111 §4.2.2: a tenth of its age). A dashboard
    polling GET /statements then saw no new statement for minutes, and a game reading its saved state
    after a PUT to another URL could get the old one (xapi.js has a cache buster for this).
    Every xAPI answer says not to store it: it is personal data, read through credentials."""
    store(client, statement())
    client.put(STATE, params={"activityId": GAME, "agent": PLAYER, "stateId": "save"},
               content=b'{"level": 3}', headers={"Content-Type": "application/json"})
    answers = {
        "statements": client.get(STATEMENTS),
        "state": client.get(STATE, params={"activityId": GAME, "agent": PLAYER, "stateId": "save"}),
        "state ids": client.get(STATE, params={"activityId": GAME, "agent": PLAYER}),
        "activities": client.get(f"{BASE}/activities", params={"activityId": GAME}),
        "agents": client.get(f"{BASE}/agents", params={"agent": PLAYER}),
        "about": client.get(ABOUT),
        "not found": client.get(STATEMENTS, params={"statementId": new_id()}),
        "cors": client.get(STATEMENTS, headers={"Origin": ORIGIN}),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 404), (name, response.text)
        assert "no-store" in response.headers.get("Cache-Control", ""), name


# -- a byte order mark before the JSON (.NET's UTF-8 writers, PowerShell 5) ------------------------

def test_a_utf8_byte_order_mark_before_statements_is_ignored(client, statement):
    """RFC 8259 §8.1: senders must not add one, parsers may ignore it. .NET's StreamWriter with
    Encoding.UTF8 writes one first; it was a 400 "not valid JSON". Only a leading one is ignored."""
    bom = b"\xef\xbb\xbf"
    one = statement(id=new_id())
    response = client.post(STATEMENTS, content=bom + json.dumps(one).encode(),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert response.json() == [one["id"]]
    other = statement()
    other_id = new_id()
    response = client.put(STATEMENTS, params={"statementId": other_id}, content=bom + json.dumps(other).encode(),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 204, response.text
    assert client.get(STATEMENTS, params={"statementId": other_id}).json()["actor"] == other["actor"]
    response = client.post(STATEMENTS, content=b" " + bom + json.dumps(statement()).encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400  # not at the start: not a byte order mark, a stray character
