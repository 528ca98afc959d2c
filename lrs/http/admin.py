"""Admin resources outside the xAPI API (scope ``all/read`` or ``all``).

GET /admin/profile/report?registration=R[&profile=NAME]: the pattern report
(``lrs.profiles.lifecycle``) of one registration's statements, as JSON. NAME is a built-in
profile or the one the server runs with (``LRS_PROFILE``), never another path.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.http.responses import json_response
from lrs.profiles import BUILTIN, ProfileError, load_profile
from lrs.profiles.lifecycle import report
from lrs.store.base import Store, all_statements
from lrs.xapi.errors import bad_request
from lrs.xapi.query import StatementQuery, check_names, check_repeated
from lrs.xapi.validate import is_uuid

DEFAULT_PROFILE = "seriousgames"


async def profile_report(request: Request) -> Response:
    params = request.query_params
    check_names(params.keys(), frozenset({"registration", "profile"}))
    check_repeated(params.multi_items())  # which one was meant?
    registration = params.get("registration")
    if registration is None or not is_uuid(registration):
        raise bad_request("registration (a UUID) is required", path="registration", error="parameter")
    configured = request.app.state.settings.profile
    name = params.get("profile") or configured or DEFAULT_PROFILE
    if name not in BUILTIN and name != configured:
        # Never a path from the request: that would let a caller make the server read any file.
        raise bad_request(f"unknown profile {name[:200]!r}: over HTTP, use {', '.join(BUILTIN)} or the profile"
                          " the server was started with (LRS_PROFILE)", path="profile", error="profile")
    try:
        profile = load_profile(name)
        store: Store = request.app.state.store
        statements = await all_statements(store, StatementQuery(
            registration=registration.lower(), ascending=True, limit=request.app.state.settings.max_limit))
        return json_response(report(profile, statements))
    except (ProfileError, ValueError) as exc:
        raise bad_request(str(exc), path="profile", error="profile")
