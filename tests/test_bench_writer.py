"""scripts/bench_writer.py runs the writer on the benchmark's traffic and accounts for its SQL.

(How fast it is measures the host: not a test.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_writer_commits_every_statement_and_splits_the_writer_thread() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_writer.py"), "--commits", "3", "--jobs", "2", "--per-job", "5"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith("30 statements in 3 commits of 2 x 5, synchronous=FULL\n")
    assert re.search(r"^writer thread +[\d.]+ us/statement", out, re.M)
    assert re.search(r"^  of the writer thread: SQL [\d.]+, Python -?[\d.]+$", out, re.M)
    assert "INSERT INTO statements" in out and "COMMIT" in out
