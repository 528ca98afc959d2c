"""``lrs credentials create|list|revoke``: HTTP Basic credentials, secrets written once as CSV."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lrs.cli._common import _settings, _with_store
from lrs.config import Settings
from lrs.credentials import new_credential
from lrs.profiles import BUILTIN, load_profile

DEFAULT_SCOPES = ["statements/write", "statements/read/mine"]
MAX_COUNT = 100_000  # credentials one `credentials create` makes at most


def _create(args: argparse.Namespace) -> int:
    scopes = args.scope or DEFAULT_SCOPES
    if args.profile:
        load_profile(args.profile)  # an unknown profile is refused now, not on the players' first statement
        if args.profile not in BUILTIN:  # a path: the server may run in another directory
            args.profile = str(Path(args.profile).resolve())
    elif args.enforcement and args.enforcement != "off":
        raise ValueError("--enforcement strict or warn needs --profile")

    settings = _settings(args)

    def make(_: int) -> tuple[Any, str]:
        return new_credential(scopes, authority_homepage=settings.authority_homepage, label=args.label,
                              profile=args.profile, enforcement=args.enforcement)

    # Hashing a secret (PBKDF2) takes some 70 ms of CPU and releases the interpreter lock: one thread
    # per core makes a class's credentials that many times faster (2 cores: 200 in 7.6 s instead of 14.7).
    with ThreadPoolExecutor(max_workers=min(args.count, os.cpu_count() or 1)) as pool:
        made = list(pool.map(make, range(args.count)))
    # The secrets are written first: a credential whose secret could not be handed out must not exist.
    out = _secrets_file(args.output) if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")  # lines a shell reads whole (no \r after the secret)
        writer.writerow(["key", "secret"])
        writer.writerows((credential.key, secret) for credential, secret in made)
        out.flush()
    finally:
        if args.output:
            out.close()

    async def create(store: Any, settings: Settings) -> None:
        for credential, _ in made:
            await store.put_credential(credential)

    try:
        _with_store(args, create, create=True, settings=settings)
    except BaseException:
        if args.output:  # secrets of credentials that were not stored (or not all): not to be handed out
            Path(args.output).unlink(missing_ok=True)
        raise
    if args.output:
        print(f"wrote {len(made)} credential(s) with scope(s) {' '.join(scopes)} to {args.output}", file=sys.stderr)
    return 0


def _secrets_file(path: str) -> Any:
    """``path`` opened for writing, readable by its owner only (it holds secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file that was there keeps its mode otherwise
    except OSError:
        pass  # (a file system without modes)
    return os.fdopen(fd, "w", newline="")


def _list(args: argparse.Namespace) -> int:
    async def listing(store: Any, settings: Settings) -> list:
        return await store.list_credentials()

    credentials = _with_store(args, listing)  # nothing on standard output when there is no database
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["key", "scopes", "status", "created", "label"])
    for c in credentials:
        writer.writerow([c.key, " ".join(c.scopes), "revoked" if c.revoked else "active", c.created, c.label or ""])
    return 0


def _revoke(args: argparse.Namespace) -> int:
    async def revoke(store: Any, settings: Settings) -> bool:
        return await store.revoke_credential(args.key)

    if not _with_store(args, revoke):
        print(f"lrs: no credential with key {args.key}", file=sys.stderr)
        return 1
    print(f"revoked {args.key}", file=sys.stderr)
    return 0
