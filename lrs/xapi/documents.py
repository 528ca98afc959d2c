"""Documents (State, Activity Profile, Agent Profile): what they are keyed by,
their ETags, the JSON merge of POST, and the concurrency rules.

Pure functions and plain data: the HTTP layer parses a request into a
``DocumentScope`` (+ id), a ``Document`` and a ``Precondition``; a store
applies ``write`` to the document it holds, inside its own transaction, so
that the check and the change are one atomic step.

The rules are xAPI 1.0.3 Communication §2.2-2.7 and §3.1 (Concurrency), with
the 2.0 changes: under 2.0 a PUT without If-Match/If-None-Match on an existing
document is a 409 on all three resources (1.0.3: the two profile resources
only), and a single-document GET takes no ``since``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import orjson

from lrs.xapi import strict_json
from lrs.xapi.agents import ifi_key
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi.timestamps import normalise_bound
from lrs.xapi.validate import agent_param, is_iri, is_uuid
from lrs.xapi.versions import is_v2

STATE = "state"
ACTIVITY_PROFILE = "activity-profile"
AGENT_PROFILE = "agent-profile"
RESOURCES = (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)

JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"

# The id parameter of each resource, and the parameters each method takes.
ID_PARAM = {STATE: "stateId", ACTIVITY_PROFILE: "profileId", AGENT_PROFILE: "profileId"}
_CONTEXT = {STATE: ("activityId", "agent", "registration"), ACTIVITY_PROFILE: ("activityId",), AGENT_PROFILE: ("agent",)}
_REQUIRED = {STATE: ("activityId", "agent"), ACTIVITY_PROFILE: ("activityId",), AGENT_PROFILE: ("agent",)}
# Every parameter name the document resources know, for "wrong case" messages.
_KNOWN = {p.lower(): p for p in ("activityId", "agent", "registration", "stateId", "profileId", "since")}


@dataclass(frozen=True)
class DocumentScope:
    """Where documents live: a resource and its context.

    ``activity_id`` and ``agent`` (an IFI key, ``lrs.xapi.agents.ifi_key``) are
    "" where the resource has none. ``registration`` (State only, lower case):
    for one document, None means "stored without a registration"; for the
    multiple-document GET and DELETE, None means "whatever the registration".
    """

    resource: str
    activity_id: str = ""
    agent: str = ""
    registration: str | None = None


@dataclass(frozen=True)
class Document:
    contents: bytes
    content_type: str
    updated: str  # stored-form timestamp (lrs.xapi.timestamps.format_stored)
    etag: str = ""  # SHA-1 of the contents, lower-case hex (1.0.3 §3.1); set by ``new``

    @classmethod
    def new(cls, contents: bytes, content_type: str | None, updated: str) -> "Document":
        return cls(bytes(contents), content_type or DEFAULT_TYPE, updated, etag_of(contents))

    @property
    def is_json(self) -> bool:
        return media_type(self.content_type) == JSON_TYPE


def etag_of(contents: bytes) -> str:
    return hashlib.sha1(contents).hexdigest()


def id_list(doc_ids: Sequence[str]) -> bytes:
    """The body of the multiple-document GET: the ids, in order, as a JSON array (its ETag: ``etag_of`` it)."""
    return orjson.dumps(list(doc_ids))


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


# -- requests ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentRequest:
    """A document request's parameters, checked: the scope, the document id (None: many), ``since``."""

    scope: DocumentScope
    doc_id: str | None
    since: str | None = None


def parse_params(resource: str, method: str, params: Mapping[str, str], *, version: str) -> DocumentRequest:
    """Check a document request's parameters (names, required ones, formats); 400 names the parameter."""
    id_param = ID_PARAM[resource]
    allowed = set(_CONTEXT[resource]) | {id_param}
    if method in ("GET", "HEAD") or (method == "DELETE" and resource == STATE):
        allowed.add("since")
    if resource == ACTIVITY_PROFILE and method in ("GET", "HEAD"):
        # The 2.0 table for the multiple-document GET lists "agent" (and the conformance requirement
        # XAPI-00304 tests it): taken, checked, and without effect on an Activity's profiles.
        allowed.add("agent")
    for name in params:
        if name in allowed:
            continue
        known = _KNOWN.get(name.lower())
        if known is not None and known != name and known in allowed:
            raise bad_request(f"parameter {name!r} must be spelt {known!r}", path=name, error="parameter")
        raise bad_request(f"parameter {name!r} is not taken by {method} on this resource", path=name, error="parameter")
    required = list(_REQUIRED[resource])
    if method in ("PUT", "POST") or (method == "DELETE" and resource != STATE):
        required.append(id_param)
    for name in required:
        if name not in params:
            raise bad_request(f"the {name} parameter is required", path=name, error="parameter")

    activity_id = ""
    if "activityId" in params:
        activity_id = params["activityId"]
        if not is_iri(activity_id):
            raise bad_request("activityId must be an IRI", path="activityId", error="parameter")
    agent = ""
    if "agent" in params:
        agent = parse_agent(params["agent"])
        if resource == ACTIVITY_PROFILE:
            agent = ""
    registration = params.get("registration")
    if registration is not None:
        if not is_uuid(registration):
            raise bad_request("registration must be a UUID", path="registration", error="parameter")
        registration = registration.lower()
    doc_id = params.get(id_param)
    if doc_id is not None and doc_id == "":
        raise bad_request(f"{id_param} must not be empty", path=id_param, error="parameter")
    since = None
    if "since" in params:
        if doc_id is not None and method in ("GET", "HEAD") and is_v2(version):
            raise bad_request(f"since cannot be combined with {id_param}", path="since", error="parameter")
        since = normalise_bound(params["since"])
        if since is None:
            raise bad_request("since must be an ISO 8601 timestamp", path="since", error="parameter")
        if doc_id is not None:
            since = None  # a single document: since has no effect (XAPI-00191, XAPI-00192)
    return DocumentRequest(DocumentScope(resource, activity_id, agent, registration), doc_id, since)


def parse_agent(raw: str, *, path: str = "agent") -> str:
    """An ``agent`` parameter (JSON Agent, not a Group) as its IFI key."""
    return ifi_key(agent_param(raw, path=path, allow_group=False)) or ""


# -- concurrency ------------------------------------------------------------------------

@dataclass(frozen=True)
class Precondition:
    """If-Match / If-None-Match as sent (entity tags without quotes; ``*``), whether a PUT
    without either must not overwrite an existing document (409), and whether it is refused
    also when there is none (400: ``header_always``)."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None
    header_required: bool = False
    header_always: bool = False

    @property
    def has_headers(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def check(self, current: Document | None) -> None:
        """412 when a header's condition fails, 409 for a PUT without headers over a document (§3.1)."""
        self._check_headers(current.etag if current is not None else None, current is not None, many=False)
        if self.header_required and self.if_match is None and self.if_none_match is None:
            if current is not None:
                raise XAPIError(
                    409,
                    "the document already exists: check its current state (GET), then send the PUT again with "
                    "If-Match set to its ETag (or If-None-Match: * to create only)",
                    error="conflict",
                )
            if self.header_always:
                raise bad_request(
                    "a PUT to a profile resource needs If-Match (an ETag) or If-None-Match: * (create only)",
                    path="If-None-Match", error="precondition_required",
                )

    def check_many(self, doc_ids: Sequence[str]) -> None:
        """The multiple-document DELETE (State): 412 when a header's condition fails for the representation
        the GET with the same parameters returns, the list ``doc_ids`` (its ETag: ``etag_of(id_list(...))``).
        ``*`` stands for "at least one document": If-Match: * fails when there is none, If-None-Match: *
        when there is one."""
        self._check_headers(etag_of(id_list(doc_ids)), bool(doc_ids), many=True)

    def _check_headers(self, etag: str | None, exists: bool, *, many: bool) -> None:
        """If-Match (strong comparison) and If-None-Match (weak) against ``etag`` (None: there is no
        representation); ``exists``: whether ``*`` matches."""
        no_match, changed, matched = _MANY_MESSAGES if many else _ONE_MESSAGES
        if self.if_match is not None:
            if etag is None or ("*" in self.if_match and not exists):
                raise XAPIError(412, no_match, error="precondition_failed")
            if "*" not in self.if_match and etag not in self.if_match:
                raise XAPIError(412, changed, error="precondition_failed", etag=f'"{etag}"')
        if self.if_none_match is not None:
            if ("*" in self.if_none_match and exists) or (
                etag is not None and etag in {t.removeprefix("W/") for t in self.if_none_match}
            ):
                raise XAPIError(412, matched, error="precondition_failed")


# The 412 messages: (If-Match, nothing to match; If-Match, another ETag; If-None-Match matched).
_ONE_MESSAGES = (
    "If-Match: there is no such document",
    "If-Match: the document has changed since that ETag was read (fetch it again)",
    "If-None-Match: the document exists",
)
_MANY_MESSAGES = (
    "If-Match: there are no such documents",
    "If-Match: the list of documents has changed since that ETag was read (fetch it again)",
    "If-None-Match: there are such documents (If-None-Match: *), or their list has that ETag",
)


def parse_etags(header: str | None) -> tuple[str, ...] | None:
    """An If-Match / If-None-Match header as a tuple of tags without quotes, or None.

    A weak tag keeps its ``W/`` prefix: If-Match compares strongly, so it never
    matches (RFC 7232 §3.1); If-None-Match compares weakly (§3.2).
    """
    if header is None:
        return None
    tags = []
    for part in header.split(","):
        tag = part.strip()
        weak = tag.startswith("W/")
        tag = tag.removeprefix("W/")
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.append(tag if tag == "*" else ("W/" if weak else "") + tag.lower())
    return tuple(tags)


def precondition(
    resource: str, method: str, *, if_match: str | None, if_none_match: str | None, version: str
) -> Precondition:
    """The concurrency rules of a write (Communication §3.1; 2.0 §4.1.4).

    A PUT without either header: over an existing document 409 on the profile resources
    (and on the State Resource under 2.0); on the profile resources also when there is none
    (400), as the reference LRS and the ADL suites do (1.0.3 and 2.0, H.Communication2.6,
    XAPI-00273): a client MUST send one (1.0.3 §3.1.s3.b1).
    """
    v2 = is_v2(version)
    header_required = method == "PUT" and (resource != STATE or v2)
    header_always = method == "PUT" and resource != STATE
    return Precondition(parse_etags(if_match), parse_etags(if_none_match), header_required, header_always)


# -- writing ----------------------------------------------------------------------------

def write(current: Document | None, incoming: Document, *, merge: bool, condition: Precondition) -> Document:
    """The document to store: ``incoming`` (PUT), or merged into ``current`` (POST, §2.2 JSON Procedure).

    Raises XAPIError (409, 412, 400) and then nothing may change.
    """
    condition.check(current)
    if not merge or current is None:  # a POST of a new document stores it as a PUT would
        return incoming
    stored = _exact_object(current, "the stored document")
    stored.update(_exact_object(incoming, "the posted document"))  # top-level properties only: each replaced whole
    contents = orjson.dumps(stored)
    if len(contents) > MAX_MERGED_BYTES:
        raise XAPIError(413, f"merging would make the document {len(contents)} bytes long; POST merges documents"
                             f" up to {MAX_MERGED_BYTES} bytes (PUT replaces one)", error="too_large")
    return Document.new(contents, current.content_type, incoming.updated)


# POSTs to one document could make it grow without end: past SQLite's 1 GB limit on one value they
# got a 500. A document a merge makes larger than this is refused (MongoDB keeps 16 MiB at most anyway).
MAX_MERGED_BYTES = 64 * 1024 * 1024


# The merge keeps each number as written (the text of the stored or the posted document): parsed to a
# Python int or float, an integer beyond 64 bits, or a decimal beyond a double's precision, would change
# (strict_json, like orjson, makes floats of them) in properties the POST never touched (§2.2.s7.b2).
_EXACT = json.JSONDecoder(parse_int=orjson.Fragment, parse_float=orjson.Fragment)


def _exact_object(document: Document, what: str) -> dict[str, Any]:
    """A JSON object to merge: checked as ``json_object`` checks it (strict JSON: duplicate keys, NaN,
    depth...), then parsed again with every number kept as its text (an ``orjson.Fragment``, written back
    as is). Merges are rare: the second parse costs little."""
    json_object(document, what)
    return _EXACT.decode(document.contents.decode("utf-8"))


def json_object(document: Document, what: str) -> dict[str, Any]:
    if not document.is_json:
        raise bad_request(
            f"{what} is {document.content_type or 'untyped'}, not application/json: POST merges JSON objects only; "
            "use PUT to replace a document", error="merge",
        )
    try:
        value = strict_json.loads(document.contents)
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"{what} is not valid JSON: {exc}", error="merge")
    if not isinstance(value, dict):
        raise bad_request(f"{what} is not a JSON object: POST merges JSON objects only", error="merge")
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what an HTTP header value cannot hold (a tab it can)


def _check_content_type(document: Document) -> None:
    """The Content-Type is sent back as a header of every GET: no control character (the alternate
    request syntax can carry one in its form; a line break in it would end the answer's headers)."""
    if _CONTROL.search(document.content_type):
        raise bad_request("the Content-Type holds a control character: it cannot be sent back as a header",
                          path="Content-Type", error="content_type")


def served_content_type(content_type: str) -> str:
    """The Content-Type header of a stored document (one stored before the check above: a neutral type)."""
    return DEFAULT_TYPE if _CONTROL.search(content_type) else content_type


def check_post(document: Document) -> None:
    """A POST's own body: when it says application/json it must be a JSON object (XAPI-00235)."""
    _check_content_type(document)
    if document.is_json:
        json_object(document, "the posted document")


def check_put(document: Document) -> None:
    """A PUT's body: when it says application/json it must be JSON (Communication §3.2.s3.b6, SHOULD*),
    and an empty body is not. Otherwise it would be stored, and every later POST merge into it refused.
    """
    _check_content_type(document)
    if document.is_json:
        if not document.contents:
            raise bad_request(
                "the document is labelled application/json but is empty (an empty body is not JSON)",
                path="Content-Type", error="content_type",
            )
        try:
            strict_json.loads(document.contents)
        except (ValueError, RecursionError) as exc:
            raise bad_request(f"the document is labelled application/json but is not valid JSON: {exc}",
                              path="Content-Type", error="content_type")
