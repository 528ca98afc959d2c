"""`lrs export` run again and again: column names, the output folder, README.txt (real CLI processes).

Found by a black-box probe: an extension's column name depended on the other extensions of the
export; a second export into the same folder left the first one's other tables (raw actor ids
included) beside its own; a pseudonymised export wrote the `--agent` filter's identifier into
README.txt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import sqlite_url
from tests.export.helpers import Job, run_exports, start_export

ADMIN = ("rerun-admin", "rerun-admin-secret")
XAPI = {"X-Experience-API-Version": "1.0.3"}
SG = "https://w3id.org/xapi/seriousgames"
R1, R2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
SECRET_NAME = "ada-lovelace-1815"  # the player's account name: must not leave a pseudonymised export
PLAYER = {"objectType": "Agent", "account": {"homePage": "https://game.example.org", "name": SECRET_NAME}}
LEVEL = f"{SG}/activity-types/level"
OTHER_VERB = "http://example.com/verbs/noted"


def _statement(n: int, verb: str, registration: str, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "actor": PLAYER,
        "verb": {"id": verb},
        "object": {"id": "https://game.example.org/level/1", "definition": {"type": LEVEL}},
        "context": {"registration": registration},
        "timestamp": f"2026-01-05T09:{n:02d}:00Z",
    }
    if extensions:
        out["result"] = {"extensions": extensions}
    return out


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("export-reruns")
    url = sqlite_url(root / "lrs.sqlite3")
    statements = [
        _statement(1, "http://adlnet.gov/expapi/verbs/initialized", R1),
        _statement(2, "http://adlnet.gov/expapi/verbs/progressed", R1,
                   {f"{SG}/extensions/progress": 0.5, "https://a.example/x/level": 1}),
        _statement(3, "http://adlnet.gov/expapi/verbs/completed", R1),
        # only in R2: another "progress" and a "Level" that differs from R1's "level" by case
        _statement(4, "http://adlnet.gov/expapi/verbs/progressed", R2,
                   {f"{SG}/extensions/progress": 0.7, "https://other.example/extensions/progress": "high",
                    "https://a.example/x/Level": 2}),
        _statement(5, OTHER_VERB, R2),
    ]
    settings = Settings(database_url=url, admin_key=ADMIN[0], admin_secret=ADMIN[1], sqlite_synchronous="NORMAL",
                        sqlite_writer="thread")
    with TestClient(create_app(settings)) as client:
        answer = client.post("/xapi/statements", json=statements, auth=ADMIN, headers=XAPI)
        assert answer.status_code == 200, answer.text
    return root, url


def _sources(directory: Path) -> dict[str, str]:
    book = pd.read_csv(directory / "codebook.csv")
    rows = book[book["table"] == "statements"]
    return dict(zip(rows["column"], rows["source"]))


def test_an_extension_column_has_one_name_in_every_export(database: tuple[Path, str]) -> None:
    root, url = database
    everything, first = root / "names-all", root / "names-r1"
    common = ["--format", "csv", "--database", url, "--no-pseudonymize"]
    run_exports({"all": Job(everything, common), "r1": Job(first, [*common, "--registration", R1])}, root)
    all_sources, r1_sources = _sources(everything), _sources(first)
    assert all_sources["result_progress"] == r1_sources["result_progress"] == f"{SG}/extensions/progress"
    for column, source in r1_sources.items():
        assert all_sources[column] == source, column  # a name present in both stands for one IRI
    by_iri = {source: column for column, source in all_sources.items()}
    assert by_iri["https://a.example/x/level"] != by_iri["https://a.example/x/Level"]
    assert by_iri["https://a.example/x/level"] in r1_sources
    frame = pd.read_csv(everything / "statements.csv")
    assert sorted(frame["result_progress"].dropna()) == [0.5, 0.7]


def test_a_new_export_replaces_an_earlier_one_in_its_folder(database: tuple[Path, str]) -> None:
    root, url = database
    folder = root / "again"
    folder.mkdir()
    (folder / "notes.txt").write_text("the lab's own notes\n")
    run_exports({"plain": Job(folder, ["--format", "parquet", "--database", url, "--no-pseudonymize"])}, root)
    assert (folder / "completables.parquet").exists()  # SG tables, raw ids
    run_exports({"csv": Job(folder, ["--format", "csv", "--database", url, "--verb", OTHER_VERB,
                                     "--pseudonym-key-file", str(root / "key.txt")])}, root)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["README.txt", "codebook.csv", "notes.txt", "statements.csv"], files
    for path in folder.iterdir():
        if path.name != "notes.txt":
            assert SECRET_NAME not in path.read_text(errors="replace"), path.name
    assert (folder / "notes.txt").read_text() == "the lab's own notes\n"


def test_readme_names_the_agent_filter_by_its_pseudonym(database: tuple[Path, str]) -> None:
    root, url = database
    folder = root / "agent"
    run_exports({"agent": Job(folder, ["--format", "csv", "--database", url, "--agent", json.dumps(PLAYER),
                                       "--pseudonym-key-file", str(root / "key.txt")])}, root)
    readme = (folder / "README.txt").read_text()
    assert SECRET_NAME not in readme
    [pseudonym] = set(pd.read_csv(folder / "statements.csv")["actor_id"])
    assert f"agent=the agent pseudonymised as {pseudonym}" in readme
    plain = root / "agent-plain"
    run_exports({"plain": Job(plain, ["--format", "csv", "--database", url, "--agent", json.dumps(PLAYER),
                                      "--no-pseudonymize"])}, root)
    assert SECRET_NAME in (plain / "README.txt").read_text()  # not pseudonymised: the filter as given


def test_a_folder_holding_files_no_export_wrote_is_refused_and_left_alone(database: tuple[Path, str]) -> None:
    root, url = database
    folder = root / "project"
    folder.mkdir()
    (folder / "README.txt").write_text("my project\n")
    (folder / "statements.csv").write_text("mine\n")
    failed = start_export(Job(folder, ["--format", "csv", "--database", url, "--no-pseudonymize"]), root)
    _, err = failed.communicate(timeout=60)
    assert failed.returncode == 2 and "no export wrote" in err, err
    assert (folder / "README.txt").read_text() == "my project\n"
    assert (folder / "statements.csv").read_text() == "mine\n"
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "statements.csv"]


def test_an_export_that_fails_leaves_the_earlier_one_whole(database: tuple[Path, str]) -> None:
    root, url = database
    folder = root / "kept"
    run_exports({"first": Job(folder, ["--format", "csv", "--database", url, "--no-pseudonymize"])}, root)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    failed = start_export(Job(folder, ["--format", "parquet", "--endpoint", "http://127.0.0.1:1/xapi",
                                       "--key", "k", "--secret", "s", "--no-pseudonymize"]), root)
    _, err = failed.communicate(timeout=60)
    assert failed.returncode != 0, err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
