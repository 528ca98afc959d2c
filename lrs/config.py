"""Settings from the environment and the command line, in one frozen dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from lrs.xapi.rules import is_digits

DEFAULT_DATABASE_URL = "sqlite:///lrs.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    admin_key: str | None = None
    admin_secret: str | None = None
    # the homePage of the authority account the LRS writes for each credential
    authority_homepage: str = "urn:lrs:credentials"
    max_limit: int = 500  # statements per page at most (limit=0 means this)
    max_body_bytes: int = 20 * 1024 * 1024  # larger requests get 413
    # statements one POST may carry (0: no limit): the body limit alone let 20 MiB of minimal statements
    # (200,000) take a gigabyte while checked; typical ones reach the body limit first (~24,000)
    max_batch: int = 25_000
    cors_origins: tuple[str, ...] = ("*",)
    sqlite_synchronous: str = "FULL"
    sqlite_writer: str = "process"  # "process": SQLite writes on a second core; "thread": all in one process
    profile: str | None = None  # xAPI Profile statements are checked against (a shipped name or a file)
    profile_enforcement: str = "strict"  # strict | warn | off, when a profile is set
    pseudonym_key: str | None = field(default=None, repr=False)  # HMAC key of GET /admin/export pseudonyms

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("LRS_DATABASE_URL"):
            values["database_url"] = env["LRS_DATABASE_URL"]
        if env.get("LRS_ADMIN_KEY"):
            values["admin_key"] = env["LRS_ADMIN_KEY"]
        if env.get("LRS_ADMIN_SECRET"):
            values["admin_secret"] = env["LRS_ADMIN_SECRET"]
        if env.get("LRS_AUTHORITY_HOMEPAGE"):
            values["authority_homepage"] = env["LRS_AUTHORITY_HOMEPAGE"]
        if env.get("LRS_MAX_LIMIT"):
            values["max_limit"] = _number(env, "LRS_MAX_LIMIT", low=1)
        if env.get("LRS_MAX_BODY_BYTES"):
            values["max_body_bytes"] = _number(env, "LRS_MAX_BODY_BYTES", low=0)
        if env.get("LRS_MAX_BATCH"):
            values["max_batch"] = _number(env, "LRS_MAX_BATCH", low=0)
        if env.get("LRS_CORS_ORIGINS"):
            values["cors_origins"] = tuple(o.strip() for o in env["LRS_CORS_ORIGINS"].split(",") if o.strip())
        if env.get("LRS_SQLITE_SYNCHRONOUS"):
            values["sqlite_synchronous"] = _choice(env, "LRS_SQLITE_SYNCHRONOUS", ("OFF", "NORMAL", "FULL", "EXTRA"))
        if env.get("LRS_SQLITE_WRITER"):
            values["sqlite_writer"] = _choice(env, "LRS_SQLITE_WRITER", ("process", "thread"))
        if env.get("LRS_PROFILE"):
            values["profile"] = env["LRS_PROFILE"]
        if env.get("LRS_PROFILE_ENFORCEMENT"):
            values["profile_enforcement"] = _choice(env, "LRS_PROFILE_ENFORCEMENT", ("strict", "warn", "off"))
        if env.get("LRS_PSEUDONYM_KEY"):
            values["pseudonym_key"] = env["LRS_PSEUDONYM_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if bool(values.get("admin_key")) != bool(values.get("admin_secret")):
            given, missing = (("LRS_ADMIN_KEY", "LRS_ADMIN_SECRET") if values.get("admin_key")
                              else ("LRS_ADMIN_SECRET", "LRS_ADMIN_KEY"))
            raise ValueError(f"{given} is set but {missing} is not: the admin credential needs both (or neither)")
        return cls(**values)

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def _number(env: Mapping[str, str], name: str, *, low: int) -> int:
    text = env[name].strip()
    if not is_digits(text) or int(text) < low:
        raise ValueError(f"{name}={env[name]!r}: a whole number of at least {low} is needed")
    return int(text)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env[name].strip()
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ValueError(f"{name}={env[name]!r}: one of {', '.join(choices)} is needed")
