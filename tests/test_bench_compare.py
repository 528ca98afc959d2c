"""scripts/bench_compare.py: which builds it runs, and how it reads and sums up bench.py's results.

(Running the benchmarks themselves takes minutes and measures the host: not a test.)
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_compare", ROOT / "scripts" / "bench_compare.py")
bench_compare = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_compare", bench_compare)  # (dataclasses look their module up there)
_spec.loader.exec_module(bench_compare)
Run = bench_compare.Run


def test_summary_gives_medians_and_the_ratio_of_each_pair() -> None:
    a = [Run(10_000, 50, 160), Run(9_000, 60, 170), Run(11_000, 55, 150)]
    b = [Run(12_000, 40, 140), Run(9_000, 45, 150), Run(13_200, 42, 130)]
    s = bench_compare.summary(a, b)
    assert s["a_statements_per_s"] == 10_000 and s["b_statements_per_s"] == 12_000
    assert s["ratio_median"] == pytest.approx(1.2)  # ratios 1.2, 1.0, 1.2
    assert s["ratio_geometric_mean"] == pytest.approx(math.exp((2 * math.log(1.2)) / 3))
    assert (s["a_cpu_ms_per_1000"], s["b_cpu_ms_per_1000"]) == (160, 140)
    assert (s["a_p95_ms"], s["b_p95_ms"]) == (55, 42)


def test_summary_refuses_unpaired_runs() -> None:
    with pytest.raises(ValueError):
        bench_compare.summary([Run(1, 1, 1)], [])


def test_parse_result_reads_a_phase_of_bench_json() -> None:
    result = {"phases": {"batch": {"statements_per_s": 10813.3, "latency_ms": {"p50": 29.6, "p95": 84.6},
                                   "server_cpu_ms_per_1000_statements": 151.6}}}
    assert bench_compare.parse_result(result, "batch") == Run(10813.3, 84.6, 151.6)


def test_this_checkout_runs_as_it_is(tmp_path: Path) -> None:
    assert bench_compare.build_path(".", tmp_path) is None


def test_a_directory_must_hold_an_lrs_package(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no lrs package"):
        bench_compare.build_path(str(tmp_path), tmp_path)
    (tmp_path / "lrs").mkdir()
    (tmp_path / "lrs" / "__init__.py").write_text("")
    assert bench_compare.build_path(str(tmp_path), tmp_path / "work") == tmp_path.resolve()


def _git_checkout() -> bool:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _git_checkout(), reason="not a git checkout: git revisions cannot be extracted")
def test_a_git_revision_is_extracted_once(tmp_path: Path) -> None:
    path = bench_compare.build_path("HEAD", tmp_path)
    assert (path / "lrs" / "__init__.py").is_file() and (path / "scripts" / "bench.py").is_file()
    assert path.parent == tmp_path
    assert bench_compare.build_path("HEAD", tmp_path) == path  # the same commit: not extracted again
    with pytest.raises(SystemExit, match="neither a directory nor a git revision"):
        bench_compare.build_path("no-such-revision-0123", tmp_path)
