"""The store contract suite runs against every backend through one fixture.

Test ids name the backend: ``[sqlite]`` (writer thread) and ``[sqlite-process]``
(writer process), always. Later backends join ``BACKENDS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Callable

import pytest

from lrs.store.base import Store
from lrs.store.sqlite import SQLiteStore


def _sqlite(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "contract.sqlite3"), synchronous="NORMAL")


def _sqlite_process(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "contract.sqlite3"), synchronous="NORMAL", writer="process")


BACKENDS: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite, "sqlite-process": _sqlite_process}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=list(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = BACKENDS[request.param](tmp_path)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()
