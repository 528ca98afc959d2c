"""Fixtures for the HTTP-level tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN


@pytest.fixture
def bare_client(client):
    """``client`` itself, stripped of its default credential and X-Experience-API-Version header.

    Tests using it pass ``auth=`` / ``headers=`` explicitly.
    """
    client.auth = None
    del client.headers["X-Experience-API-Version"]
    return client


@pytest.fixture
def admin() -> tuple[str, str]:
    return ADMIN
