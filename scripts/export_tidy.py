#!/usr/bin/env python3
"""Researchers' entry point: tidy tables from statements, the same as `lrs export`.

    python scripts/export_tidy.py --output export/ [--format parquet] [--since 2026-01-01] ...
    python scripts/export_tidy.py --endpoint https://lrs.example.org/xapi --key K --secret S --output export/

Run `python scripts/export_tidy.py --help` for every option (they are `lrs export`'s). `--since` and
`--until` take a timestamp or a date (a date means its midnight UTC).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lrs.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["export", *sys.argv[1:]]))
