#!/usr/bin/env python3
"""Compare two builds of the LRS with scripts/bench.py, interleaved on this host.

This VM's speed changes from hour to hour (the same build has measured 1.5 to 2 times
the CPU per statement from one day to the next), so figures measured at different times
cannot compare builds. This script runs the POST phases of ``bench.py`` for two builds
in turns (A B, B A, A B, ...), so that both see the same host, and prints the ratio
of each pair:

    .venv/bin/python scripts/bench_compare.py 60f3bdd               # that commit against the working tree
    .venv/bin/python scripts/bench_compare.py 60f3bdd HEAD --pairs 6 --phases single
    .venv/bin/python scripts/bench_compare.py main /tmp/my-build    # a directory holding an lrs/ package

A build is a git revision (extracted with ``git archive`` into a temporary directory)
or a directory holding an ``lrs`` package; ``.`` (the default for B) is this checkout
as it is, uncommitted changes included. Both run with this interpreter and its installed
dependencies. Each run starts a server on a fresh database (``bench.py``: its own
process, the server's defaults); a ratio above 1 means B stored more statements per second.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "scripts" / "bench.py"


@dataclass(frozen=True)
class Run:
    """One phase of one bench.py run."""

    statements_per_s: float
    p95_ms: float
    cpu_ms_per_1000: float


def build_path(build: str, workdir: Path) -> Path | None:
    """The directory to put first on PYTHONPATH for ``build``; None for this checkout as it is."""
    if build == ".":
        return None
    candidate = Path(build)
    if candidate.is_dir():
        if not (candidate / "lrs" / "__init__.py").is_file():
            raise SystemExit(f"{build}: no lrs package in that directory")
        return candidate.resolve()
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{build}^{{commit}}"],
                                check=True, capture_output=True, text=True).stdout.strip()
    except subprocess.CalledProcessError:
        raise SystemExit(f"{build}: neither a directory nor a git revision of {ROOT}") from None
    target = workdir / commit[:12]
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                tar.extractall(target, filter="data")
            else:  # pragma: no cover
                tar.extractall(target)
    return target


def run_bench(path: Path | None, phase: str, args: argparse.Namespace, out: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if path is not None:
        env["PYTHONPATH"] = str(path)  # bench.py puts its own checkout after it
    cmd = [sys.executable, str(BENCH), "--phases", phase, "--duration", str(args.duration),
           "--warmup", str(args.warmup), "--json", str(out)]
    done = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0 or not out.is_file():
        raise SystemExit(f"bench.py failed (exit {done.returncode}) for {path or 'this checkout'}:\n{done.stdout[-3000:]}")
    return parse_result(json.loads(out.read_text()), phase)


def parse_result(result: dict, phase: str) -> Run:
    """The figures of ``phase`` in a ``bench.py --json`` result."""
    figures = result["phases"][phase]
    return Run(figures["statements_per_s"], figures["latency_ms"]["p95"], figures["server_cpu_ms_per_1000_statements"])


def summary(a: list[Run], b: list[Run]) -> dict[str, float]:
    """Medians of each build and of the pairs' ratios (B over A), and the ratios' geometric mean."""
    ratios = [y.statements_per_s / x.statements_per_s for x, y in zip(a, b, strict=True)]
    return {
        "a_statements_per_s": statistics.median(r.statements_per_s for r in a),
        "b_statements_per_s": statistics.median(r.statements_per_s for r in b),
        "ratio_median": statistics.median(ratios),
        "ratio_geometric_mean": math.exp(statistics.fmean(math.log(r) for r in ratios)),
        "a_cpu_ms_per_1000": statistics.median(r.cpu_ms_per_1000 for r in a),
        "b_cpu_ms_per_1000": statistics.median(r.cpu_ms_per_1000 for r in b),
        "a_p95_ms": statistics.median(r.p95_ms for r in a),
        "b_p95_ms": statistics.median(r.p95_ms for r in b),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="build A: a git revision or a directory holding an lrs package")
    parser.add_argument("b", nargs="?", default=".", help="build B (default: this checkout as it is)")
    parser.add_argument("--pairs", type=int, default=4, help="interleaved pairs of runs per phase (default 4)")
    parser.add_argument("--phases", default="batch,single", help="POST phases to compare (default batch,single)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds counted per run (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before each run (default 2)")
    parser.add_argument("--json", metavar="FILE", help="also write every run and the summaries as JSON to FILE")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or any(p not in ("single", "batch") for p in phases):
        parser.error("--phases takes single and/or batch")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="lrs-compare-") as tmp:
        work = Path(tmp)
        builds = {"A": build_path(args.a, work), "B": build_path(args.b, work)}
        print(f"A = {args.a} ({builds['A'] or ROOT}), B = {args.b} ({builds['B'] or ROOT})", flush=True)
        for phase in phases:
            runs: dict[str, list[Run]] = {"A": [], "B": []}
            for i in range(args.pairs):
                for side in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    runs[side].append(run_bench(builds[side], phase, args, work / f"{phase}-{side}-{i}.json"))
                a, b = runs["A"][-1], runs["B"][-1]
                print(f"{phase} pair {i + 1}: A {a.statements_per_s:>9,.0f} st/s (p95 {a.p95_ms:5.1f} ms, CPU {a.cpu_ms_per_1000:4.0f})"
                      f"   B {b.statements_per_s:>9,.0f} st/s (p95 {b.p95_ms:5.1f} ms, CPU {b.cpu_ms_per_1000:4.0f})"
                      f"   B/A {b.statements_per_s / a.statements_per_s:.3f}", flush=True)
            s = summary(runs["A"], runs["B"])
            print(f"{phase}: A {s['a_statements_per_s']:,.0f}, B {s['b_statements_per_s']:,.0f} st/s (medians);"
                  f" B/A median {s['ratio_median']:.3f}, geometric mean {s['ratio_geometric_mean']:.3f};"
                  f" server CPU per 1,000 statements A {s['a_cpu_ms_per_1000']:.0f}, B {s['b_cpu_ms_per_1000']:.0f} ms", flush=True)
            report[phase] = {"summary": s, "runs": {k: [vars(r) for r in v] for k, v in runs.items()}}
    if args.json:
        Path(args.json).write_text(json.dumps({"a": args.a, "b": args.b, "phases": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
