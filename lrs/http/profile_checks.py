"""Profile checks on statement writes: which xAPI Profile applies to a request, and what to do.

The credential's own setting (``lrs credentials create --profile --enforcement``)
wins over the LRS's (``LRS_PROFILE``, ``LRS_PROFILE_ENFORCEMENT``):

- ``strict``: any violation rejects the whole request (400, ``error: profile``,
  every violation with the index of its statement in the request);
- ``warn``: the statements are stored, the violations kept with them, and the
  response says how many (``X-LRS-Profile-Violations``);
- ``off``: no profile check (xAPI validation always applies).

Voiding statements are not checked: voiding is how xAPI corrects what was stored
(Data 2.3.2), and a profile describes the statements about the learning experience.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from lrs.http.auth import Principal
from lrs.profiles import Profile, load_profile
from lrs.store.base import Store, ViolationRow
from lrs.xapi.errors import XAPIError
from lrs.xapi.statements import PreparedStatement

HEADER = "X-LRS-Profile-Violations"


def applicable(request: Request) -> tuple[Profile | None, str]:
    """The profile and enforcement for this request's credential: (None, "off") when none applies."""
    principal: Principal = request.state.principal
    settings = request.app.state.settings
    name = principal.profile or settings.profile
    enforcement = principal.enforcement or (settings.profile_enforcement if name else "off")
    if not name or enforcement == "off":
        return None, "off"
    return load_profile(name), enforcement


async def check(
    request: Request, prepared: list[PreparedStatement], *, located: bool
) -> tuple[list[ViolationRow], dict[str, str]]:
    """Check a batch; 400 in strict mode. Returns the rows to keep and the response headers (warn mode)."""
    profile, enforcement = applicable(request)
    if profile is None:
        return [], {}
    lookup = await _referenced(request.app.state.store, profile, prepared)
    found: list[tuple[int, PreparedStatement, Any]] = []
    for index, p in enumerate(prepared):
        if p.is_voiding:  # xAPI's own correction, not a statement about the learning experience
            continue
        for violation in profile.check(p.document(), lookup.get):
            found.append((index, p, violation))
    if enforcement == "strict":
        if not found:
            return [], {}
        statements = len({index for index, _, _ in found})
        raise XAPIError(
            400,
            f"{statements} statement(s) of the request do not follow the profile {profile.label or profile.id}"
            f" ({len(found)} violation(s)); nothing was stored",
            error="profile", profile=profile.id,
            violations=[{"statement": index if located else 0, **v.as_dict()} for index, _, v in found],
        )
    rows = [
        (p.id, profile.id, v.template, v.location, orjson.dumps(v.found).decode(), v.message) for _, p, v in found
    ]
    return rows, {HEADER: str(len(found))}


async def _referenced(store: Store, profile: Profile, prepared: list[PreparedStatement]) -> dict[str, dict[str, Any]]:
    """Statements that StatementRefs of the batch point to, for templates with StatementRef templates."""
    if not any(t.object_statement_ref or t.context_statement_ref for t in profile.templates):
        return {}
    out = {p.id: p.document() for p in prepared}
    wanted = set()
    for p in prepared:
        statement = p.document()
        for target in (statement.get("object"), (statement.get("context") or {}).get("statement")):
            if isinstance(target, dict) and target.get("objectType") == "StatementRef":
                wanted.add(str(target.get("id", "")).lower())
    for statement_id in wanted - set(out):
        found = await store.get_statement(statement_id, voided=False) or await store.get_statement(statement_id, voided=True)
        if found is not None:
            out[statement_id] = found
    return out
