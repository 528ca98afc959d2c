"""``lrs profile report``: the violations kept in warn mode, or the pattern report."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lrs.cli._common import _with_store
from lrs.config import Settings
from lrs.profiles import load_profile
from lrs.store.base import all_statements
from lrs.xapi.query import StatementQuery
from lrs.xapi.validate import is_uuid


def _profile_report(args: argparse.Namespace) -> int:
    from lrs.profiles import lifecycle

    if args.violations:
        async def violations(store: Any, settings: Settings) -> list:
            return await store.profile_violations(limit=args.limit)

        rows = _with_store(args, violations)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(f"{len(rows)} profile violation(s) kept in warn mode" + (" (newest first):" if rows else ""))
            for v in rows:
                print(f"- statement {v['statement']} (stored {v['stored']}), template {v['template'] or '(none)'}:"
                      f" {v['message']}; found {json.dumps(v['found'])}")
        return 0

    if args.registration is not None and not is_uuid(args.registration):
        raise ValueError("--registration must be a UUID")

    async def pattern(store: Any, settings: Settings) -> dict:
        profile = load_profile(args.profile or settings.profile or "seriousgames")
        query = StatementQuery(registration=args.registration.lower() if args.registration else None,
                               ascending=True, limit=settings.max_limit)
        return lifecycle.report(profile, await all_statements(store, query))

    result = _with_store(args, pattern)
    print(json.dumps(result, indent=2) if args.json else lifecycle.as_text(result))
    return 0
