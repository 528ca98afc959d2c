"""create_app(settings) -> the ASGI application: store, auth, routes and middleware wired together."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from lrs.config import Settings
from lrs.credentials import new_credential, verify_secret
from lrs.http.about import about
from lrs.http.admin import profile_report
from lrs.http.activities import activities
from lrs.http.agents import agents
from lrs.http.auth import AuthMiddleware, Authenticator
from lrs.http.consistency import StoredClock
from lrs.http.documents import activity_profile, agent_profile, state
from lrs.http.export import export_statements_csv
from lrs.http.middleware import XAPIMiddleware
from lrs.http.statements import statements
from lrs.profiles import check_enforcement, load_profile
from lrs.store.base import Store, open_store
from lrs.xapi.errors import XAPIError

BASE = "/xapi"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    if settings.profile:  # a wrong LRS_PROFILE stops the start, not the first request
        check_enforcement(settings.profile_enforcement)
        load_profile(settings.profile)
    store = store or open_store(
        settings.database_url, synchronous=settings.sqlite_synchronous, writer=settings.sqlite_writer
    )

    authenticator = Authenticator(store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            await ensure_admin(store, settings)
            yield
        finally:
            authenticator.close()
            await store.close()

    routes = [
        Route(f"{BASE}/statements", statements, methods=["GET", "PUT", "POST"]),  # first: the busiest
        Route(f"{BASE}/about", about, methods=["GET"]),
        Route(f"{BASE}/activities/state", state, methods=["GET", "PUT", "POST", "DELETE"]),
        Route(f"{BASE}/activities/profile", activity_profile, methods=["GET", "PUT", "POST", "DELETE"]),
        Route(f"{BASE}/agents/profile", agent_profile, methods=["GET", "PUT", "POST", "DELETE"]),
        Route(f"{BASE}/activities", activities, methods=["GET"]),
        Route(f"{BASE}/agents", agents, methods=["GET"]),
        Route("/admin/profile/report", profile_report, methods=["GET"]),
        Route("/admin/export/statements.csv", export_statements_csv, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.settings = settings
    app.state.store = store
    app.state.stored_clock = StoredClock()
    app.add_middleware(AuthMiddleware, authenticator=authenticator, base=BASE)
    app.add_middleware(XAPIMiddleware, cors_origins=settings.cors_origins, max_body_bytes=settings.max_body_bytes,
                       refusal=store.refusal)
    return app


async def ensure_admin(store: Store, settings: Settings) -> None:
    """LRS_ADMIN_KEY / LRS_ADMIN_SECRET: a credential with scope ``all`` exists with that secret."""
    if not (settings.admin_key and settings.admin_secret):
        return
    existing = await store.get_credential(settings.admin_key)
    if (
        existing is not None
        and not existing.revoked
        and "all" in existing.scopes
        and verify_secret(settings.admin_secret, existing.secret_hash)
    ):
        return
    credential, _ = new_credential(
        ["all"], authority_homepage=settings.authority_homepage, key=settings.admin_key,
        secret=settings.admin_secret, label="admin (LRS_ADMIN_KEY)",
    )
    if existing is not None:  # a new secret (or scope, or a revoked key made good): the same authority
        credential = replace(credential, authority=existing.authority, created=existing.created)
    await store.put_credential(credential)


async def _not_found(request, exc):  # noqa: ANN001 - Starlette handler signature
    raise XAPIError(404, f"no resource at {request.url.path}", error="not_found")


async def _not_allowed(request, exc):  # noqa: ANN001
    raise XAPIError(405, f"{request.method} is not allowed on {request.url.path}", error="method_not_allowed",
                    headers={"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None)
