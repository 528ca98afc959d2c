"""The ``lrs`` command: thin argument parsing that calls the layers.

    lrs serve [--host H] [--port P] [--database URL] [--workers N]
    lrs credentials create [--count N] [--scope S ...] [--output FILE] [--label TEXT]
                           [--profile NAME --enforcement strict|warn|off]
    lrs credentials list
    lrs credentials revoke KEY
    lrs profile report --violations | --registration R | --all-registrations [--json]
    lrs export --output DIR [--format csv|parquet] [filters] [--include-voided] [--no-pseudonymize]
               [--database URL | --endpoint URL --key K --secret S]

One module per command (serve, credentials, export, profile); _parser holds the argument tree,
_common what the commands share. The names below are those ``lrs.cli`` has always offered
(a test patches them where they are used: ``lrs.cli.serve._tune_gc``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from lrs.cli._common import _user_error
from lrs.cli._parser import _parser
from lrs.cli.credentials import DEFAULT_SCOPES, MAX_COUNT
from lrs.cli.export import DEFAULT_KEY_FILE, pseudonym_key
from lrs.cli.serve import SWITCH_INTERVAL, _tune_gc

__all__ = ["DEFAULT_KEY_FILE", "DEFAULT_SCOPES", "MAX_COUNT", "SWITCH_INTERVAL", "_tune_gc", "main", "pseudonym_key"]


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
