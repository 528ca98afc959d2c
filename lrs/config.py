"""Settings from the environment and the command line, in one frozen dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

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
            values["max_limit"] = int(env["LRS_MAX_LIMIT"])
        if env.get("LRS_MAX_BODY_BYTES"):
            values["max_body_bytes"] = int(env["LRS_MAX_BODY_BYTES"])
        if env.get("LRS_CORS_ORIGINS"):
            values["cors_origins"] = tuple(o.strip() for o in env["LRS_CORS_ORIGINS"].split(",") if o.strip())
        if env.get("LRS_SQLITE_SYNCHRONOUS"):
            values["sqlite_synchronous"] = env["LRS_SQLITE_SYNCHRONOUS"]
        if env.get("LRS_SQLITE_WRITER"):
            values["sqlite_writer"] = env["LRS_SQLITE_WRITER"]
        if env.get("LRS_PROFILE"):
            values["profile"] = env["LRS_PROFILE"]
        if env.get("LRS_PROFILE_ENFORCEMENT"):
            values["profile_enforcement"] = env["LRS_PROFILE_ENFORCEMENT"]
        if env.get("LRS_PSEUDONYM_KEY"):
            values["pseudonym_key"] = env["LRS_PSEUDONYM_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)
