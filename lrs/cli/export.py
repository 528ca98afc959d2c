"""``lrs export``: tidy tables from this LRS's store or from any xAPI LRS over HTTP (lrs.export does
the work; pandas is loaded only when a command exports)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from pathlib import Path

from lrs.cli._common import _check_exists, _settings
from lrs.store.base import open_store

DEFAULT_KEY_FILE = "lrs-pseudonym.key"


def pseudonym_key(path: str | None, env: dict[str, str] | None = None) -> tuple[bytes, str]:
    """The HMAC key for pseudonyms and where it came from; a key file that does not exist is created."""
    env = os.environ if env is None else env
    if path is None and env.get("LRS_PSEUDONYM_KEY"):
        return env["LRS_PSEUDONYM_KEY"].encode(), "LRS_PSEUDONYM_KEY"
    key_path = Path(path or DEFAULT_KEY_FILE)
    if not key_path.exists():
        # made private from the start (written, then chmod-ed, it was readable by others in between)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        print(f"lrs: created the pseudonym key {key_path}: keep it, and keep it apart from the exports "
              "(the same key gives the same pseudonyms)", file=sys.stderr)
    key = key_path.read_text().strip().encode()
    if len(key) < 16:
        raise ValueError(f"the pseudonym key in {key_path} is too short (16 characters at least)")
    return key, str(key_path)


def _export(args: argparse.Namespace) -> int:
    from lrs.export import ExportOptions, HTTPSource, Privacy, StoreSource, export

    filters = {name: getattr(args, name) for name in ("since", "until", "activity", "verb", "registration", "agent")
               if getattr(args, name) is not None}
    _check_filters(filters)
    if not args.output.strip():
        raise ValueError("--output must name a directory for the tables")
    if args.endpoint is not None and not args.endpoint.startswith(("http://", "https://")):
        raise ValueError("--endpoint must be an http:// or https:// URL ending in /xapi")
    if args.endpoint is not None and not (args.key and args.secret):
        raise ValueError("--endpoint needs --key and --secret")
    if args.endpoint is None and (args.key is not None or args.secret is not None):
        raise ValueError("--key and --secret go with --endpoint (an LRS over HTTP)")
    if args.endpoint is not None and args.database is not None:
        raise ValueError("--endpoint and --database name two sources: give one")
    if args.endpoint is None:
        settings = _settings(args)
        _check_exists(settings.database_url)  # before a pseudonym key file is made for nothing
    if args.pseudonymize:
        key, _ = pseudonym_key(args.pseudonym_key_file)
        privacy = Privacy(key=key, names=args.names or "drop", free_text=args.free_text or "drop")
    else:
        privacy = Privacy(names=args.names or "keep", free_text=args.free_text or "keep")
    output = Path(args.output)
    show = sys.stderr.isatty()
    if args.endpoint is not None:
        source = HTTPSource(args.endpoint, args.key, args.secret)
        summary = export(source, ExportOptions(output, args.format, filters, args.include_voided, privacy, show,
                                               source_label=args.endpoint))
    else:
        loop = asyncio.new_event_loop()
        store = open_store(settings.database_url, writer="thread")
        loop.run_until_complete(store.open())
        try:
            summary = export(StoreSource(store, loop), ExportOptions(
                output, args.format, filters, args.include_voided, privacy, show, source_label=settings.database_url))
        finally:
            loop.run_until_complete(store.close())
            loop.close()
    tables = ", ".join(f"{name} {rows:,}" for name, rows in summary["tables"].items())
    print(f"exported to {output}: {tables} rows ({summary['seconds']} s)", file=sys.stderr)
    return 0


def _check_filters(filters: dict[str, str]) -> None:
    """The export's filters, as the HTTP export checks them: a bad one is an error before anything is written."""
    from lrs.export.filters import check
    from lrs.xapi.errors import XAPIError

    try:
        check(filters)
    except XAPIError as exc:
        raise ValueError(f"--{exc.path or 'filter'}: {exc.message}") from None
