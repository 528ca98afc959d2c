"""``lrs serve``: the xAPI API under uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from lrs._gc import tune_gc
from lrs.cli._common import _settings, _with_store
from lrs.config import Settings

SWITCH_INTERVAL = 0.0005  # seconds: see _serve


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # The SQLite writer thread wins the GIL back after each database call; with the
    # default 5 ms switch interval it waits that long behind a busy event loop.
    sys.setswitchinterval(SWITCH_INTERVAL)
    _tune_gc()

    from lrs.http.server import PROTOCOL

    settings = _settings(args)

    async def opens(store: Any, settings: Settings) -> None:
        pass

    # The database is opened (and made, if missing) once here first, so that a wrong path or an
    # unreachable server is one "lrs: ..." line and status 2, as for the other commands, not a
    # traceback from inside the server's start-up.
    _with_store(args, opens, create=True, settings=settings)
    os.environ["LRS_DATABASE_URL"] = settings.database_url  # the app factory reads it, in every worker
    uvicorn.run(
        "lrs.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_level=args.log_level, access_log=False, proxy_headers=True, http=PROTOCOL,
        # No WebSocket: an Upgrade request is answered as the HTTP request it is (with the version
        # header and a JSON body), not refused by the server with a bare 403.
        ws="none",
    )
    return 0


def _tune_gc() -> None:
    """``lrs._gc.tune_gc`` once the modules a worker runs are loaded (so that they are frozen)."""
    import lrs.app  # noqa: F401

    tune_gc()
