"""Small helpers shared by the HTTP-level tests (written from the xAPI spec text).

Everything here goes through the public HTTP interface only.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable
from urllib.parse import urlencode

BASE = "/xapi"
STATEMENTS = f"{BASE}/statements"
ABOUT = f"{BASE}/about"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


# -- building statements -------------------------------------------------------------

def agent(key: str, **extra: Any) -> dict[str, Any]:
    """An Agent identified by mbox ``mailto:<key>@example.com``."""
    return {"objectType": "Agent", "name": key.title(), "mbox": f"mailto:{key}@example.com", **extra}


def ifi(key: str) -> dict[str, Any]:
    """Just the IFI of ``agent(key)`` (what one sends as the ``agent`` parameter)."""
    return {"mbox": f"mailto:{key}@example.com"}


def verb(name: str) -> dict[str, Any]:
    return {"id": f"http://example.com/verbs/{name}", "display": {"en-US": name}}


def activity(key: str, **definition: Any) -> dict[str, Any]:
    """Activity ``http://example.com/activities/<key>``, with the keyword arguments as its definition."""
    out: dict[str, Any] = {"objectType": "Activity", "id": f"http://example.com/activities/{key}"}
    if definition:
        out["definition"] = definition
    return out


def activity_id(key: str) -> str:
    return f"http://example.com/activities/{key}"


def statement_ref(statement_id: str) -> dict[str, Any]:
    return {"objectType": "StatementRef", "id": statement_id}


def voiding(target_id: str, actor: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "actor": actor or agent("admin"),
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": statement_ref(target_id),
        **extra,
    }


# -- talking to the LRS ----------------------------------------------------------------

def post(client, body: Any, **kwargs: Any):
    return client.post(STATEMENTS, json=body, **kwargs)


def store(client, *statements: dict[str, Any], **kwargs: Any) -> list[str]:
    """POST the statements as one batch; assert 200; return the ids."""
    response = client.post(STATEMENTS, json=list(statements), **kwargs)
    assert response.status_code == 200, response.text
    ids = response.json()
    assert isinstance(ids, list) and len(ids) == len(statements)
    return ids


def store_each(client, *statements: dict[str, Any], **kwargs: Any) -> list[str]:
    """POST the statements one request each (so that their stored times are ordered)."""
    return [store(client, s, **kwargs)[0] for s in statements]


def get_statement(client, statement_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(STATEMENTS, params={"statementId": statement_id, **params})
    assert response.status_code == 200, response.text
    return response.json()


def query(client, **params: Any):
    """GET /statements with the params (dicts are JSON-encoded, booleans spelt true/false)."""
    return client.get(STATEMENTS, params=encode_params(params))


def result(client, **params: Any) -> dict[str, Any]:
    response = query(client, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("statements"), list), body
    return body


def ids_of(client, **params: Any) -> list[str]:
    """The ids of one StatementResult page (asserting there is no further page)."""
    body = result(client, **params)
    assert not body.get("more"), f"unexpected more link: {body.get('more')!r}"
    return [s["id"] for s in body["statements"]]


def follow_all(client, first: dict[str, Any], *, max_pages: int = 100, **kwargs: Any) -> list[list[str]]:
    """Follow ``more`` from a first StatementResult until it is exhausted; the ids of every page."""
    pages = [[s["id"] for s in first["statements"]]]
    more = first.get("more")
    while more:
        assert more.startswith("/"), f"more must be a relative IRL with the full path, got {more!r}"
        assert len(pages) < max_pages, "more links never end"
        response = client.get(more, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([s["id"] for s in body["statements"]])
        more = body.get("more")
    return pages


def encode_params(params: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in params.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def url(path: str, **params: Any) -> str:
    return f"{path}?{urlencode(encode_params(params))}" if params else path


# -- checking responses ---------------------------------------------------------------

def assert_error(response, status: int) -> dict[str, Any]:
    """The response is ``status`` with a JSON error body naming the error and a message."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def parse_ts(value: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp as an aware datetime (UTC if no offset)."""
    parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def parse_http_date(value: str) -> datetime:
    return parsedate_to_datetime(value)


def without(statement: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in keys}


LRS_SET = ("id", "stored", "authority", "version", "timestamp")


def unique(values: Iterable[str]) -> bool:
    values = list(values)
    return len(values) == len(set(values))



def each(cases: Iterable[Any], check) -> None:
    """Run ``check(case)`` for every case (one fresh LRS for all); report every failing case at once."""
    failures = []
    for case in cases:
        try:
            check(case)
        except AssertionError as exc:
            failures.append(f"{case!r}: {str(exc).splitlines()[0]}")
    assert not failures, "failing cases:\n" + "\n".join(failures)
