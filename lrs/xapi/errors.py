"""The one exception type the LRS raises for a request it refuses.

Domain code raises it; the HTTP layer renders it as a JSON body
``{"error": ..., "message": ..., "path": ...}`` with the given status.
"""

from __future__ import annotations

from typing import Any


class XAPIError(Exception):
    """A refusal with an HTTP status and a JSON-serialisable body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error or _DEFAULT_ERRORS.get(status, "error")
        self.path = path
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": short(self.message)}
        if self.path is not None:
            body["path"] = self.path
        body.update(self.extra)
        return body

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"XAPIError({self.status}, {self.message!r}, error={self.error!r}, path={self.path!r})"


MAX_MESSAGE = 2000  # characters of a message in an error body: a refused 10 MB value is not sent back whole


def short(message: str) -> str:
    """``message``, or its beginning and end around a note of how much was left out."""
    if len(message) <= MAX_MESSAGE:
        return message
    head, tail = message[: MAX_MESSAGE - 500], message[-400:]
    return f"{head} [... {len(message) - len(head) - len(tail)} characters left out ...] {tail}"


_DEFAULT_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    429: "too_many_requests",
}


def bad_request(message: str, *, path: str | None = None, error: str = "bad_request", **extra: Any) -> XAPIError:
    return XAPIError(400, message, error=error, path=path, **extra)


def invalid(path: str, message: str, *, rule: str | None = None) -> XAPIError:
    """A statement (or parameter) failed validation at ``path``."""
    extra = {"rule": rule} if rule else {}
    return XAPIError(400, f"{path}: {message}" if path else message, error="validation", path=path, **extra)


# What any refused credential is told, whichever check refused it (at the request or at the commit):
# an unknown key and a revoked one must not be told apart (a black-box probe, earlier).
REFUSED = "unknown key, revoked credential or wrong secret"


def unauthorized(message: str) -> XAPIError:
    """401 with the challenge HTTP Basic clients expect."""
    return XAPIError(401, message, error="unauthorized", headers={"WWW-Authenticate": 'Basic realm="xAPI"'})


# When the database refuses work (full, unreachable, busy past its timeout): not the request's fault and
# not a bug of the LRS, so a 5xx that says so, which trackers retry, not the 500 of an unexpected error.
def storage_full(detail: str) -> XAPIError:
    """507 Insufficient Storage (RFC 4918 §11.5): the database has no room for this write."""
    return XAPIError(
        507, f"the LRS's database is full ({detail}): this request was not carried out; send it again once"
             " the LRS's operator has made room", error="storage_full", headers={"Retry-After": "60"})


def storage_unavailable(detail: str, *, retry_after: int = 5) -> XAPIError:
    """503: the database cannot be reached or used at the moment."""
    return XAPIError(
        503, f"the LRS's database cannot be used at the moment ({detail}): send the request again later"
             " (a statement with an id is stored only once)",
        error="unavailable", headers={"Retry-After": str(retry_after)})
