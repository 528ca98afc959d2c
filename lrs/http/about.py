"""GET /about: the versions this LRS speaks; no credential needed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs import __version__
from lrs.http.responses import json_response
from lrs.xapi.query import check_param_names
from lrs.xapi.versions import advertised


async def about(request: Request) -> Response:
    check_param_names(request.query_params.keys(), frozenset())
    return json_response(
        {
            "version": advertised(request.scope.get("state", {}).get("xapi_version")),
            "extensions": {"urn:lrs:server": {"name": "lrs", "version": __version__}},
        }
    )
