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

import logging
from typing import Any

import orjson
from starlette.requests import Request

from lrs.http.auth import Principal
from lrs.profiles import Profile, ProfileError, load_profile
from lrs.store.base import Store, ViolationRow
from lrs.xapi.errors import XAPIError
from lrs.xapi.statements import PreparedStatement

HEADER = "X-LRS-Profile-Violations"
log = logging.getLogger("lrs.profiles")


def applicable(request: Request) -> tuple[Profile | None, str]:
    """The profile and enforcement for this request's credential: (None, "off") when none applies.

    A profile file that cannot be read (moved or deleted since the credential was made) is a 503
    naming it, not a 500: nothing is stored, and a game that sends again once it is fixed loses nothing.
    """
    principal: Principal = request.state.principal
    settings = request.app.state.settings
    name = principal.profile or settings.profile
    enforcement = principal.enforcement or (settings.profile_enforcement if name else "off")
    if not name or enforcement == "off":
        return None, "off"
    try:
        return load_profile(name), enforcement
    except (ProfileError, OSError, ValueError) as exc:
        log.error("the xAPI Profile %r of credential %s cannot be loaded: %s", name, principal.key, exc)
        raise XAPIError(
            503, f"the xAPI Profile this credential's statements are checked against cannot be loaded ({exc});"
            " nothing was stored: the LRS's administrator must restore the file or change the credential",
            error="profile_unavailable", headers={"Retry-After": "60"},
        ) from None


def authored(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as the client wrote them, before the LRS completes them (``prepare`` changes them
    in place): a profile's rules are what the statement's author must follow (Profiles Part Two §8), so
    a rule requiring ``timestamp`` is not met by the one the LRS adds, nor one excluding ``stored`` broken."""
    return orjson.loads(orjson.dumps(batch))


async def check(
    request: Request, prepared: list[PreparedStatement], sent: list[dict[str, Any]], profile: Profile,
    enforcement: str, *, located: bool,
) -> tuple[list[ViolationRow], dict[str, str]]:
    """Check a batch (``sent``: ``authored``; ``prepared``: the same statements completed) against
    ``profile``; 400 in strict mode. Returns the rows to keep and the response headers (warn mode)."""
    lookup = await _referenced(request.app.state.store, profile, prepared, sent)
    found: list[tuple[int, PreparedStatement, Any]] = []
    for index, (p, statement) in enumerate(zip(prepared, sent)):
        if p.is_voiding:  # xAPI's own correction, not a statement about the learning experience
            continue
        for violation in profile.check(statement, lookup.get):
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


async def _referenced(
    store: Store, profile: Profile, prepared: list[PreparedStatement], sent: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Statements that StatementRefs of the batch point to, for templates with StatementRef templates
    (those of the batch as their authors wrote them)."""
    if not any(t.object_statement_ref or t.context_statement_ref for t in profile.templates):
        return {}
    out = {p.id: statement for p, statement in zip(prepared, sent)}
    wanted = set()
    for statement in sent:
        for target in (statement.get("object"), (statement.get("context") or {}).get("statement")):
            if isinstance(target, dict) and target.get("objectType") == "StatementRef":
                wanted.add(str(target.get("id", "")).lower())
    for statement_id in wanted - set(out):
        found = await store.get_statement(statement_id, voided=False) or await store.get_statement(statement_id, voided=True)
        if found is not None:
            out[statement_id] = found
    return out
