"""The ``lrs`` command: thin argument parsing that calls the layers.

    lrs serve [--host H] [--port P] [--database URL] [--workers N]
    lrs credentials create [--count N] [--scope S ...] [--output FILE] [--label TEXT]
                           [--profile NAME --enforcement strict|warn|off]
    lrs credentials list
    lrs credentials revoke KEY
    lrs profile report --violations | --registration R | --all-registrations [--json]
    lrs export --output DIR [--format csv|parquet] [filters] [--include-voided] [--no-pseudonymize]
               [--database URL | --endpoint URL --key K --secret S]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import secrets
import sqlite3
import sys
from pathlib import Path
from typing import Any, Sequence

from lrs._gc import tune_gc
from lrs.config import Settings
from lrs.credentials import SCOPES, new_credential
from lrs.profiles import BUILTIN, ENFORCEMENTS, load_profile
from lrs.store.base import all_statements, open_store, sqlite_path
from lrs.xapi.query import StatementQuery
from lrs.xapi.validate import is_uuid

DEFAULT_SCOPES = ["statements/write", "statements/read/mine"]
MAX_COUNT = 100_000  # credentials one `credentials create` makes at most
DEFAULT_KEY_FILE = "lrs-pseudonym.key"
SWITCH_INTERVAL = 0.0005  # seconds: see _serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, and nowhere to say it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        message = _user_error(exc)
        if message is None:
            raise
        print(f"lrs: {message}", file=sys.stderr)
        return 2


def _user_error(exc: Exception) -> str | None:
    """A one-line message for an error a user can fix (a bad argument, path or database); None for a bug."""
    if isinstance(exc, (ValueError, OverflowError)):
        return str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, sqlite3.Error):
        return f"the SQLite database: {exc}"
    if type(exc).__module__.startswith(("pymongo", "bson")):
        return f"MongoDB: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return None


def _at_least(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {low} to {high}" if high is not None else f"must be {low} or more")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrs", description="An xAPI Learning Record Store")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the xAPI API under /xapi/")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_at_least(0, 65535), default=8000)
    _database_arg(serve)
    serve.add_argument("--workers", type=_at_least(1), default=1, help="server processes (default 1)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug", "trace"))
    serve.set_defaults(handler=_serve)

    creds = commands.add_parser("credentials", help="create, list and revoke HTTP Basic credentials")
    creds.set_defaults(handler=_usage(creds))
    sub = creds.add_subparsers(metavar="ACTION")
    create = sub.add_parser("create", help="create credentials and write key,secret as CSV")
    create.add_argument("--count", type=_at_least(1, MAX_COUNT), default=1,
                        help=f"how many credentials (1 to {MAX_COUNT:,}; default 1)")
    create.add_argument("--scope", action="append", choices=SCOPES, help="repeat for several scopes"
                        " (default: statements/write and statements/read/mine)")
    create.add_argument("--output", help="CSV file to write (default: standard output)")
    create.add_argument("--label", help="a note kept with the credentials")
    create.add_argument("--profile", help="check these credentials' statements against this xAPI Profile"
                        " (seriousgames, or the path of a profile file)")
    create.add_argument("--enforcement", choices=ENFORCEMENTS,
                        help="with --profile: strict (default: reject), warn (store and report) or off")
    _database_arg(create)
    create.set_defaults(handler=_create)
    listing = sub.add_parser("list", help="list credentials (never their secrets)")
    _database_arg(listing)
    listing.set_defaults(handler=_list)
    revoke = sub.add_parser("revoke", help="revoke a credential at once")
    revoke.add_argument("key")
    _database_arg(revoke)
    revoke.set_defaults(handler=_revoke)

    exp = commands.add_parser("export", help="tidy tables (CSV or Parquet) from this LRS or any xAPI LRS")
    exp.add_argument("--format", choices=("csv", "parquet"), default="csv")
    exp.add_argument("--output", required=True, help="directory for the tables, codebook.csv and README.txt")
    for name, text in (("since", "stored after this time (exclusive)"), ("until", "stored at or before this time"),
                       ("activity", "this activity and those below it (context parent/grouping)"),
                       ("verb", "this verb IRI"), ("registration", "this registration (UUID)"),
                       ("agent", "this actor, as xAPI Agent JSON")):
        exp.add_argument(f"--{name}", help=text)
    exp.add_argument("--include-voided", action="store_true", help="also voided statements (column voided)")
    pseudo = exp.add_mutually_exclusive_group()
    pseudo.add_argument("--pseudonymize", dest="pseudonymize", action="store_true", default=True,
                        help="actor ids become keyed pseudonyms (the default)")
    pseudo.add_argument("--no-pseudonymize", dest="pseudonymize", action="store_false",
                        help="actor ids are the actors' identifiers (mbox, account, ...)")
    exp.add_argument("--pseudonym-key-file", help="the HMAC key (created if missing; default: LRS_PSEUDONYM_KEY,"
                     f" else ./{DEFAULT_KEY_FILE})")
    exp.add_argument("--names", choices=("keep", "hash", "drop"),
                     help="actor names (default: drop when pseudonymised, else keep)")
    exp.add_argument("--free-text", choices=("keep", "hash", "drop"),
                     help="fill-in and other free-text responses (default: drop when pseudonymised, else keep)")
    exp.add_argument("--endpoint", help="read from this xAPI LRS (base URL ending in /xapi) instead of --database")
    exp.add_argument("--key", help="with --endpoint: HTTP Basic key")
    exp.add_argument("--secret", help="with --endpoint: HTTP Basic secret")
    _database_arg(exp)
    exp.set_defaults(handler=_export)

    profile = commands.add_parser("profile", help="xAPI Profile reports")
    profile.set_defaults(handler=_usage(profile))
    psub = profile.add_subparsers(metavar="ACTION")
    rep = psub.add_parser("report", help="profile violations kept in warn mode, or the pattern report")
    what = rep.add_mutually_exclusive_group(required=True)
    what.add_argument("--violations", action="store_true", help="list the violations kept in warn mode")
    what.add_argument("--registration", help="the pattern report of one registration (a UUID)")
    what.add_argument("--all-registrations", action="store_true", help="the pattern report of every statement")
    rep.add_argument("--profile", help="the profile of the pattern report (default: LRS_PROFILE, else seriousgames)")
    rep.add_argument("--limit", type=_at_least(1), help="with --violations: the newest N only")
    rep.add_argument("--json", action="store_true", help="JSON instead of text")
    _database_arg(rep)
    rep.set_defaults(handler=_profile_report)
    return parser


def _usage(parser: argparse.ArgumentParser) -> Any:
    """The handler of a command given without its action: that command's help, status 2."""
    def usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return usage


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", help="sqlite:///path or mongodb://host/database (default: LRS_DATABASE_URL, else sqlite:///lrs.sqlite3)")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(database_url=args.database)
    sqlite_path(settings.database_url)  # a URL that names no database is an error now, not a file called "bogus?"
    return settings


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


def _with_store(
    args: argparse.Namespace, action: Any, *, create: bool = False, settings: Settings | None = None
) -> Any:
    """Run ``action(store, settings)`` on the --database store (``settings``: read already); one that
    does not exist is created only when ``create`` (a command that only reads or revokes refuses a
    database that is not there)."""
    settings = settings or _settings(args)
    if not create:
        _check_exists(settings.database_url)

    async def run() -> Any:
        store = open_store(settings.database_url, writer="thread")
        await store.open()
        try:
            return await action(store, settings)
        finally:
            await store.close()

    return asyncio.run(run())


def _create(args: argparse.Namespace) -> int:
    scopes = args.scope or DEFAULT_SCOPES
    if args.profile:
        load_profile(args.profile)  # an unknown profile is refused now, not on the players' first statement
        if args.profile not in BUILTIN:  # a path: the server may run in another directory
            args.profile = str(Path(args.profile).resolve())
    elif args.enforcement and args.enforcement != "off":
        raise ValueError("--enforcement strict or warn needs --profile")

    settings = _settings(args)
    made = [new_credential(scopes, authority_homepage=settings.authority_homepage, label=args.label,
                           profile=args.profile, enforcement=args.enforcement) for _ in range(args.count)]
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


def _check_exists(url: str) -> None:
    path = sqlite_path(url)
    if path is not None and not Path(path).is_file():
        raise ValueError(f"no SQLite database at {path} (check --database or LRS_DATABASE_URL)")


def pseudonym_key(path: str | None, env: dict[str, str] | None = None) -> tuple[bytes, str]:
    """The HMAC key for pseudonyms and where it came from; a key file that does not exist is created."""
    env = os.environ if env is None else env
    if path is None and env.get("LRS_PSEUDONYM_KEY"):
        return env["LRS_PSEUDONYM_KEY"].encode(), "LRS_PSEUDONYM_KEY"
    key_path = Path(path or DEFAULT_KEY_FILE)
    if not key_path.exists():
        key_path.write_text(secrets.token_hex(32) + "\n")
        key_path.chmod(0o600)
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
        key, where = pseudonym_key(args.pseudonym_key_file)
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
