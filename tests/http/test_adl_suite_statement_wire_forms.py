"""Statement requests of the ADL 1.0.3 conformance suite in the exact form its helpers send and read them.

The behaviour is covered elsewhere in tests/http; these pin what the suite's own code depends on,
which no other test sends or reads that way:

- ``helper.genDelay`` builds its polling URL as ``/statements`` + query, and some tests pass the query
  without its ``?`` (``'limit=1'``, ``'verb=...'``): it then polls ``/statementslimit=1``. When that
  answer has no parseable ``X-Experience-API-Consistent-Through`` it throws a TypeError out of a
  callback, which fails whichever test is running.
- ``multipartParser.parseMultipart`` splits a ``?attachments=true`` answer on
  ``new RegExp('--*' + boundary)`` (the boundary is a regular expression there) and wants the line
  break right after each delimiter; XAPI-00161 reads the boundary as
  ``contentType.split(";")[1].replace(" boundary=", "")``.
- XAPI-00023 and XAPI-00123 walk the first page with moment and fail on the first ``stored`` or
  ``timestamp`` without a fractional second (``_pf.parsedDateParts[6]`` is NaN).
- Communication 1.3 "treats the listed form parameters as header parameters": a form field
  ``X-Experience-API-Version: 0.8`` beside a 1.0.x header is an unsupported version (3.3), a 400, as the
  suite's later versions of that test expect (one older version expected 204).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

from tests.http.helpers import STATEMENTS

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SUITE_STATEMENT = {
    "actor": {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
    "object": {"objectType": "Activity", "id": "http://www.example.com/meetings/occurances/34534"},
}
ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z$")


def suite_form(fields: dict) -> str:
    """helper.getUrlEncoding: objects as encodeURIComponent(JSON.stringify(...)), other values as they are."""
    return "&".join(f"{k}={quote(json.dumps(v, separators=(',', ':')), safe=chr(39) + '-_.!~*()')}"
                    if isinstance(v, dict) else f"{k}={v}" for k, v in fields.items())


def parse_multipart(boundary: str, body: str) -> list[str]:
    """multipartParser.parseMultipart, as the suite runs it (the bodies of the parts before the last)."""
    index = body.index("--" + boundary)
    assert body[index + len(boundary) + 2:].startswith("\r\n"), "Multipart: unknown delimiter."
    bodies = []
    for content in re.split("--*" + boundary, body)[1:]:
        if content.startswith("--"):
            break
        assert content.split("\r\n")[0] == "", "Multipart: cannot parse header with invalid value."
        start = content.index("\r\n\r\n") + 4
        bodies.append(content[start:len(content) - 2])
    return bodies


def test_gen_delay_polling_a_query_without_its_question_mark_gets_consistent_through(client):
    assert client.post(STATEMENTS, json=SUITE_STATEMENT).status_code == 200
    for query in ("limit=1", "verb=http://adlnet.gov/expapi/test/unicode/target/" + str(uuid.uuid4())):
        response = client.get(STATEMENTS + query)
        assert response.status_code == 404
        through = response.headers["X-Experience-API-Consistent-Through"]
        assert ISO_8601.match(through), through
        assert datetime.fromisoformat(through.replace("Z", "+00:00")) <= datetime.now(timezone.utc)


def test_attachments_true_is_read_by_the_suite_s_multipart_parser(client):
    assert client.post(STATEMENTS, json=SUITE_STATEMENT).status_code == 200
    for query in ("?attachments=true", "?attachments=true&limit=1"):
        response = client.get(STATEMENTS + query)
        assert response.status_code == 200
        content_type = response.headers["content-type"]
        assert content_type.split(";")[0] == "multipart/mixed"
        boundary = content_type.split(";")[1].replace(" boundary=", "")
        assert re.fullmatch(r"[A-Za-z0-9-]+", boundary), content_type  # a regular expression matching itself
        bodies = parse_multipart(boundary, response.text)
        assert isinstance(json.loads(bodies[0])["statements"], list)


def test_stored_and_timestamp_have_a_fractional_second(client):
    statement_id = str(uuid.uuid4())
    assert client.post(STATEMENTS, json={**SUITE_STATEMENT, "id": statement_id}).status_code == 200
    for statement in client.get(STATEMENTS).json()["statements"]:
        assert ISO_8601.match(statement["stored"]), statement["stored"]
        assert ISO_8601.match(statement["timestamp"]), statement["timestamp"]


def test_alternate_syntax_version_field_0_8_is_refused_beside_a_1_0_header(client):
    statement_id = str(uuid.uuid4())
    body = suite_form({"statementId": statement_id, "X-Experience-API-Version": "0.8", "content": SUITE_STATEMENT})
    response = client.post(STATEMENTS + "?method=PUT", content=body, headers=FORM)
    assert response.status_code == 400
    assert response.json()["path"] == "X-Experience-API-Version"
    assert client.get(STATEMENTS, params={"statementId": statement_id}).status_code == 404
    # the same form without the field: the HTTP header's version stands (Communication 1.3.s3.b8)
    body = suite_form({"statementId": statement_id, "content": SUITE_STATEMENT})
    assert client.post(STATEMENTS + "?method=PUT", content=body, headers=FORM).status_code == 204
