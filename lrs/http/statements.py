"""The Statement Resource: PUT, POST, GET (and HEAD) /statements.

Parse the request, hand the statements to the domain layer
(``lrs.xapi.validate`` then ``lrs.xapi.statements.prepare``), the store does
the rest; GET parses its parameters into a ``StatementQuery``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from starlette.requests import Request
from starlette.responses import Response

from lrs.http import profile_checks
from lrs.http.auth import Principal
from lrs.http.consistency import StoredClock
from lrs.http.responses import JSON, json_response, no_content
from lrs.store.base import Store
from lrs.xapi import attachments, formats, signatures, strict_json
from lrs.xapi.attachments import Part
from lrs.xapi.documents import media_type
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi.query import SingleQuery, check_param_names, check_repeated, encode_more, parse_statement_params
from lrs.xapi.statements import PreparedStatement, prepare
from lrs.xapi.timestamps import http_date
from lrs.xapi.validate import batch_matches_schema, is_uuid, validate_statement
from lrs.xapi.versions import is_v2

MULTIPART = attachments.MULTIPART
YIELD_EVERY = 20  # statements validated between two turns of the event loop


async def statements(request: Request) -> Response:
    method = request.method
    check_repeated(request.query_params.multi_items())
    if method in ("GET", "HEAD"):
        return await get_statements(request)
    if method == "PUT":
        return await put_statement(request)
    if method == "POST":
        return await post_statements(request)
    raise XAPIError(405, f"{method} is not supported on /statements", error="method_not_allowed")


# -- writing ---------------------------------------------------------------------------

async def put_statement(request: Request) -> Response:
    params = request.query_params
    check_param_names(params.keys(), frozenset({"statementId"}))
    statement_id = params.get("statementId")
    if statement_id is None:
        raise bad_request("PUT /statements needs the statementId parameter", path="statementId", error="parameter")
    if not is_uuid(statement_id):
        raise bad_request("statementId must be a UUID", path="statementId", error="parameter")
    body, parts = await _statement_body(request)
    if not isinstance(body, dict):
        raise bad_request("PUT /statements takes one Statement object", path="", error="validation")
    version = _version(request)
    validate_statement(body, version)
    if "id" in body and body["id"].lower() != statement_id.lower():
        raise bad_request("the statement's id does not match the statementId parameter", path="id", error="parameter")
    body.setdefault("id", statement_id)  # (before the signature check: a signed payload's id is compared)
    stored_parts = _attachment_parts([body], parts, located=False, version=version)
    _, _, headers = await _store_batch(request, [body], located=False, parts=stored_parts)
    return no_content({**_consistent(request), **headers})


async def post_statements(request: Request) -> Response:
    check_param_names(request.query_params.keys(), frozenset())
    body, parts = await _statement_body(request)
    single = isinstance(body, dict)
    batch = [body] if single else body
    if not isinstance(batch, list):
        raise bad_request("POST /statements takes a Statement object or an array of them", path="", error="validation")
    most = request.app.state.settings.max_batch
    if most and len(batch) > most:
        raise XAPIError(413, f"the batch holds {len(batch)} statements; this LRS takes at most {most} in one request"
                             " (LRS_MAX_BATCH): send them in smaller batches", error="too_large")
    version = _version(request)
    schema_checked = not single and batch_matches_schema(batch, version)
    seen: dict[str, int] = {}
    for index, statement in enumerate(batch):
        validate_statement(statement, version, path="" if single else f"[{index}]", schema_checked=schema_checked)
        if "id" in statement:
            sid = statement["id"].lower()
            if sid in seen:
                raise bad_request(
                    f"statements {seen[sid]} and {index} of the batch have the same id {statement['id']}",
                    path=f"[{index}].id", error="duplicate_id",
                )
            seen[sid] = index
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # let other requests' responses go out while a big batch is checked
    stored_parts = _attachment_parts(batch, parts, located=not single, version=version)
    ids, new, headers = await _store_batch(request, batch, located=not single, parts=stored_parts)
    if single and not new:
        # A statement the LRS already has (an equivalent one: a different one is a 409), sent alone:
        # 204 No Content, as Communication 2.1.2.s2.b4 has it. A batch always gets its ids.
        return no_content({**_consistent(request), **headers})
    return json_response(ids, headers={**_consistent(request), **headers})


def _attachment_parts(
    batch: list[dict[str, Any]], parts: list[Part], *, located: bool, version: str
) -> list[Part]:
    """The attachment parts to store with a validated batch; 400 when parts and Attachments do not match
    (XAPI-00128, XAPI-00129) or a signature is malformed (Data §2.6)."""
    if not parts and not any(True for _ in attachments.declared(batch)):
        return []
    stored = attachments.match(batch, parts, located=located)
    by_hash = {part.sha2: part for part in parts}
    for index, statement in enumerate(batch):
        signatures.check(statement, by_hash, path=f"[{index}]." if located else "", centiseconds=is_v2(version))
    return stored


async def _store_batch(
    request: Request, batch: list[dict[str, Any]], *, located: bool, parts: Sequence[Part] = ()
) -> tuple[list[str], list[str], dict[str, str]]:
    """Complete, profile-check (``profile_checks``) and store a validated batch: its ids, the ids
    stored now (not those the LRS already had), and extra headers."""
    principal: Principal = request.state.principal
    store: Store = request.app.state.store
    clock: StoredClock = request.app.state.stored_clock
    version = _version(request)
    profile, enforcement = profile_checks.applicable(request)
    sent = profile_checks.authored(batch) if profile is not None else []
    token, stored_values = clock.begin(len(batch))  # in flight until stored: see lrs.http.consistency
    try:
        prepared: list[PreparedStatement] = [
            prepare(statement, stored=stored, authority=principal.authority, api_version=version,
                    path=f"[{index}]" if located else "")
            for index, (statement, stored) in enumerate(zip(batch, stored_values))
        ]
        violations: list = []
        headers: dict[str, str] = {}
        if profile is not None:
            violations, headers = await profile_checks.check(
                request, prepared, sent, profile, enforcement, located=located)
        new = await store.insert_statements(
            prepared, define=principal.may_define, credential=principal.key, violations=violations,
            attachments=parts, void_any=principal.may_void_any,
        )
    finally:
        clock.end(token)
    return [p.statement["id"] for p in prepared], new, headers


async def _statement_body(request: Request) -> tuple[Any, list[Part]]:
    """The parsed statements of a PUT or POST, and the attachment parts of a multipart/mixed one."""
    content_type = request.headers.get("content-type", "")
    kind = media_type(content_type)
    if kind == MULTIPART:
        raw, parts = attachments.parse(await request.body(), content_type)
        return _parse_json(raw), parts
    if kind != JSON:
        raise bad_request("statements must be sent as application/json or multipart/mixed", path="Content-Type",
                          error="content_type")
    return _parse_json(await request.body()), []


UTF8_BOM = b"\xef\xbb\xbf"


def _parse_json(raw: bytes) -> Any:
    if raw.startswith(UTF8_BOM):  # RFC 8259 §8.1: a parser may ignore it (.NET's UTF-8 writers put one first)
        raw = raw[len(UTF8_BOM):]
    if not raw:
        raise bad_request("the request body is empty", path="", error="json")
    try:
        return strict_json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError and DuplicateKey
        raise bad_request(f"the body is not valid JSON: {exc}", path="", error="json")
    except RecursionError:
        raise bad_request("the body is nested too deeply", path="", error="json")


# -- reading ---------------------------------------------------------------------------

async def get_statements(request: Request) -> Response:
    settings = request.app.state.settings
    store: Store = request.app.state.store
    principal: Principal = request.state.principal
    consistent = _consistent(request)  # before reading: every statement stored before it is in what we read
    query = parse_statement_params(request.query_params, max_limit=settings.max_limit)
    languages = formats.parse_accept_language(request.headers.get("accept-language"))
    if isinstance(query, SingleQuery):
        statement = await store.get_statement(query.statement_id, voided=query.voided)
        if statement is None or (principal.reads_only_own and not _own(statement, principal)):
            raise XAPIError(404, f"no statement with id {query.statement_id}", error="not_found")
        [out] = await _formatted(store, [statement], query.format, languages)
        # A statement stored after writes still in flight: the header waits for them, so as not to be
        # earlier than the statement it comes with (XAPI-00152) nor claim what is not yet committed.
        if statement["stored"] > consistent[CONSISTENT]:
            await request.app.state.stored_clock.settled(statement["stored"])
            consistent = _consistent(request)
        headers = {**consistent, "Last-Modified": http_date(statement["stored"])}
        if query.attachments:
            return await _with_attachments(store, [statement], out, headers, principal)
        return json_response(out, headers=headers)
    if principal.reads_only_own:
        query = query.with_authority(principal.authority_ifi)
    # Only statements stored at or before the Consistent-Through header (XAPI-00152: it is not before
    # any returned statement's stored); one committed after a write still in flight shows from the
    # next read on. The `more` link keeps the query as asked: each page is bounded by its own header.
    page, cursor = await store.query_statements(query.through(consistent[CONSISTENT]))
    result: dict[str, Any] = {"statements": await _formatted(store, page, query.format, languages), "more": ""}
    if cursor is not None:
        result["more"] = f"{request.scope['path']}?more={encode_more(query, cursor)}"
    headers = dict(consistent)
    if page:
        headers["Last-Modified"] = http_date(max(s["stored"] for s in page))
    if query.attachments:
        return await _with_attachments(store, page, result, headers, principal)
    return json_response(result, headers=headers)


async def _with_attachments(
    store: Store, page: list[dict[str, Any]], content: Any, headers: dict[str, str], principal: Principal
) -> Response:
    """``attachments=true``: multipart/mixed, the JSON first, then the data of every attachment of the
    statements that the LRS has (Communication §2.1.3.s2.b6, §1.5.2; XAPI-00167); for a
    ``statements/read/mine`` reader only data its own credential sent (``Store.get_attachments``)."""
    found = await store.get_attachments(attachments.wanted_hashes(page),
                                        sent_by=principal.key if principal.reads_only_own else None)
    body, content_type = attachments.build(orjson.dumps(content), attachments.as_declared(page, found))
    return Response(body, headers={**headers, "Content-Type": content_type})


def _own(statement: dict[str, Any], principal: Principal) -> bool:
    return statement.get("authority") == principal.authority


async def _formatted(
    store: Store, page: list[dict[str, Any]], fmt: str, languages: list[tuple[str, float]]
) -> list[dict[str, Any]]:
    if fmt == "ids":
        return [formats.to_ids(s) for s in page]
    if fmt == "canonical":
        definitions = await store.activities({aid for s in page for aid in formats.activity_ids(s)})
        made: dict[str, dict[str, Any]] = {}  # each definition made once for the page
        return [formats.to_canonical(s, definitions, languages, made=made) for s in page]
    return page


def _version(request: Request) -> str:
    return request.state.xapi_version


CONSISTENT = "X-Experience-API-Consistent-Through"


def _consistent(request: Request) -> dict[str, str]:
    return {CONSISTENT: request.app.state.stored_clock.consistent_through()}
