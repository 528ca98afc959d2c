"""The issue's reference point: a bare Starlette endpoint that only parses the body and answers ids.

``scripts/bench.py --baseline`` serves this app instead of the LRS (same uvicorn,
one worker, no access log) and drives it with the same client and traffic, so
that the LRS's figures can be set against what the same host does with no LRS
at all. The issue measured this endpoint at about 3,400 statements/s single and
21,000/s in batches of 100 on the machine its targets were set for.

    .venv/bin/python -m uvicorn bench_baseline:app --app-dir scripts --no-access-log
"""

from __future__ import annotations

import json
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def statements(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    batch = [body] if isinstance(body, dict) else body
    return JSONResponse([s.get("id") or str(uuid.uuid4()) for s in batch])


async def about(request: Request) -> JSONResponse:
    return JSONResponse({"version": ["1.0.3", "2.0.0"]})


app = Starlette(routes=[
    Route("/xapi/statements", statements, methods=["POST"]),
    Route("/xapi/about", about),
])
