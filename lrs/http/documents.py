"""The Document Resources: /activities/state, /activities/profile, /agents/profile.

One handler for the three (they differ only in their parameters, which
``lrs.xapi.documents.parse_params`` knows): GET (one document, or the list of
ids), HEAD, PUT, POST (JSON merge) and DELETE. The concurrency check and the
write happen in the store, in one transaction (for the multiple-document DELETE too: its If-Match /
If-None-Match are checked against the list of ids the GET with the same parameters returns).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.http.responses import JSON, no_content
from lrs.store.base import Store
from lrs.xapi import documents
from lrs.xapi.documents import ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Document
from lrs.xapi.errors import XAPIError
from lrs.xapi.query import check_repeated
from lrs.xapi.timestamps import format_stored, http_date, now


async def state(request: Request) -> Response:
    return await _document_resource(request, STATE)


async def activity_profile(request: Request) -> Response:
    return await _document_resource(request, ACTIVITY_PROFILE)


async def agent_profile(request: Request) -> Response:
    return await _document_resource(request, AGENT_PROFILE)


async def _document_resource(request: Request, resource: str) -> Response:
    method = request.method
    version: str = request.state.xapi_version
    store: Store = request.app.state.store
    check_repeated(request.query_params.multi_items())
    req = documents.parse_params(resource, method, request.query_params, version=version)

    if method in ("GET", "HEAD"):
        if req.doc_id is not None:
            document = await store.get_document(req.scope, req.doc_id)
            if document is None:
                raise XAPIError(404, f"no document with {documents.ID_PARAM[resource]} {req.doc_id!r} here", error="not_found")
            return Response(document.contents, headers={
                "Content-Type": documents.served_content_type(document.content_type), "ETag": f'"{document.etag}"',
                "Last-Modified": http_date(document.updated),
            })
        found = await store.document_ids(req.scope, since=req.since)
        body = documents.id_list([doc_id for doc_id, _ in found])
        headers = {"Content-Type": JSON, "ETag": f'"{documents.etag_of(body)}"'}
        if found:
            headers["Last-Modified"] = http_date(max(updated for _, updated in found))
        return Response(body, headers=headers)

    condition = documents.precondition(
        resource, method, if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"), version=version,
    )
    if method == "DELETE":
        if req.doc_id is None:
            # checked against the list the GET with the same parameters returns, in the store's transaction
            await store.delete_documents(req.scope, since=req.since, condition=condition)
        else:
            await store.delete_document(req.scope, req.doc_id, condition=condition)
        return no_content()

    assert req.doc_id is not None  # parse_params requires it for PUT and POST
    document = Document.new(await request.body(), request.headers.get("content-type"), format_stored(now()))
    merge = method == "POST"
    if merge:
        documents.check_post(document)
    else:
        documents.check_put(document)
    await store.save_document(req.scope, req.doc_id, document, merge=merge, condition=condition)
    return no_content()
