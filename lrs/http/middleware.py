"""Plain ASGI middleware for what every xAPI request shares.

``XAPIMiddleware`` (outermost) answers CORS preflights and adds CORS headers,
rewrites the Alternate Request Syntax (``POST ...?method=PUT`` with a form
body) into the request it stands for, requires a supported
``X-Experience-API-Version`` (except on /about), limits the body size,
adds the version header and ``Cache-Control: no-store`` to every response, drops bodies from HEAD
responses, and renders every refusal (``XAPIError``) and every unexpected
error as a JSON body.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote_plus, unquote_to_bytes, urlencode, urlsplit

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs._gc import RELEASE_AFTER_BYTES, release_memory
from lrs.xapi import versions
from lrs.xapi.documents import media_type
from lrs.xapi.errors import XAPIError, bad_request
from lrs.xapi.validate import is_digits

log = logging.getLogger("lrs")

VERSION_HEADER = b"x-experience-api-version"
CONSISTENT_THROUGH = b"x-experience-api-consistent-through"
# Browsers keep a GET answer with Last-Modified and no Cache-Control and serve it again unasked
# (heuristic freshness, RFC 9111 §4.2.2): a polled statement list or a saved state went stale for
# minutes. xAPI answers are personal data read through credentials: no cache stores them.
CACHE_CONTROL = b"cache-control"
NO_STORE = b"no-store"
# Documents are sent back with the Content-Type they were stored with, and the alternate request syntax
# lets a plain cross-site HTML form (a top-level navigation) GET one with the form's own Authorization:
# a `text/html` state document with a script ran as a page of the LRS's origin, where the browser adds
# the Basic credentials it remembers for /admin. No answer of the LRS is a page: none may run a script,
# load anything, be framed or be sniffed into another type.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; sandbox"),
)
FORM = "application/x-www-form-urlencoded"
# Form fields the Alternate Request Syntax treats as headers (xAPI Communication §1.3).
FORM_HEADERS = {
    "authorization", "x-experience-api-version", "content-type", "content-length", "if-match", "if-none-match",
}
ALTERNATE_METHODS = {"GET", "HEAD", "PUT", "POST", "DELETE"}
EXPOSED = (
    "ETag, Last-Modified, Content-Type, X-Experience-API-Version, X-Experience-API-Consistent-Through,"
    " X-LRS-Profile-Violations"
)
ALLOWED_HEADERS = "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, Accept-Language"


class XAPIMiddleware:
    def __init__(
        self, app: ASGIApp, *, cors_origins: tuple[str, ...] = ("*",), max_body_bytes: int = 0, base: str = "/xapi",
        refusal: Callable[[BaseException], XAPIError | None] | None = None,
    ) -> None:
        self.app = app
        self.refusal = refusal  # the store's: an error of the database's state as its 503/507 (Store.refusal)
        self.base = base  # the xAPI API: requests elsewhere (/admin) need no X-Experience-API-Version
        self.cors_origins = cors_origins
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "//" in scope["path"] or b"cachebuster" in scope.get("query_string", b""):
            scope = _tolerated(scope)
        headers = _headers(scope)
        origin = headers.get("origin")
        reply = _Reply(send, origin=self._allowed_origin(origin), head=scope["method"] == "HEAD")
        version = None
        declared = _declared_length(headers)
        large = (declared or 0) >= RELEASE_AFTER_BYTES
        try:
            if scope["method"] == "OPTIONS":
                await self._preflight(headers, reply)
                return
            receive = self._limited(declared, receive)
            if b"%" in scope.get("query_string", b""):
                _check_utf8(scope["query_string"])
            if scope["method"] == "POST" and _has_param(scope, "method"):
                _refuse_alternate_in_v2(headers.get("x-experience-api-version"), reply)
                scope, receive, headers = await _alternate(scope, receive)
                _refuse_alternate_in_v2(headers.get("x-experience-api-version"), reply)
                # HEAD through a POST: the answer of a POST, so its Content-Length is that of no body
                reply.head = reply.empty_post = scope["method"] == "HEAD"
            sent = headers.get("x-experience-api-version")
            version = versions.negotiate(sent)
            if version is not None:
                reply.version = version
                scope.setdefault("state", {})["xapi_version"] = version
            elif scope["path"].startswith(self.base) and not scope["path"].rstrip("/").endswith("/about"):
                raise bad_request(
                    "the X-Experience-API-Version header is required" if sent is None
                    else f"X-Experience-API-Version {sent!r} is not supported (1.0.x or 2.0.x)",
                    path="X-Experience-API-Version", error="version",
                )
            await self.app(scope, receive, reply)
        except XAPIError as exc:
            if version is None:  # refused before the version was read (413): answer in the one asked for
                reply.version = versions.negotiate(headers.get("x-experience-api-version")) or reply.version
            await reply.error(exc.status, exc.body(), exc.headers,
                              consistent_through=_consistent_through(scope) if "/statements" in scope["path"] else None)
        except ClientDisconnect:  # the client went away before its body had arrived: nobody to answer
            log.info("client disconnected during %s %s", scope["method"], scope["path"])
        except Exception as exc:  # never a bare 500 page: a JSON body, and the traceback in the log
            refused = self.refusal(exc) if self.refusal is not None else None
            if refused is None:
                log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                await reply.error(500, {"error": "internal", "message": "internal server error"}, {})
            else:  # the database's state (full, unreachable): what the operator must see, once a request
                log.error("database error on %s %s: %s: %s", scope["method"], scope["path"], type(exc).__name__, exc)
                await reply.error(refused.status, refused.body(), refused.headers, consistent_through=(
                    _consistent_through(scope) if "/statements" in scope["path"] else None))
        finally:
            if large:
                release_memory()  # what a large request's objects took is free again: give it back

    def _allowed_origin(self, origin: str | None) -> str | None:
        if origin is None:
            return None
        if "*" in self.cors_origins or origin in self.cors_origins:
            return origin
        return None

    async def _preflight(self, headers: dict[str, str], reply: "_Reply") -> None:
        extra = {
            "access-control-allow-methods": "GET, HEAD, PUT, POST, DELETE, OPTIONS",
            "access-control-allow-headers": headers.get("access-control-request-headers") or ALLOWED_HEADERS,
            "access-control-max-age": "86400",
        }
        await reply.send({"type": "http.response.start", "status": 204, "headers": [(k.encode(), v.encode()) for k, v in extra.items()]})
        await reply.send({"type": "http.response.body", "body": b""})

    def _limited(self, declared: int | None, receive: Receive) -> Receive:
        """``receive`` refusing a body over the limit (``declared``: the request's Content-Length)."""
        limit = self.max_body_bytes
        if not limit:
            return receive
        if declared is not None and declared > limit:
            raise XAPIError(413, f"the request body is larger than {limit} bytes", error="too_large")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise XAPIError(413, f"the request body is larger than {limit} bytes", error="too_large")
            return message

        return limited


def _consistent_through(scope: Scope) -> str:
    """What the application's ``lrs.http.consistency.StoredClock`` says (Starlette puts the app in the scope)."""
    return scope["app"].state.stored_clock.consistent_through()


def _declared_length(headers: dict[str, str]) -> int | None:
    """The request's Content-Length, when it states one in digits."""
    declared = headers.get("content-length")
    return int(declared) if declared is not None and is_digits(declared) else None


class _Reply:
    """The ``send`` the application sees: adds the xAPI and CORS headers, drops HEAD bodies."""

    def __init__(self, send: Send, *, origin: str | None, head: bool) -> None:
        self._send = send
        self.origin = origin
        self.head = head
        self.empty_post = False
        # The version a request asked for; otherwise (no or an unsupported header) 1.0.3
        # (versions.UNDECLARED: what both conformance suites accept).
        self.version = versions.UNDECLARED
        self.started = False

    async def __call__(self, message: Message) -> None:
        await self.send(message)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = list(message.get("headers", []))
            if self.empty_post:
                headers = [(k, b"0" if k.lower() == b"content-length" else v) for k, v in headers]
            headers.append((VERSION_HEADER, self.version.encode()))
            if not any(k.lower() == CACHE_CONTROL for k, _ in headers):
                headers.append((CACHE_CONTROL, NO_STORE))
            headers.extend(SECURITY_HEADERS)
            if self.origin is not None:
                headers.append((b"access-control-allow-origin", self.origin.encode()))
                headers.append((b"access-control-expose-headers", EXPOSED.encode()))
                headers.append((b"vary", b"Origin"))
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and self.head and message.get("body"):
            message = {**message, "body": b""}
        await self._send(message)

    async def error(
        self, status: int, body: dict[str, Any], headers: dict[str, str], *, consistent_through: str | None = None
    ) -> None:
        if self.started:  # too late for a clean error response; the connection will be closed
            raise RuntimeError("error after the response started")
        raw = [(b"content-type", b"application/json")]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if consistent_through is not None:
            raw.append((CONSISTENT_THROUGH, consistent_through.encode()))
        payload = orjson.dumps(body)
        raw.append((b"content-length", str(len(payload)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": raw})
        await self.send({"type": "http.response.body", "body": payload})


def _tolerated(scope: Scope) -> Scope:
    """What clients send beside the spec, made into the request they mean.

    - Repeated slashes in the path are one: TinCan.NET follows ``more`` as ``<host>/`` + ``/xapi/...``
      (web servers such as nginx merge them too).
    - ``cachebuster`` (xapi.js's ``useCacheBuster``: a timestamp that defeats HTTP caches) is a
      parameter this LRS recognises and ignores; any other unknown parameter is still a 400.
    """
    scope = dict(scope)
    scope["path"] = _SLASHES.sub("/", scope["path"])
    query = scope.get("query_string", b"")
    if b"cachebuster" in query:
        kept = [part for part in query.split(b"&")
                if unquote_plus(part.partition(b"=")[0].decode("latin-1")) != "cachebuster"]
        scope["query_string"] = b"&".join(kept)
    return scope


_SLASHES = re.compile(r"//+")


def _check_utf8(query: bytes) -> None:
    """400 naming a query parameter whose percent-escapes do not decode as UTF-8 (Communication §1.4:
    strings are UTF-8). Decoded leniently, ``%FF`` would become U+FFFD and match what holds one."""
    for field in query.split(b"&"):
        name, _, value = field.partition(b"=")
        for raw in (name, value):
            try:
                unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                shown = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
                raise bad_request(f"parameter {shown!r} is not UTF-8 once its percent-escapes are decoded",
                                  path=shown, error="parameter")


def _cross_site(headers: dict[str, str]) -> bool:
    """Whether a browser sent the request for a page of another origin (its Origin names another host
    than the request's, or is ``null``); a request without Origin is not a browser's cross-site one."""
    origin = headers.get("origin")
    if origin is None:
        return False
    try:
        netloc = urlsplit(origin.strip()).netloc
    except ValueError:  # not a URL (such as "http://["): no page of this host sent it
        return True
    return netloc.lower() != headers.get("host", "").strip().lower()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _has_param(scope: Scope, name: str) -> bool:
    query = scope.get("query_string", b"")
    if name.encode() not in query and b"%" not in query:  # most requests: no need to parse
        return False
    return any(k == name for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))


async def _read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise bad_request("the client disconnected")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _refuse_alternate_in_v2(sent: str | None, reply: "_Reply") -> None:
    """xAPI 2.0 (IEEE 9274.1.1) has no Alternate Request Syntax: the 1.0.3 text (Communication §1.3) is
    gone, and a parameter the standard does not define is a 400 (§4.1.5), ``method`` included. A request
    is a 2.0 one when its X-Experience-API-Version header says so, or (the syntax carries headers in the
    form) its form's field does: checked before and after the form is read. 1.0.x requests keep it."""
    version = versions.negotiate(sent)
    if version is not None and versions.is_v2(version):
        reply.version = version
        raise bad_request(
            "the alternate request syntax (POST with a 'method' parameter and a form) is not part of xAPI 2.0 "
            "(IEEE 9274.1.1): send the request itself, with its headers (the syntax stays for xAPI 1.0.x requests)",
            path="method", error="alternate_syntax",
        )


async def _alternate(scope: Scope, receive: Receive) -> tuple[Scope, Receive, dict[str, str]]:
    """The request an Alternate Request Syntax POST stands for (xAPI Communication §1.3)."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if len(query) != 1:
        raise bad_request("with the alternate request syntax, 'method' must be the only query parameter",
                          path="method", error="alternate_syntax")
    method = query[0][1].upper()
    if method not in ALTERNATE_METHODS:
        raise bad_request(f"method {query[0][1]!r} is not an xAPI method", path="method", error="alternate_syntax")
    headers = _headers(scope)
    content_type = media_type(headers.get("content-type"))
    # A form, which clients SHOULD* label as one (§1.3.s3.b9); XDomainRequest (the reason for
    # this syntax) cannot: it sends no Content-Type or text/plain.
    if content_type not in (FORM, "", "text/plain"):
        raise bad_request(f"the alternate request syntax needs Content-Type {FORM}", path="Content-Type",
                          error="alternate_syntax")
    raw = await _read_all(receive)
    try:
        # errors="strict": content MUST be read as UTF-8 (§1.3.s3.b5), not patched with U+FFFD
        fields = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise bad_request("the form body is not valid application/x-www-form-urlencoded UTF-8", error="alternate_syntax")
    new_headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    params: list[tuple[str, str]] = []
    content = b""
    form_names = {name.lower() for name, _ in fields}
    for name, value in fields:
        lower = name.lower()
        if lower == "content":
            content = value.encode("utf-8")
        elif name == "cachebuster":  # ignored here too (see _tolerated)
            continue
        elif lower in FORM_HEADERS:
            new_headers[lower] = value
        else:
            params.append((name, value))
    if "authorization" not in form_names and _cross_site(headers):
        # A browser adds Basic credentials it remembers for this LRS to a form another site makes it
        # POST, and this syntax is the one request to this API that a plain HTML form can make (a
        # form sets no X-Experience-API-Version header): from another site, only the form's own
        # Authorization counts (cross-site request forgery; clients that cannot set headers put
        # it in the form, as the syntax intends).
        new_headers.pop("authorization", None)
    new_headers.pop("content-length", None)
    if content and "content-type" not in new_headers and scope.get("path", "").endswith("/statements"):
        # statements are JSON whatever the form says; a document without a Content-Type field is
        # what a request without the header is (§1.3.s3.b10 leaves the field to the client)
        new_headers["content-type"] = "application/json"
    new_headers["content-length"] = str(len(content))
    new_scope = dict(scope)
    new_scope["method"] = method
    new_scope["query_string"] = urlencode(params).encode("latin-1")
    try:
        new_scope["headers"] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in new_headers.items()]
    except UnicodeEncodeError:
        raise bad_request("a header in the form has a value that is not Latin-1 (HTTP header text)",
                          error="alternate_syntax")
    new_scope["lrs.alternate"] = True
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": content, "more_body": False}

    return new_scope, replay, new_headers
