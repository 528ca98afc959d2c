#!/usr/bin/env python3
"""The SQLite writer alone: CPU per statement of its group commits, split by SQL statement.

    .venv/bin/python scripts/bench_writer.py                  # 600 commits of 2 x 100 statements
    .venv/bin/python scripts/bench_writer.py --commits 300 --jobs 4

No HTTP, no event loop: the benchmark's xAPI-SG traffic is validated and completed first
(``lrs.xapi``), each job pickled as the server pickles it for the writer process; then one
``GroupCommitter`` (the writer process's own, with its indexer and checkpoint threads) commits
the jobs, and the script prints the writer thread's CPU per statement (unpickling included),
the whole process's (indexer and checkpoints too), and each SQL statement's share of the
writer thread. What is left of the writer thread after the SQL is its Python.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import bench  # noqa: E402  (the traffic model)
from lrs.store import _sqlite_keys  # noqa: E402
from lrs.store._sqlite_db import create  # noqa: E402
from lrs.store._sqlite_writer import GroupCommitter  # noqa: E402
from lrs.xapi.statements import prepare  # noqa: E402
from lrs.xapi.validate import validate_statement  # noqa: E402

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "http://lrs.example", "name": "bench"}}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def jobs(commits: int, per_commit: int, per_job: int) -> list[list[bytes]]:
    model = bench.TrafficModel(count=2000)
    groups, n = [], 0
    for _ in range(commits):
        group = []
        for _ in range(per_commit):
            rows = []
            for statement in orjson.loads(model.body(per_job)):
                validate_statement(statement, "1.0.3")
                n += 1
                stored = (START + timedelta(microseconds=70 * n)).isoformat(timespec="microseconds")
                rows.append(prepare(statement, stored=stored.replace("+00:00", "Z"), authority=AUTHORITY,
                                    api_version="1.0.3").to_row())
            group.append(pickle.dumps(("insert", (rows, True, None, [], [], [], True)), pickle.HIGHEST_PROTOCOL))
        groups.append(group)
    return groups


def timed_sql() -> collections.Counter:
    """Time each SQL statement the writer's connection runs (thread CPU, by its first 70 characters)."""
    spent: collections.Counter = collections.Counter()
    cls = _sqlite_keys.WriterConnection
    execute, executemany = cls.execute, cls.executemany

    def timed(method, prefix):
        def run(self, sql, *args):
            began = time.thread_time()
            try:
                return method(self, sql, *args)
            finally:
                elapsed = time.thread_time() - began
                spent[prefix + " ".join(sql.split())[:70]] += elapsed
        return run

    cls.execute, cls.executemany = timed(execute, ""), timed(executemany, "(many) ")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=600, help="group commits (default 600)")
    parser.add_argument("--jobs", type=int, default=2, help="POSTs per group commit (default 2)")
    parser.add_argument("--per-job", type=int, default=100, help="statements per POST (default 100)")
    args = parser.parse_args()
    groups = jobs(args.commits, args.jobs, args.per_job)
    path = str(Path(tempfile.mkdtemp(prefix="lrs-bench-writer-")) / "lrs.sqlite3")
    create(path)
    spent = timed_sql()
    committer = GroupCommitter(path, synchronous="FULL")
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    for group in groups:
        results = committer.commit([pickle.loads(job) for job in group])
        assert all(ok for ok, _ in results), results[0]
    wall, thread = time.perf_counter() - wall, time.thread_time() - thread
    committer.close()  # (indexes what is left)
    process = time.process_time() - process
    count = args.commits * args.jobs * args.per_job
    per = 1e6 / count
    print(f"{count:,} statements in {args.commits} commits of {args.jobs} x {args.per_job}, synchronous=FULL")
    print(f"writer thread {thread * per:6.1f} us/statement (unpickling included; wall {wall * per:.1f})")
    print(f"whole process {process * per:6.1f} us/statement (with the indexer and WAL checkpoints)")
    sql = sum(spent.values())
    print(f"  of the writer thread: SQL {sql * per:.1f}, Python {(thread - sql) * per:.1f}")
    for text, seconds in spent.most_common(8):
        print(f"  {seconds * per:6.2f}  {text}")


if __name__ == "__main__":
    main()
