"""HTTP Basic credentials: generation, scopes, and secret hashing (PBKDF2-SHA256).

Secrets are never stored: only ``pbkdf2_sha256$<iterations>$<salt>$<hash>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from lrs.store.base import Credential
from lrs.xapi.agents import credential_authority

SCOPES = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "all/read",
    "all",
    "state",
    "define",
    "profile",
)
ITERATIONS = 200_000


def generate_key() -> str:
    return secrets.token_hex(10)


def generate_secret() -> str:
    return secrets.token_urlsafe(24)


def hash_secret(secret: str, *, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.pbkdf2_hmac("sha256", secret.encode(), base64.urlsafe_b64decode(salt + "=="), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    return tuple(dict.fromkeys(scopes))


def new_credential(
    scopes: list[str] | tuple[str, ...],
    *,
    authority_homepage: str,
    key: str | None = None,
    secret: str | None = None,
    label: str | None = None,
    profile: str | None = None,
    enforcement: str | None = None,
) -> tuple[Credential, str]:
    """A new credential and its secret (returned once, stored only as a hash).

    ``profile``/``enforcement``: the xAPI Profile this credential's statements are
    checked against, and how (``strict`` by default when a profile is given).
    """
    key = key or generate_key()
    secret = secret or generate_secret()
    credential = Credential(
        key=key,
        secret_hash=hash_secret(secret),
        scopes=check_scopes(scopes),
        authority=credential_authority(key, authority_homepage),
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        label=label,
        extra=profile_settings(profile, enforcement),
    )
    return credential, secret


def profile_settings(profile: str | None, enforcement: str | None) -> dict[str, str]:
    """What a credential keeps about profile checking (in ``Credential.extra``)."""
    from lrs.profiles import check_enforcement

    out: dict[str, str] = {}
    if profile is not None:
        out["profile"] = profile
        out["enforcement"] = check_enforcement(enforcement or "strict")
    elif enforcement is not None:
        out["enforcement"] = check_enforcement(enforcement)
    return out


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
