"""Shared fixtures: an in-process LRS on a fresh SQLite file per test.

    client                 TestClient with the admin credential and X-Experience-API-Version: 1.0.3
    credential(*scopes)    a new (key, secret) with those scopes, usable as ``auth=``
    statement(**overrides) a small valid statement (new dict each call)
"""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from lrs.credentials import new_credential

ADMIN = ("admin-key", "admin-secret")
BASE_STATEMENT: dict[str, Any] = {
    "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
    "object": {
        "objectType": "Activity",
        "id": "http://example.com/activities/level-1",
        "definition": {"name": {"en-US": "Level 1"}, "type": "http://adlnet.gov/expapi/activities/lesson"},
    },
}


def _mongo_backends_line() -> str:
    if os.environ.get("LRS_TEST_MONGODB_URI"):
        return ("store contract: [mongodb] runs on the server of LRS_TEST_MONGODB_URI; "
                "[mongomock] is a stand-in (mongomock through an async shim), not MongoDB")
    return ("store contract: [mongomock] is a stand-in (mongomock through an async shim), not MongoDB; "
            "[mongodb] is SKIPPED: set LRS_TEST_MONGODB_URI=mongodb://host:27017 to run it on a real server")


def pytest_report_header(config: pytest.Config) -> str:
    return _mongo_backends_line()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(_mongo_backends_line())


def sqlite_url(path: Path) -> str:
    return "sqlite:///" + str(path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_url(tmp_path / "lrs.sqlite3"),
        admin_key=ADMIN[0],
        admin_secret=ADMIN[1],
        sqlite_synchronous="NORMAL",
        sqlite_writer="thread",
    )


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        test_client.auth = ADMIN
        test_client.headers["X-Experience-API-Version"] = "1.0.3"
        yield test_client


@pytest.fixture
def credential(client: TestClient, app, settings: Settings) -> Callable[..., tuple[str, str]]:
    def make(*scopes: str) -> tuple[str, str]:
        cred, secret = new_credential(list(scopes), authority_homepage=settings.authority_homepage)
        client.portal.call(app.state.store.put_credential, cred)
        return cred.key, secret

    return make


@pytest.fixture
def statement() -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        out = copy.deepcopy(BASE_STATEMENT)
        out.update(copy.deepcopy(overrides))
        return out

    return make


def new_id() -> str:
    return str(uuid.uuid4())
