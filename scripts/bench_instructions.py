#!/usr/bin/env python3
"""CPU work per statement of the whole POST path, counted in instructions (host-independent).

    .venv/bin/python scripts/bench_instructions.py            # needs valgrind
    .venv/bin/python scripts/bench_instructions.py --batches 5 25 --single

Wall-clock figures (scripts/bench.py) move with the host: a VM's share of its cores changes
from day to day. Instructions do not: this script runs the application in one process
(the ASGI app called directly, the SQLite writer and indexer as threads, no sockets) under
``valgrind --tool=callgrind`` twice, with a small and a large number of 100-statement
POSTs of the benchmark's xAPI-SG traffic, and prints the difference per statement: parsing,
validation, completion, the writer's SQLite work and the key index, user space only (the
kernel's share of writing the files is not counted). Use it to compare two builds:
the same build gives the same figure within about 2 %.

``--single`` counts one-statement POSTs instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What runs under valgrind: N POSTs through the ASGI app, then a clean shutdown (which indexes).
CHILD = r"""
import asyncio, base64, sys, tempfile
sys.path.insert(0, sys.argv[3])
import bench
from lrs.app import create_app
from lrs.config import Settings

count, per_request = int(sys.argv[1]), int(sys.argv[2])
model = bench.TrafficModel(count=2000)
bodies = [model.body(per_request) for _ in range(count)]
folder = tempfile.mkdtemp(prefix="lrs-instructions-")
app = create_app(Settings.from_env({
    "LRS_ADMIN_KEY": "k", "LRS_ADMIN_SECRET": "s", "LRS_SQLITE_WRITER": "thread",
    "LRS_DATABASE_URL": f"sqlite:///{folder}/lrs.sqlite3",
}))
auth = b"Basic " + base64.b64encode(b"k:s")


async def post(body):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/xapi/statements", "raw_path": b"/xapi/statements", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"lrs"), (b"content-type", b"application/json"), (b"authorization", auth),
                    (b"x-experience-api-version", b"1.0.3"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    done = False

    async def receive():
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()

    status = []

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    if status != [200]:
        raise SystemExit(f"POST answered {status}")


async def main():
    async with app.router.lifespan_context(app):
        for body in bodies:
            await post(body)


asyncio.run(main())
"""


def instructions(requests: int, per_request: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("LRS_")}
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", CHILD, str(requests), str(per_request), str(ROOT / "scripts")],
        capture_output=True, text=True, env=env,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs=2, default=(5, 25), metavar=("FEW", "MANY"),
                        help="POSTs in the two runs (default 5 25)")
    parser.add_argument("--single", action="store_true", help="one statement per POST instead of 100")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    per_request = 1 if args.single else 100
    few, many = args.batches
    if per_request == 1:
        few, many = few * 20, many * 20
    if many <= few:
        parser.error("the second --batches number must be the larger")
    print(f"counting instructions: {few} and {many} POSTs of {per_request} statement(s), under callgrind ...",
          file=sys.stderr)
    low, high = instructions(few, per_request), instructions(many, per_request)
    per_statement = (high - low) / ((many - few) * per_request)
    print(f"{per_statement:,.0f} instructions per statement"
          f" ({'single-statement' if per_request == 1 else '100-statement'} POSTs, whole path, user space)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
