"""GET /statements as a typed, validated description: what to fetch, not how.

``parse_statement_params`` turns the request's parameters into either a
single-statement lookup (``SingleQuery``) or a ``StatementQuery``; the stores
turn a ``StatementQuery`` into an indexed database query through its
``index_keys()`` (see ``lrs.xapi.statements.prepare`` for the same keys
on the writing side).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

import orjson

from lrs.xapi import keys as K
from lrs.xapi.agents import ifi_key
from lrs.xapi.errors import bad_request
from lrs.xapi.timestamps import normalise_bound
from lrs.xapi.validate import agent_param, is_digits, is_iri, is_uuid

FORMATS = ("exact", "ids", "canonical")
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
QUERY_PARAMS = frozenset(
    {
        "agent", "verb", "activity", "registration", "related_activities", "related_agents",
        "since", "until", "limit", "format", "attachments", "ascending",
    }
)
ALL_PARAMS = SINGLE_PARAMS | QUERY_PARAMS | {"more"}
_LOWER = {p.lower(): p for p in ALL_PARAMS}


@dataclass(frozen=True)
class SingleQuery:
    statement_id: str
    voided: bool
    format: str = "exact"
    attachments: bool = False


# A page holds at most this much statement JSON (in characters) whatever its limit, and always at
# least one statement: `limit` is a most (Communication 2.1.3.s3), and `more` leads on. 500 statements
# of 20 MB each made one answer of 10 GB, past SQLite's 1 GB text limit (a 500) and any memory budget.
# Both stores read it when they run a query.
PAGE_TEXT_BUDGET = 8 * 1024 * 1024


@dataclass(frozen=True)
class StatementQuery:
    agent: str | None = None  # IFI key
    related_agents: bool = False
    verb: str | None = None
    activity: str | None = None
    related_activities: bool = False
    registration: str | None = None
    since: str | None = None  # stored form (fixed-width UTC)
    until: str | None = None
    limit: int = 0
    ascending: bool = False
    format: str = "exact"
    attachments: bool = False
    authority: str | None = None  # IFI key: statements/read/mine sees only its own
    params: dict[str, str] = field(default_factory=dict, compare=False)  # as sent, for `more`
    cursor: str | None = None  # the store's opaque position, from a `more` link

    def index_keys(self) -> list[str]:
        """The index keys a statement must carry to match (all of them)."""
        keys = []
        if self.registration is not None:
            keys.append(K.registration(self.registration))
        if self.agent is not None:
            keys.append(K.agent(self.agent, related=self.related_agents))
        if self.activity is not None:
            keys.append(K.activity(self.activity, related=self.related_activities))
        if self.verb is not None:
            keys.append(K.verb(self.verb))
        if self.authority is not None:
            keys.append(K.authority(self.authority))
        return keys

    def with_authority(self, authority: str | None) -> "StatementQuery":
        return replace(self, authority=authority)

    def through(self, stored: str) -> "StatementQuery":
        """The query with ``until`` no later than ``stored`` (a stored value)."""
        return self if self.until is not None and self.until <= stored else replace(self, until=stored)


def check_param_names(names: Any, allowed: frozenset[str]) -> None:
    """400 for an unknown parameter, or a known one in the wrong case."""
    for name in names:
        if name in allowed:
            continue
        known = _LOWER.get(name.lower()) or {a.lower(): a for a in allowed}.get(name.lower())
        if known is not None and known != name:
            raise bad_request(f"parameter {name!r} must be spelt {known!r}", path=name, error="parameter")
        raise bad_request(f"unknown parameter {name!r}", path=name, error="parameter")


check_names = check_param_names


def check_repeated(items: Iterable[tuple[str, Any]]) -> None:
    """400 naming a parameter given more than once (``items``: the (name, value) pairs as sent): which
    value was meant? (Taking the last would act on what the client may not have meant.)"""
    seen: set[str] = set()
    for name, _ in items:
        if name in seen:
            raise bad_request(f"parameter {name!r} is given more than once", path=name, error="parameter")
        seen.add(name)


def parse_bool(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    lowered = value.lower()  # TinCanPython sends Python's True/False
    if lowered in ("true", "false"):
        return lowered == "true"
    raise bad_request(f"{name} must be true or false", path=name, error="parameter")


def parse_format(params: Mapping[str, str]) -> str:
    value = params.get("format", "exact")
    if value not in FORMATS:
        raise bad_request("format must be one of ids, exact, canonical", path="format", error="parameter")
    return value


def parse_statement_params(params: Mapping[str, str], *, max_limit: int) -> SingleQuery | StatementQuery:
    names = list(params.keys())
    check_param_names(names, ALL_PARAMS)
    if "more" in params:
        if len(params) != 1:
            raise bad_request("more cannot be combined with other parameters", path="more", error="parameter")
        return decode_more(params["more"], max_limit=max_limit)
    if "statementId" in params or "voidedStatementId" in params:
        if "statementId" in params and "voidedStatementId" in params:
            raise bad_request("statementId and voidedStatementId cannot both be given", path="voidedStatementId",
                              error="parameter")
        name = "statementId" if "statementId" in params else "voidedStatementId"
        for other in names:
            if other not in SINGLE_PARAMS:
                raise bad_request(f"{other} cannot be combined with {name} (only format and attachments can)",
                                  path=other, error="parameter")
        value = params[name]
        if not is_uuid(value):
            raise bad_request(f"{name} must be a UUID", path=name, error="parameter")
        return SingleQuery(value.lower(), name == "voidedStatementId", parse_format(params), parse_bool(params, "attachments"))
    return _parse_query(params, max_limit=max_limit)


def _parse_query(params: Mapping[str, str], *, max_limit: int) -> StatementQuery:
    agent = None
    if "agent" in params:
        agent = ifi_key(agent_param(params["agent"]))  # (an Identified Group has an IFI too)
    for name in ("verb", "activity"):
        if name in params and not is_iri(params[name]):
            raise bad_request(f"{name} must be an IRI", path=name, error="parameter")
    registration = params.get("registration")
    if registration is not None:
        if not is_uuid(registration):
            raise bad_request("registration must be a UUID", path="registration", error="parameter")
        registration = registration.lower()
    bounds = {}
    for name in ("since", "until"):
        if name in params:
            bound = normalise_bound(params[name])
            if bound is None:
                raise bad_request(f"{name} must be an ISO 8601 timestamp", path=name, error="parameter")
            bounds[name] = bound
    limit = max_limit
    if "limit" in params:
        raw = params["limit"]
        if not is_digits(raw):
            raise bad_request("limit must be a non-negative integer", path="limit", error="parameter")
        digits = raw.lstrip("0")  # (a limit of thousands of digits is no reason for int() to fail)
        limit = int(digits) if 0 < len(digits) <= 18 else max_limit
    return StatementQuery(
        agent=agent,
        related_agents=parse_bool(params, "related_agents"),
        verb=params.get("verb"),
        activity=params.get("activity"),
        related_activities=parse_bool(params, "related_activities"),
        registration=registration,
        since=bounds.get("since"),
        until=bounds.get("until"),
        limit=min(limit, max_limit),
        ascending=parse_bool(params, "ascending"),
        format=parse_format(params),
        attachments=parse_bool(params, "attachments"),
        params=dict(params),
    )


# -- the `more` link: the original parameters and the store's cursor, opaque to clients

def encode_more(query: StatementQuery, cursor: str) -> str:
    payload = orjson.dumps({"p": query.params, "c": cursor})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


_CURSOR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|.")


def decode_more(token: str, *, max_limit: int) -> StatementQuery:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = orjson.loads(raw)
        params, cursor = payload["p"], payload["c"]
        if not isinstance(params, dict) or not isinstance(cursor, str) or set(payload) != {"p", "c"}:
            raise ValueError
        if not all(isinstance(value, str) for value in params.values()) or not set(params) <= ALL_PARAMS:
            raise ValueError  # what encode_more writes: the request's own parameters, as strings
        if not _CURSOR.match(cursor):
            raise ValueError  # a store's cursor starts with a stored value, as the LRS writes them
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_request("more is not a link this LRS issued", path="more", error="parameter")
    if "more" in params or "statementId" in params or "voidedStatementId" in params:
        raise bad_request("more is not a link this LRS issued", path="more", error="parameter")
    return replace(_parse_query(params, max_limit=max_limit), cursor=cursor)
