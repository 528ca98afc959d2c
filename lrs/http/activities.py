"""GET /activities?activityId=: the canonical Activity the LRS keeps (xAPI Communication §2.5)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lrs.http.responses import tagged_json
from lrs.store.base import Store
from lrs.xapi.errors import bad_request
from lrs.xapi.query import check_names, check_repeated
from lrs.xapi.validate import is_iri


async def activities(request: Request) -> Response:
    params = request.query_params
    check_repeated(params.multi_items())
    check_names(params.keys(), frozenset({"activityId"}))
    activity_id = params.get("activityId")
    if activity_id is None:
        raise bad_request("the activityId parameter is required", path="activityId", error="parameter")
    if not is_iri(activity_id):
        raise bad_request("activityId must be an IRI", path="activityId", error="parameter")
    store: Store = request.app.state.store
    definition = (await store.activities([activity_id])).get(activity_id)
    # Unknown: still an Activity object (§2.5, XAPI-00251), with its id only.
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = definition
    return tagged_json(activity)
