"""Requests of the ADL 1.0.3 conformance suite sent the way its Node clients send them.

The suite's ``helper.sendRequest`` hands its body to supertest's ``send``: an object goes out as
``application/json``, a string as ``application/x-www-form-urlencoded`` (so the "documents" ``'1'``
and ``'true'`` of Communication 2.2's implicit test arrive form-labelled), and it sends a body along
with some GETs. Its query values are not percent-encoded unless they are objects. These pin what the
suite expects of those exact forms; the behaviour itself is covered elsewhere in tests/http.
"""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote, urlencode

from tests.conftest import ADMIN
from tests.http.helpers import BASE

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
AGENT = {"objectType": "Agent", "account": {"homePage": "http://www.example.com/agentId/1", "name": "Rick James"}}
ACTIVITY_ID = "http://www.example.com/activityId/hashset"
SAFE = "-_.!~*'()"  # what encodeURIComponent leaves as it is


def suite_query(params: dict) -> str:
    """helper.getUrlEncoding: objects JSON + encodeURIComponent, every other value as it is."""
    return "&".join(f"{k}={quote(json.dumps(v), safe=SAFE) if isinstance(v, dict) else v}" for k, v in params.items())


def resources() -> list[tuple[str, dict]]:
    """Each document resource with the suite's parameters for a new document."""
    return [
        ("activities/state", {"activityId": ACTIVITY_ID, "agent": AGENT, "stateId": str(uuid.uuid4())}),
        ("activities/profile", {"activityId": ACTIVITY_ID, "profileId": str(uuid.uuid4())}),
        ("agents/profile", {"agent": AGENT, "profileId": str(uuid.uuid4())}),
    ]


def test_scalar_documents_sent_form_labelled_are_stored_and_not_merged_into(client):
    """Communication 2.2.s4.b2 (implicit): a POST is not refused for the contents of the document
    ('1', 'true'; supertest labels a string form-urlencoded); a later JSON POST to it is a 400
    (2.2.s8.b1: the stored document is not application/json) and changes nothing."""
    for text in ("1", "true"):
        for path, params in resources():
            url = f"{BASE}/{path}?{suite_query(params)}"
            assert client.post(url, content=text, headers=FORM).status_code == 204, (path, text)
            got = client.get(url)
            assert got.status_code == 200 and got.content == text.encode()
            assert got.headers["content-type"] == "application/x-www-form-urlencoded"
            assert client.post(url, json={"a": 1}).status_code == 400
            assert client.get(url).content == text.encode()


def test_a_get_that_carries_the_document_as_a_body_is_answered(client):
    """The suite's document tests send the document along with GETs (supertest send() on a GET):
    the body is ignored and the document returned."""
    for path, params in resources():
        url = f"{BASE}/{path}?{suite_query(params)}"
        document = {"name": str(uuid.uuid4()), "location": {"name": str(uuid.uuid4())}}
        assert client.post(url, json=document).status_code == 204
        got = client.request("GET", url, json=document)
        assert got.status_code == 200 and got.json() == document
        assert got.headers["etag"].startswith('"') and len(got.headers["etag"]) == 42


def test_alternate_syntax_method_in_lower_case_and_utf8_names_read_back_from_activities(bare_client):
    """The suite's 'content as a UTF-8 String' test: POST /statements?method=post (lower case) with
    the version and the statement as form fields, then GET /activities returns every name as sent."""
    names = {"en-US": "attended", "ja-JP": "出席した", "ko-KR": "참석", "ru-RU": "участие",
             "ar-EG": "حضر", "hy-AM": "ներկա է գտնվել", "kn-IN": "ಹಾಜರಿದ್ದರು"}
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": names},
        "object": {"objectType": "Activity", "id": "http://www.example.com/unicode",
                   "definition": {"name": names, "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                  "interactionType": "other", "correctResponsesPattern": ["(35.937432,-86.868896)"]}},
    }
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    form = urlencode({"X-Experience-API-Version": "1.0.3", "content": json.dumps(statement, ensure_ascii=False)})
    response = bare_client.post(f"{BASE}/statements?method=post", content=form,
                                headers={**FORM, "Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 200, response.text
    assert response.json() == [statement["id"]]
    got = bare_client.get(f"{BASE}/activities?activityId=http://www.example.com/unicode",
                          headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"})
    assert got.status_code == 200
    assert got.json()["definition"]["name"] == names
