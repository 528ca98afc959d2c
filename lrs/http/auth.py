"""HTTP Basic authentication and the scope table, in one place.

``AuthMiddleware`` turns the ``Authorization`` header into a ``Principal``
(401 with ``WWW-Authenticate`` when missing or wrong) and checks the
principal's scopes against ``PERMISSIONS`` for the resource and action
(403 when they do not allow the call). /about needs no credential.

A revocation takes effect at once: reads look the credential up in the
store on every request; statement writes, the hot path, are authorised
again by the store inside the transaction that commits them
(``insert_statements(..., credential=key)``), so they need no look-up of
their own once the credential is known. The slow PBKDF2 check of a secret
runs once per process and credential, after which a keyed digest of the
accepted secret is remembered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from lrs.credentials import verify_secret
from lrs.store.base import Credential, Store
from lrs.xapi.agents import ifi_key
from lrs.xapi.errors import REFUSED, XAPIError, bad_request, unauthorized

READ, WRITE = "read", "write"

# (resource, action) -> the scopes that allow it. "all" allows everything.
PERMISSIONS: dict[tuple[str, str], frozenset[str]] = {
    ("statements", READ): frozenset({"statements/read", "statements/read/mine", "all/read", "all"}),
    ("statements", WRITE): frozenset({"statements/write", "all"}),
    ("state", READ): frozenset({"state", "all/read", "all"}),
    ("state", WRITE): frozenset({"state", "all"}),
    ("activity-profile", READ): frozenset({"profile", "all/read", "all"}),
    ("activity-profile", WRITE): frozenset({"profile", "all"}),
    ("agent-profile", READ): frozenset({"profile", "all/read", "all"}),
    ("agent-profile", WRITE): frozenset({"profile", "all"}),
    ("activities", READ): frozenset({"statements/read", "all/read", "all", "define", "profile", "state"}),
    ("agents", READ): frozenset({"statements/read", "all/read", "all", "define", "profile", "state"}),
    ("admin", READ): frozenset({"all/read", "all"}),
    ("admin", WRITE): frozenset({"all"}),
}
FULL_READ = frozenset({"statements/read", "all/read", "all"})
# The methods of each xAPI resource: any other is a 405 whoever asks, so it is answered before
# authentication (the ADL conformance suite sends DELETE /statements without credentials).
METHODS: dict[str, frozenset[str]] = {
    "statements": frozenset({"GET", "HEAD", "PUT", "POST"}),
    "state": frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"}),
    "activity-profile": frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"}),
    "agent-profile": frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"}),
    "activities": frozenset({"GET", "HEAD"}),
    "agents": frozenset({"GET", "HEAD"}),
}
MAX_REMEMBERED = 100_000
# A statement write with a remembered key and secret skips the look-up for this long after the last
# one: its commit checks revocation anyway, but not a secret changed meanwhile (LRS_ADMIN_SECRET given
# anew to another process: a review found the old one still writing here until the new one was used).
RECHECK_AFTER = 1.0  # seconds
# PBKDF2 checks of secrets not seen before run in this many threads: each costs some 60 ms of a core,
# and a flood of them (someone trying secrets for a known key) must leave the other core to the server.
VERIFY_THREADS = 1
MAX_WAITING_CHECKS = 64  # distinct secrets waiting for a check; beyond, 429 until the queue shortens


@dataclass(frozen=True)
class Principal:
    key: str
    scopes: frozenset[str]
    authority: dict[str, Any]
    profile: str | None = None  # the credential's own xAPI Profile setting (None: the LRS's)
    enforcement: str | None = None

    @property
    def authority_ifi(self) -> str:
        return ifi_key(self.authority) or ""

    @property
    def reads_only_own(self) -> bool:
        """``statements/read/mine`` without a broader read scope."""
        return "statements/read/mine" in self.scopes and not (self.scopes & FULL_READ)

    @property
    def may_define(self) -> bool:
        return bool(self.scopes & {"define", "all"})

    @property
    def may_void_any(self) -> bool:
        """Void statements that other credentials stored (otherwise only its own: Data 2.3.2.s2.b4)."""
        return "all" in self.scopes


def resource_of(path: str, base: str) -> str | None:
    """The resource a path names (None for /about and for paths outside the API)."""
    rest = path[len(base):] if path.startswith(base) else path
    rest = rest.strip("/")
    if rest == "about":
        return None
    if rest == "activities/state":
        return "state"
    if rest == "activities/profile":
        return "activity-profile"
    if rest == "agents/profile":
        return "agent-profile"
    if rest in ("statements", "activities", "agents"):
        return rest
    if rest.startswith("admin") or path.startswith("/admin"):
        return "admin"
    return "unknown"


class Authenticator:
    """Checks Basic credentials against the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # key -> (digest of the secret hash and the secret last accepted, the secret hash, the Principal,
        # time.monotonic() of the look-up that last found them in the store)
        self._accepted: dict[str, tuple[bytes, str, Principal, float]] = {}
        # digest -> the check of that secret against that hash now running (see _verify)
        self._verifying: dict[bytes, asyncio.Future[bool]] = {}
        # digests of secrets found wrong for their hash: a game sending a mistyped secret again and
        # again costs one check, not one per request
        self._refused: set[bytes] = set()
        # the checks run one at a time, beside the event loop (see _verify)
        self._checker = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="lrs-secret-check")

    def close(self) -> None:
        """Stop the checking thread (a check under way finishes; a later one starts it again)."""
        self._checker.shutdown(wait=False)
        self._checker = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="lrs-secret-check")

    async def principal(self, authorization: str | None, *, checked_at_commit: bool = False) -> Principal:
        """The Principal for an Authorization header.

        ``checked_at_commit``: the caller's store write re-checks the credential
        (statement writes), so a remembered credential needs no look-up here.
        """
        key, secret = _basic(authorization)
        if checked_at_commit:
            remembered = self._accepted.get(key)
            if (
                remembered is not None and time.monotonic() - remembered[3] < RECHECK_AFTER
                and remembered[0] == _digest(remembered[1], secret)
            ):
                return remembered[2]
        credential = await self.store.get_credential(key)
        if credential is None or credential.revoked:
            # The same answer as a wrong secret. (Not after the same time: checking the secret of
            # every request of a revoked player's game, which goes on sending, would cost 60 ms of
            # CPU each; keys that `lrs credentials create` makes cannot be guessed anyway.)
            raise unauthorized(REFUSED)
        digest = _digest(credential.secret_hash, secret)
        remembered = self._accepted.get(key)
        if remembered is None or remembered[0] != digest:
            if digest in self._refused:  # this secret, against this hash, was wrong already
                raise unauthorized(REFUSED)
            if not await self._verify(digest, secret, credential.secret_hash):
                if len(self._refused) >= MAX_REMEMBERED:
                    self._refused.clear()
                self._refused.add(digest)
                raise unauthorized(REFUSED)
            if len(self._accepted) >= MAX_REMEMBERED:
                self._accepted.clear()
        principal = _principal(credential)
        self._accepted[key] = (digest, credential.secret_hash, principal, time.monotonic())
        return principal

    async def _verify(self, digest: bytes, secret: str, secret_hash: str) -> bool:
        """``verify_secret`` (PBKDF2, tens of ms of CPU) in a thread, once for concurrent requests that
        send one secret for one hash: a client's first burst of requests, or every client of a
        restarted server, would otherwise hash it once per request and stall the server for a second.

        Checks run one at a time (``VERIFY_THREADS``), so that however many arrive (someone trying
        secrets for a known key, with a new one each time) they take one core, not both; past
        ``MAX_WAITING_CHECKS`` waiting, a request that needs another check gets 429."""
        running = self._verifying.get(digest)
        if running is None or running.get_loop() is not asyncio.get_running_loop():  # (another loop: tests)
            if len(self._verifying) >= MAX_WAITING_CHECKS:
                raise XAPIError(429, "too many credential checks are waiting: send the request again in a moment",
                                error="too_many_requests", headers={"Retry-After": "1"})
            running = asyncio.get_running_loop().run_in_executor(self._checker, verify_secret, secret, secret_hash)
            self._verifying[digest] = running
            running.add_done_callback(lambda _: self._verifying.pop(digest, None))
        return await asyncio.shield(running)  # one request cancelled (its client left) does not cancel the others'




def _digest(secret_hash: str, secret: str) -> bytes:
    return hashlib.sha256(f"{secret_hash}\0{secret}".encode()).digest()


def _principal(credential: Credential) -> Principal:
    return Principal(
        key=credential.key, scopes=frozenset(credential.scopes), authority=credential.authority,
        profile=credential.extra.get("profile"), enforcement=credential.extra.get("enforcement"),
    )


def _basic(authorization: str | None) -> tuple[str, str]:
    if not authorization:
        raise unauthorized("authentication required (HTTP Basic)")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise unauthorized("only HTTP Basic authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # also UnicodeDecodeError, and a header that is not ASCII
        raise unauthorized("malformed Basic credentials")
    key, sep, secret = decoded.partition(":")
    if not sep or not key:
        raise unauthorized("malformed Basic credentials")
    return key, secret


class AuthMiddleware:
    """Authenticates every API request except /about and puts the Principal in ``scope['state']``."""

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, base: str = "/xapi") -> None:
        self.app = app
        self.authenticator = authenticator
        self.base = base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resource = resource_of(scope["path"], self.base)
        if resource is not None and scope["method"] not in METHODS.get(resource, (scope["method"],)):
            resource = None  # the router answers 405
        if resource is not None:
            authorization = None
            for name, value in scope["headers"]:
                if name.lower() == b"authorization":
                    if authorization is not None:  # which one a proxy in front checked is not known
                        raise bad_request("the request has more than one Authorization header",
                                          path="Authorization", error="authorization")
                    authorization = value.decode("latin-1")
            action = READ if scope["method"] in ("GET", "HEAD") else WRITE
            principal = await self.authenticator.principal(
                authorization, checked_at_commit=(resource == "statements" and action == WRITE)
            )
            allowed = PERMISSIONS.get((resource, action))
            if allowed is not None and not (principal.scopes & allowed):
                raise XAPIError(
                    403, f"this credential's scopes ({', '.join(sorted(principal.scopes))}) do not allow {action} on {resource}",
                    error="forbidden",
                )
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
