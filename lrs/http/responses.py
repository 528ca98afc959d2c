"""JSON responses rendered with orjson."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import orjson
from starlette.responses import Response

JSON = "application/json"


class JSONResponse(Response):
    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(content, status_code=status, headers=dict(headers) if headers else None)


def tagged_json(content: Any, headers: Mapping[str, str] | None = None) -> Response:
    """200 JSON with an ETag: the SHA-1 of the body (xAPI 1.0.3 Communication §3.1)."""
    body = orjson.dumps(content)
    tag = hashlib.sha1(body).hexdigest()
    return Response(body, media_type=JSON, headers={**(headers or {}), "ETag": f'"{tag}"'})


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=dict(headers) if headers else None)
