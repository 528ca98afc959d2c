"""Extension columns typed from all their values (not chunk by chunk), integers kept exact, and `since`/
`until` given as dates: the CLI and GET /admin/export/statements.csv.

Found by a review: a 5,000-row chunk whose values were all missing was typed "string", so one column
was float64 in one export and text in another; in a column of integers and text, the integers of one
chunk were written "4999.0" (the admin CSV wrote "4999"); integers above 2**53 were rounded in Parquet;
the README's `--since 2026-01-01` was refused.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import sqlite_url
from tests.export.helpers import ROOT, Job, cli_env, run_exports, start_export

ADMIN = ("types-admin", "types-admin-secret")
XAPI = {"X-Experience-API-Version": "1.0.3"}
EXT = "https://example.org/ext/"
BIG = 2**53 + 1  # float64 cannot tell it from 2**53
ROWS, FIRST_CHUNK = 6_000, 5_000  # the exporter types its rows 5,000 at a time


def _statement(n: int) -> dict[str, Any]:
    first = n < FIRST_CHUNK
    extensions = {
        EXT + "half": 0.5 if first else None,  # then only nulls: still float64
        EXT + "late": None if first else n,  # nulls, then integers: Int64
        EXT + "mixed": n if first else f"s{n}",  # integers, then text: text, the integers as "4999"
        EXT + "big": BIG + n,  # integers above 2**53: Int64, every one kept
    }
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "actor": {"mbox": "mailto:p@example.org"},
            "verb": {"id": "http://example.org/verbs/did"}, "object": {"id": "http://example.org/thing"},
            "result": {"extensions": extensions}}


@dataclass
class Seeded:
    root: Path
    url: str
    stored: list[str]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("export-types")
    url = sqlite_url(root / "lrs.sqlite3")
    with TestClient(create_app(_settings(url))) as client:
        for start in range(0, ROWS, 1_000):
            batch = [_statement(n) for n in range(start, start + 1_000)]
            answer = client.post("/xapi/statements", json=batch, auth=ADMIN, headers=XAPI)
            assert answer.status_code == 200, answer.text
        csv = client.get("/admin/export/statements.csv", params={"pseudonymize": "false"}, auth=ADMIN).text
    stored = sorted(pd.read_csv(io.StringIO(csv), dtype=str)["stored"])
    return Seeded(root, url, stored)


def _settings(url: str) -> Settings:
    return Settings(database_url=url, admin_key=ADMIN[0], admin_secret=ADMIN[1], sqlite_synchronous="NORMAL",
                    sqlite_writer="thread")


def _http(seeded: Seeded, **params: str) -> Any:
    with TestClient(create_app(_settings(seeded.url))) as client:
        return client.get("/admin/export/statements.csv", params={"pseudonymize": "false", **params}, auth=ADMIN)


def _cli(seeded: Seeded, name: str, *args: str, fmt: str = "csv") -> Path:
    out = seeded.root / name
    run_exports({name: Job(out, ["--format", fmt, "--database", seeded.url, "--no-pseudonymize", *args])},
                seeded.root)
    return out


def _by_iri(directory: Path) -> dict[str, str]:
    book = pd.read_csv(directory / "codebook.csv")
    rows = book[book["table"] == "statements"]
    return {source.removeprefix(EXT): column for column, source in zip(rows["column"], rows["source"])
            if source.startswith(EXT)}


def test_extension_columns_are_typed_from_all_their_values(seeded: Seeded) -> None:
    out = _cli(seeded, "types", fmt="parquet")
    names = _by_iri(out)
    frame = pd.read_parquet(out / "statements.parquet").sort_values("id", ignore_index=True)
    types = {iri: str(frame[column].dtype) for iri, column in names.items()}
    assert types == {"half": "float64", "late": "Int64", "mixed": "string", "big": "Int64"}, types
    book = pd.read_csv(out / "codebook.csv")
    assert dict(zip(book["column"], book["dtype"]))[names["late"]] == "Int64"
    assert frame[names["half"]].iloc[:FIRST_CHUNK].eq(0.5).all() and frame[names["half"]].iloc[FIRST_CHUNK:].isna().all()
    assert frame[names["mixed"]].iloc[[0, FIRST_CHUNK - 1, FIRST_CHUNK]].tolist() == ["0", "4999", "s5000"]
    assert frame[names["big"]].tolist() == [BIG + n for n in range(ROWS)]  # exact, all distinct
    assert frame[names["late"]].iloc[-1] == ROWS - 1


def test_the_cli_and_the_http_export_write_the_same_csv(seeded: Seeded) -> None:
    out = _cli(seeded, "types-csv")
    answer = _http(seeded)
    assert answer.status_code == 200, answer.text
    cli = pd.read_csv(out / "statements.csv", dtype=str, keep_default_na=False)
    api = pd.read_csv(io.StringIO(answer.text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(api, cli)
    names = _by_iri(out)
    assert cli[names["mixed"]].iloc[[0, FIRST_CHUNK - 1]].tolist() == ["0", "4999"]
    assert cli[names["big"]].iloc[0] == str(BIG)
    assert set(cli[names["half"]].iloc[:FIRST_CHUNK]) == {"0.5"}


def _day(stored: str, days: int = 0) -> str:
    return (date.fromisoformat(stored[:10]) + timedelta(days=days)).isoformat()


def test_since_and_until_take_a_date_meaning_midnight_utc(seeded: Seeded) -> None:
    first, last = seeded.stored[0], seeded.stored[-1]
    if first[:10] != last[:10]:
        pytest.skip("the statements were stored across midnight")
    today, tomorrow = _day(first), _day(first, 1)
    cases = {"since-today": ("since", today), "until-today": ("until", today),
             "since-tomorrow": ("since", tomorrow), "until-tomorrow": ("until", tomorrow)}
    run_exports({name: Job(seeded.root / name, ["--database", seeded.url, "--no-pseudonymize", f"--{k}", v])
                 for name, (k, v) in cases.items()}, seeded.root)
    counts = {}
    for name, (k, v) in cases.items():
        out = seeded.root / name
        counts[name] = len(pd.read_csv(out / "statements.csv"))
        assert f"{k}={v}T00:00:00Z" in (out / "README.txt").read_text()
        answer = _http(seeded, **{k: v})
        assert answer.status_code == 200, answer.text
        assert len(pd.read_csv(io.StringIO(answer.text))) == counts[name], name
    assert counts == {"since-today": ROWS, "until-today": 0, "since-tomorrow": 0, "until-tomorrow": ROWS}


def test_the_export_tidy_example_runs(seeded: Seeded) -> None:
    """The docstring's own example: `--since 2026-01-01`."""
    out = seeded.root / "tidy"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "export_tidy.py"), "--output", str(out),
                             "--format", "parquet", "--since", "2026-01-01", "--database", seeded.url,
                             "--no-pseudonymize"], cwd=seeded.root, env=cli_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = ROWS if seeded.stored[0] > "2026-01-01" else None
    if expected is not None:
        assert len(pd.read_parquet(out / "statements.parquet")) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "2026-1-1", "yesterday"])
def test_a_bad_date_is_one_line_or_a_400(seeded: Seeded, value: str) -> None:
    process = start_export(Job(seeded.root / "bad", ["--database", seeded.url, "--since", value]), seeded.root)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and err.startswith("lrs: --since") and err.count("\n") == 1, err
    assert "Traceback" not in err
    answer = _http(seeded, since=value)
    assert answer.status_code == 400 and answer.json()["path"] == "since", answer.text
