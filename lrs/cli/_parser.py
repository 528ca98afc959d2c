"""The argument tree of ``lrs``: each command's options, help and handler."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lrs.cli.credentials import MAX_COUNT, _create, _list, _revoke
from lrs.cli.export import DEFAULT_KEY_FILE, _export
from lrs.cli.profile import _profile_report
from lrs.cli.serve import _serve
from lrs.credentials import SCOPES
from lrs.profiles import ENFORCEMENTS

_TIME = ": an ISO 8601 timestamp or a date, e.g. 2026-11-01T12:00:00Z or 2026-11-01 (midnight UTC)"


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
    exp.add_argument("--format", choices=("csv", "parquet"), default="csv", help="csv (the default) or parquet")
    exp.add_argument("--output", required=True, help="directory for the tables, codebook.csv and README.txt")
    for name, text in (("since", "stored after this time (exclusive)" + _TIME),
                       ("until", "stored at or before this time" + _TIME),
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
