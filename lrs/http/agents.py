"""GET /agents?agent=: the Person object for an Agent (xAPI Communication §2.4).

It gathers what stored statements say about the agent's IFI: every name it was
sent with, beside the identifier itself. (Statements give each Agent exactly
one IFI, so one identifier; an LRS linking several would need a directory.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.http.responses import tagged_json
from lrs.store.base import Store
from lrs.xapi.agents import ifi_key, person
from lrs.xapi.errors import bad_request
from lrs.xapi.query import check_names, check_repeated
from lrs.xapi.validate import agent_param


async def agents(request: Request) -> Response:
    params = request.query_params
    check_repeated(params.multi_items())
    check_names(params.keys(), frozenset({"agent"}))
    if "agent" not in params:
        raise bad_request("the agent parameter is required", path="agent", error="parameter")
    agent = agent_param(params["agent"], allow_group=False)
    store: Store = request.app.state.store
    names = sorted(await store.agent_names(ifi_key(agent) or ""))
    return tagged_json(person(agent, names))
