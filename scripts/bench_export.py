#!/usr/bin/env python3
"""Benchmark `lrs export`: throughput and peak memory on a large store.

    .venv/bin/python scripts/bench_export.py [--count 1000000] [--reuse PATH] [--formats csv,parquet]

Seeds an SQLite store with simulated xAPI-SG players (scripts/simulate_game.py;
skipped with --reuse when the file already holds enough), then runs
`lrs export` in a child process per format and prints statements/s and the
child's peak RSS (the issue's target: under 500 MB for 1,000,000 statements).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrs.store.sqlite import SQLiteStore  # noqa: E402
from lrs.xapi.statements import prepare  # noqa: E402
from lrs.xapi.timestamps import now, stored_sequence  # noqa: E402

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "urn:lrs:credentials", "name": "bench"}}
CHILD = """
import resource, sys, time
from lrs.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
print("RESULT", time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
raise SystemExit(code)
"""


def simulator():
    spec = importlib.util.spec_from_file_location("simulate_game", ROOT / "scripts" / "simulate_game.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def stored_count(path: Path) -> int:
    store = SQLiteStore(str(path), synchronous="NORMAL")
    await store.open()
    try:
        import sqlite3

        conn = sqlite3.connect(str(path))
        count = conn.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
        conn.close()
        return count
    finally:
        await store.close()


async def seed(path: Path, count: int) -> None:
    sim = simulator()
    store = SQLiteStore(str(path), synchronous="NORMAL")
    await store.open()
    done, player, start = 0, 0, time.perf_counter()
    try:
        while done < count:
            player += 1
            statements = sim.player_statements(1, player)[: count - done]
            for i in range(0, len(statements), 500):
                part = statements[i:i + 500]
                prepared = [prepare(s, stored=t, authority=AUTHORITY, api_version="1.0.3")
                            for s, t in zip(part, stored_sequence(now(), len(part)))]
                await store.insert_statements(prepared, define=False)
            done += len(statements)
            if player % 500 == 0:
                print(f"  seeded {done:,} statements ({done / (time.perf_counter() - start):,.0f}/s)", flush=True)
    finally:
        await store.close()


def run_export(path: Path, fmt: str, out: Path, key: Path) -> tuple[float, int, dict]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "export", "--format", fmt, "--output", str(out), "--database",
         f"sqlite:///{path}", "--pseudonym-key-file", str(key)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"export failed: {result.stderr[-2000:]}")
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("RESULT ")][-1]
    _, seconds, maxrss_kb = line.split()
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    return float(seconds), int(maxrss_kb) * 1024, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--reuse", type=Path, help="SQLite file to seed once and reuse")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrs-bench-export-") as work:  # the exports and (without --reuse) the database
        return measure(args, Path(work))


def measure(args: argparse.Namespace, work: Path) -> int:
    path = args.reuse or work / "bench.sqlite3"
    have = asyncio.run(stored_count(path)) if path.exists() else 0
    if have < args.count:
        print(f"seeding {args.count - have:,} statements into {path} ...", flush=True)
        asyncio.run(seed(path, args.count - have))
    count = asyncio.run(stored_count(path))
    key = work / "pseudonym.key"
    key.write_text("b" * 64)
    figures = {"statements": count}
    for fmt in args.formats.split(","):
        seconds, rss, sizes = run_export(path, fmt, work / f"out-{fmt}", key)
        figures[fmt] = {"seconds": round(seconds, 1), "statements_per_s": round(count / seconds),
                        "peak_rss_mb": round(rss / 1e6), "bytes": sizes}
        print(f"{fmt:8s} {count:,} statements in {seconds:,.1f} s: {count / seconds:,.0f} statements/s, "
              f"peak RSS {rss / 1e6:,.0f} MB (target < 500 MB) {'PASS' if rss < 500e6 else 'FAIL'}; "
              f"statements.{fmt} {sizes.get('statements.' + fmt, 0) / 1e6:,.0f} MB", flush=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
