"""`lrs export` end to end: the simulator's players in an LRS, exported by the real CLI, checked with pandas.

One SQLite LRS is seeded once for the module (four simulated players over HTTP, one statement voided);
every export is a real `lrs export` process (two at a time), and the HTTP source reads a real `lrs serve`.
Expected values are computed here from the simulator's statements, independently of lrs.export.
"""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import sqlite_url
from tests.export.helpers import (
    EXT,
    EXTENSION_COLUMNS,
    REQUIRED,
    TABLE_NAMES,
    Job,
    V,
    account,
    codebook,
    expected_attempts,
    family_ids,
    mentions_count,
    normalised,
    player_statements,
    read_table,
    run_exports,
    seconds,
    start_server,
    utc,
    verb_count,
)

SEED = 20250303
PLAYERS = (1, 2, 3, 4)
ADMIN = ("export-admin", "export-admin-secret")
XAPI = {"X-Experience-API-Version": "1.0.3"}
LEVEL_2 = "https://game.example.org/java-quest/level/control-flow"
GAME = "https://game.example.org/java-quest/game"


@dataclass
class Seeded:
    root: Path
    url: str
    players: dict[int, list[dict[str, Any]]]
    live: list[dict[str, Any]]  # what the LRS returns: every statement but the voided one
    voided: dict[str, Any]
    voiding: dict[str, Any]
    since: str  # stored of the last statement before player 4's

    def ids(self, player: int) -> set[str]:
        return {s["id"] for s in self.players[player]} - {self.voided["id"]}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("export-e2e")
    url = sqlite_url(root / "lrs.sqlite3")
    players = {p: player_statements(SEED, p) for p in PLAYERS}
    voided = next(s for s in players[1] if s["verb"]["id"] == V["pressed"])
    voiding = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Teacher Tess", "mbox": "mailto:tess@school.example"},
        "verb": {"id": V["voided"], "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": voided["id"]},
        "timestamp": "2025-03-03T12:00:00.000Z",
    }
    settings = Settings(database_url=url, admin_key=ADMIN[0], admin_secret=ADMIN[1], sqlite_synchronous="NORMAL",
                        sqlite_writer="thread")
    with TestClient(create_app(settings)) as client:
        def post(statements: list[dict[str, Any]]) -> None:
            answer = client.post("/xapi/statements", json=statements, auth=ADMIN, headers=XAPI)
            assert answer.status_code == 200, answer.text
            assert answer.json() == [s["id"] for s in statements]

        for p in (1, 2, 3):
            post(players[p])
        post([voiding])
        got = client.get("/xapi/statements", params={"statementId": voiding["id"]}, auth=ADMIN, headers=XAPI)
        since = got.json()["stored"]
        time.sleep(0.01)
        post(players[4])
        assert client.get("/xapi/statements", params={"statementId": voided["id"]}, auth=ADMIN,
                          headers=XAPI).status_code == 404
    live = [s for p in PLAYERS for s in players[p] if s["id"] != voided["id"]] + [voiding]
    assert len(live) > 500  # more than one page: the sources page through the statements
    return Seeded(root, url, players, live, voided, voiding, since)


@dataclass
class Exports:
    dirs: dict[str, Path]
    key1: Path
    stderr: dict[str, str]

    def __getitem__(self, name: str) -> Path:
        return self.dirs[name]


@pytest.fixture(scope="module")
def exports(seeded: Seeded) -> Exports:
    root = seeded.root
    db = ["--database", seeded.url]
    key1, key2 = root / "key1.txt", root / "key2.txt"
    out = {name: root / "out" / name for name in (
        "csv", "parquet", "key2", "plain", "voided", "verb", "registration", "since", "agent", "activity",
        "default_new", "default_existing", "env_key", "script")}
    # the first run creates key1; the others then share it
    stderr = run_exports({"csv": Job(out["csv"], ["--format", "csv", *db, "--pseudonym-key-file", str(key1)])}, root)
    assert key1.exists()
    key_text = key1.read_text().strip()
    for name in ("default_new", "default_existing", "env_key"):
        (root / "cwd" / name).mkdir(parents=True)
    (root / "cwd" / "default_existing" / "lrs-pseudonym.key").write_text(key_text + "\n")
    k1 = ["--pseudonym-key-file", str(key1)]
    pq_ = ["--format", "parquet", *db]
    player3 = json.dumps({"objectType": "Agent", "account": account(3)})
    jobs = {
        "parquet": Job(out["parquet"], [*pq_, *k1]),
        "key2": Job(out["key2"], [*pq_, "--pseudonym-key-file", str(key2)]),
        "plain": Job(out["plain"], [*pq_, "--no-pseudonymize"]),
        "voided": Job(out["voided"], [*pq_, *k1, "--include-voided"]),
        "verb": Job(out["verb"], [*pq_, *k1, "--verb", V["progressed"]]),
        "registration": Job(out["registration"], [*pq_, *k1, "--registration",
                                                  seeded.players[2][0]["context"]["registration"]]),
        "since": Job(out["since"], [*pq_, *k1, "--since", seeded.since]),
        "agent": Job(out["agent"], [*pq_, *k1, "--agent", player3]),
        "activity": Job(out["activity"], [*pq_, *k1, "--activity", LEVEL_2]),
        "default_new": Job(out["default_new"], [*pq_], cwd=root / "cwd" / "default_new"),
        "default_existing": Job(out["default_existing"], [*pq_], cwd=root / "cwd" / "default_existing"),
        "env_key": Job(out["env_key"], [*pq_], cwd=root / "cwd" / "env_key", env={"LRS_PSEUDONYM_KEY": key_text}),
        "script": Job(out["script"], [*pq_, *k1], script=True),
    }
    stderr.update(run_exports(jobs, root))
    return Exports(out, key1, stderr)


@pytest.fixture(scope="module")
def http_exports(seeded: Seeded, exports: Exports) -> dict[str, Path]:
    server, base = start_server(seeded.url, ADMIN, seeded.root)
    out = {"http": seeded.root / "out" / "http", "http_voided": seeded.root / "out" / "http_voided"}
    http = ["--format", "parquet", "--endpoint", base, "--key", ADMIN[0], "--secret", ADMIN[1],
            "--pseudonym-key-file", str(exports.key1)]
    try:
        run_exports({"http": Job(out["http"], http),
                     "http_voided": Job(out["http_voided"], [*http, "--include-voided"])}, seeded.root)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return out


def table(directory: Path, name: str) -> pd.DataFrame:
    return read_table(directory, name)


def by_id(frame: pd.DataFrame, column: str = "id") -> pd.DataFrame:
    return frame.set_index(column, drop=False)


# ---------------------------------------------------------------- files, rows, columns, dtypes


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_file_is_written(exports: Exports, fmt: str) -> None:
    files = {p.name for p in exports[fmt].iterdir()}
    assert files == {f"{t}.{fmt}" for t in TABLE_NAMES} | {"codebook.csv", "README.txt"}, files


def test_row_counts(seeded: Seeded, exports: Exports) -> None:
    live = seeded.live
    attempts = expected_attempts(live)
    initialized = verb_count(live, "initialized")
    without_start = sum(1 for a in attempts if a["initialized"] is None)
    expected = {
        "statements": len(live),
        "progress": verb_count(live, "progressed"),
        "choices": verb_count(live, "selected", "unlocked"),
        "accesses": verb_count(live, "accessed", "skipped"),
        "completables": initialized + without_start,
    }
    assert len(attempts) == expected["completables"]
    for fmt in ("csv", "parquet"):
        counts = {name: len(table(exports[fmt], name)) for name in TABLE_NAMES}
        assert counts == expected, fmt
    readme = (exports["parquet"] / "README.txt").read_text()
    for name, count in expected.items():
        assert mentions_count(readme, name, count), (name, count, readme)


def test_statement_columns_are_named_as_in_the_issue(exports: Exports) -> None:
    for fmt in ("csv", "parquet"):
        columns = list(table(exports[fmt], "statements").columns)
        assert columns[:len(REQUIRED)] == REQUIRED
        assert set(columns[len(REQUIRED):]) == set(EXTENSION_COLUMNS), columns
        assert "voided" not in columns


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime64[UTC]" if str(dtype.tz) == "UTC" else f"datetime64[{dtype.tz}]"
    if isinstance(dtype, pd.BooleanDtype):
        return "boolean"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if dtype == "float64":
        return "float64"
    if isinstance(dtype, pd.Int64Dtype):
        return "Int64"
    return str(dtype)


EXPECTED_DTYPES = {
    "statements": {
        **{c: "string" for c in REQUIRED}, "timestamp": "datetime64[UTC]", "stored": "datetime64[UTC]",
        "success": "boolean", "completion": "boolean", "score_scaled": "float64", "score_raw": "float64",
        "score_min": "float64", "score_max": "float64", "duration_s": "float64",
        "result_progress": "float64", "result_health": "float64", "result_position": "string",
    },
    "completables": {
        "actor_id": "string", "registration": "string", "object_id": "string", "activity_type": "string",
        "attempt": "Int64", "started": "datetime64[UTC]", "completed": "datetime64[UTC]", "status": "string",
        "duration_s": "float64", "success": "boolean", "score_scaled": "float64", "score_raw": "float64",
        "max_progress": "float64", "progress_events": "Int64", "initialized_id": "string", "completed_id": "string",
    },
    "progress": {"statement_id": "string", "actor_id": "string", "registration": "string", "object_id": "string",
                 "activity_type": "string", "timestamp": "datetime64[UTC]", "progress": "float64"},
    "choices": {"statement_id": "string", "actor_id": "string", "registration": "string", "object_id": "string",
                "activity_type": "string", "timestamp": "datetime64[UTC]", "verb": "string", "response": "string",
                "success": "boolean"},
    "accesses": {"statement_id": "string", "actor_id": "string", "registration": "string", "object_id": "string",
                 "activity_type": "string", "timestamp": "datetime64[UTC]", "verb": "string"},
}


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_parquet_dtypes(exports: Exports, name: str) -> None:
    frame = pd.read_parquet(exports["parquet"] / f"{name}.parquet")
    assert {c: _kind(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES[name]


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_csv_parses_back_to_the_parquet_values(exports: Exports, name: str) -> None:
    from_csv = table(exports["csv"], name)
    from_parquet = pd.read_parquet(exports["parquet"] / f"{name}.parquet")
    assert_frame_equal(normalised(from_csv), normalised(from_parquet))


def test_csv_reads_with_plain_pandas(exports: Exports) -> None:
    """What README.txt tells researchers to type."""
    frame = pd.read_csv(exports["csv"] / "statements.csv", parse_dates=["timestamp", "stored"])
    assert isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype)
    assert str(frame["timestamp"].dtype.tz) == "UTC"
    assert frame["duration_s"].dtype == "float64"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_codebook_has_a_row_for_every_column_of_every_table(exports: Exports, fmt: str) -> None:
    book = codebook(exports[fmt])
    assert list(book.columns) == ["table", "column", "dtype", "description", "source"]
    assert not book.duplicated(["table", "column"]).any()
    for name in TABLE_NAMES:
        frame = pd.read_parquet(exports["parquet"] / f"{name}.parquet")
        rows = book[book["table"] == name]
        assert list(rows["column"]) == list(frame.columns), name
        for column, dtype, description, source in rows[["column", "dtype", "description", "source"]].itertuples(
                index=False):
            assert dtype == EXPECTED_DTYPES[name][column], (name, column, dtype)
            assert description and source, (name, column)
    ext = book[(book["table"] == "statements") & book["column"].isin(list(EXTENSION_COLUMNS))]
    assert dict(zip(ext["column"], ext["source"])) == EXTENSION_COLUMNS


# ---------------------------------------------------------------- values


def _expected_statements(live: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for s in live:
        result, context = s.get("result") or {}, s.get("context") or {}
        score, definition = result.get("score") or {}, s["object"].get("definition") or {}
        extensions = result.get("extensions") or {}
        activities = context.get("contextActivities") or {}
        rows.append({
            "id": s["id"], "timestamp": utc(s["timestamp"]), "verb_id": s["verb"]["id"],
            "verb": s["verb"]["display"]["en-US"], "object_id": s["object"]["id"],
            "object_type": s["object"].get("objectType", "Activity"), "activity_type": definition.get("type"),
            "object_name": (definition.get("name") or {}).get("en-US"), "success": result.get("success"),
            "completion": result.get("completion"), "response": result.get("response"),
            "score_scaled": score.get("scaled"), "score_raw": score.get("raw"), "score_min": score.get("min"),
            "score_max": score.get("max"),
            "duration_s": seconds(result["duration"]) if "duration" in result else None,
            "registration": context.get("registration"),
            "parent_id": "|".join(a["id"] for a in activities.get("parent", [])) or None,
            "grouping_id": None, "platform": None, "language": None,
            "category_id": "|".join(a["id"] for a in activities.get("category", [])) or None,
            "result_progress": extensions.get(EXT + "progress"), "result_health": extensions.get(EXT + "health"),
        })
    frame = pd.DataFrame(rows).set_index("id", drop=False)
    return frame


def test_statement_values_match_the_statements(seeded: Seeded, exports: Exports) -> None:
    got = by_id(table(exports["parquet"], "statements"))
    expected = _expected_statements(seeded.live)
    assert set(got.index) == set(expected.index)
    got = got.loc[expected.index]
    for column in expected.columns:
        want = expected[column].astype(object).where(expected[column].notna(), None).tolist()
        have = got[column].astype(object).where(got[column].notna(), None).tolist()
        if column == "timestamp":
            have = [pd.Timestamp(v) for v in have]
        if column == "duration_s":  # summed from the ISO text here: equal to the last bits
            want = [None if w is None else pytest.approx(w, abs=1e-9) for w in want]
        assert have == want, (column, [(h, w) for h, w in zip(have, want) if h != w][:3])
    for s in seeded.live:
        position = (s.get("result") or {}).get("extensions", {}).get(EXT + "position")
        value = got.at[s["id"], "result_position"]
        assert (json.loads(value) if pd.notna(value) else None) == position


def test_stored_is_the_lrs_stored_time(seeded: Seeded, exports: Exports) -> None:
    frame = by_id(table(exports["parquet"], "statements"))
    assert frame["stored"].notna().all()
    assert frame.at[seeded.voiding["id"], "stored"] == pd.Timestamp(seeded.since)
    player4 = frame.loc[list(seeded.ids(4)), "stored"]
    assert (player4 > pd.Timestamp(seeded.since)).all()


def test_durations_in_seconds_match_the_statements(seeded: Seeded, exports: Exports) -> None:
    statements = by_id(table(exports["parquet"], "statements"))
    with_duration = [s for s in seeded.live if "duration" in (s.get("result") or {})]
    assert len(with_duration) > 50
    for s in with_duration:
        assert statements.at[s["id"], "duration_s"] == pytest.approx(seconds(s["result"]["duration"])), s["id"]
    completables = table(exports["parquet"], "completables")
    done = completables[completables["status"] == "completed"]
    by_statement = {s["id"]: s for s in seeded.live}
    for completed_id, duration in zip(done["completed_id"], done["duration_s"]):
        assert duration == pytest.approx(seconds(by_statement[completed_id]["result"]["duration"]))


def test_completables_are_the_attempts(seeded: Seeded, exports: Exports) -> None:
    frame = table(exports["parquet"], "completables")
    expected = expected_attempts(seeded.live)
    got = {row.initialized_id: row for row in frame.itertuples(index=False)}
    assert len(got) == len(frame) == len(expected)
    for attempt in expected:
        start, end = attempt["initialized"], attempt["completed"]
        row = got[start["id"]]
        assert row.object_id == start["object"]["id"]
        assert row.registration == start["context"]["registration"]
        assert row.attempt == attempt["attempt"]
        assert row.started == utc(start["timestamp"])
        if attempt["progress"]:
            assert row.max_progress == max(attempt["progress"])
        else:
            assert pd.isna(row.max_progress)
        assert row.progress_events == len(attempt["progress"])
        if end is None:
            assert row.status == "open" and pd.isna(row.completed) and pd.isna(row.completed_id)
        else:
            assert row.status == "completed" and row.completed_id == end["id"]
            assert row.completed == utc(end["timestamp"])
            assert bool(row.success) is end["result"]["success"]
            assert row.score_scaled == end["result"]["score"]["scaled"]
            assert row.score_raw == end["result"]["score"]["raw"]
    # the simulator's story is there: retried levels and abandoned side quests
    assert (frame["attempt"] > 1).any()
    assert ((frame["status"] == "open") & frame["object_id"].str.contains("/quest/")).any()
    retried = frame[frame["attempt"] > 1]
    assert (retried["activity_type"] == "https://w3id.org/xapi/seriousgames/activity-types/level").all()
    initialized = Counter((s["context"]["registration"], s["object"]["id"]) for s in seeded.live
                          if s["verb"]["id"] == V["initialized"])
    most = frame.groupby(["registration", "object_id"])["attempt"].max()
    assert {k: int(v) for k, v in most.items()} == dict(initialized)


def test_progress_choices_accesses_rows(seeded: Seeded, exports: Exports) -> None:
    progress = by_id(table(exports["parquet"], "progress"), "statement_id")
    choices = by_id(table(exports["parquet"], "choices"), "statement_id")
    accesses = by_id(table(exports["parquet"], "accesses"), "statement_id")
    statements = by_id(table(exports["parquet"], "statements"))
    names = {V["selected"]: "selected", V["unlocked"]: "unlocked", V["accessed"]: "accessed",
             V["skipped"]: "skipped"}
    want_progress = {s["id"]: s for s in seeded.live if s["verb"]["id"] == V["progressed"]}
    want_choices = {s["id"]: s for s in seeded.live if s["verb"]["id"] in (V["selected"], V["unlocked"])}
    want_accesses = {s["id"]: s for s in seeded.live if s["verb"]["id"] in (V["accessed"], V["skipped"])}
    assert set(progress.index) == set(want_progress)
    assert set(choices.index) == set(want_choices)
    assert set(accesses.index) == set(want_accesses)
    for sid, s in want_progress.items():
        assert progress.at[sid, "progress"] == s["result"]["extensions"][EXT + "progress"]
        assert progress.at[sid, "timestamp"] == utc(s["timestamp"])
        assert progress.at[sid, "object_id"] == s["object"]["id"]
    for sid, s in want_choices.items():
        assert choices.at[sid, "verb"] == names[s["verb"]["id"]]
        assert choices.at[sid, "response"] == s["result"]["response"]
        success = choices.at[sid, "success"]
        assert (None if pd.isna(success) else bool(success)) == s["result"].get("success")
    for sid, s in want_accesses.items():
        assert accesses.at[sid, "verb"] == names[s["verb"]["id"]]
        assert accesses.at[sid, "activity_type"] == s["object"]["definition"]["type"]
    # the SG tables use the same pseudonyms and registrations as the statements table
    for frame in (progress, choices, accesses):
        assert (frame["actor_id"] == statements.loc[frame.index, "actor_id"]).all()
        assert (frame["registration"] == statements.loc[frame.index, "registration"]).all()


# ---------------------------------------------------------------- pseudonyms


def _actor_ids(directory: Path) -> pd.Series:
    return by_id(table(directory, "statements"))["actor_id"]


def test_pseudonyms_are_the_same_across_two_runs_with_the_same_key(exports: Exports) -> None:
    first, second = _actor_ids(exports["csv"]), _actor_ids(exports["parquet"])
    assert (first.loc[second.index] == second).all()
    for name in ("completables", "progress", "choices", "accesses"):
        assert set(table(exports["csv"], name)["actor_id"]) == set(table(exports["parquet"], name)["actor_id"])
    assert first.nunique() == len(PLAYERS) + 1  # four players and the teacher who voided


def test_pseudonyms_differ_with_another_key(exports: Exports) -> None:
    first, other = _actor_ids(exports["parquet"]), _actor_ids(exports["key2"])
    other = other.loc[first.index]
    assert not (first == other).any()
    # still one pseudonym per actor
    assert pd.crosstab(first, other).astype(bool).sum(axis=1).eq(1).all()


def test_pseudonymised_exports_contain_no_player_identity(seeded: Seeded, exports: Exports) -> None:
    statements = table(exports["parquet"], "statements")
    assert statements["actor_name"].isna().all()
    for fmt in ("csv",):
        text = "".join((exports[fmt] / f"{name}.csv").read_text() for name in TABLE_NAMES)
        for p in PLAYERS:
            assert f"player-{p}" not in text and f"Player {p}" not in text
        assert "tess@school.example" not in text and "Teacher Tess" not in text
    for name in TABLE_NAMES:
        ids = table(exports["parquet"], name)["actor_id"]
        assert ids.notna().all()
        assert not ids.str.contains("player|game.example.org|account|mailto|tess", regex=True).any(), name


def test_no_pseudonymize_shows_the_account(seeded: Seeded, exports: Exports) -> None:
    frame = by_id(table(exports["plain"], "statements"))
    for p in PLAYERS:
        ids = set(frame.loc[list(seeded.ids(p)), "actor_id"])
        assert len(ids) == 1
        [actor_id] = ids
        assert f"player-{p}" in actor_id and "https://game.example.org" in actor_id
        assert set(frame.loc[list(seeded.ids(p)), "actor_name"]) == {f"Player {p}"}
    assert "tess@school.example" in frame.at[seeded.voiding["id"], "actor_id"]
    completables = table(exports["plain"], "completables")
    assert completables["actor_id"].str.contains("player-").all()


def test_pseudonym_key_file_is_created_private(exports: Exports) -> None:
    assert stat.S_IMODE(os.stat(exports.key1).st_mode) == 0o600
    assert len(exports.key1.read_text().strip()) >= 16


def test_default_key_is_lrs_pseudonym_key_in_the_working_directory_else_the_environment(exports: Exports) -> None:
    key1 = _actor_ids(exports["parquet"])
    created = exports["default_new"].parent.parent / "cwd" / "default_new" / "lrs-pseudonym.key"
    assert created.exists(), "no ./lrs-pseudonym.key created"
    fresh = _actor_ids(exports["default_new"]).loc[key1.index]
    assert not (fresh == key1).any(), "a newly created key gives new pseudonyms"
    assert (_actor_ids(exports["default_existing"]).loc[key1.index] == key1).all()
    assert (_actor_ids(exports["env_key"]).loc[key1.index] == key1).all()
    assert not (exports["env_key"].parent.parent / "cwd" / "env_key" / "lrs-pseudonym.key").exists()


def test_export_tidy_script_gives_the_same_tables(exports: Exports) -> None:
    for name in TABLE_NAMES:
        assert_frame_equal(table(exports["script"], name), table(exports["parquet"], name))


# ---------------------------------------------------------------- filters, voided, README


def _ids(directory: Path) -> set[str]:
    return set(table(directory, "statements")["id"])


def test_verb_filter(seeded: Seeded, exports: Exports) -> None:
    frame = table(exports["verb"], "statements")
    assert set(frame["id"]) == {s["id"] for s in seeded.live if s["verb"]["id"] == V["progressed"]}
    assert (frame["verb_id"] == V["progressed"]).all()
    assert set(table(exports["verb"], "progress")["statement_id"]) == set(frame["id"])


def test_registration_filter(seeded: Seeded, exports: Exports) -> None:
    assert _ids(exports["registration"]) == seeded.ids(2)
    assert set(table(exports["registration"], "completables")["registration"]) == {
        seeded.players[2][0]["context"]["registration"]}


def test_since_filter(seeded: Seeded, exports: Exports) -> None:
    assert _ids(exports["since"]) == seeded.ids(4)


def test_agent_filter(seeded: Seeded, exports: Exports) -> None:
    frame = table(exports["agent"], "statements")
    assert set(frame["id"]) == seeded.ids(3)
    assert frame["actor_id"].nunique() == 1


def test_activity_filter_includes_the_descendants(seeded: Seeded, exports: Exports) -> None:
    got = _ids(exports["activity"])
    assert got == family_ids(seeded.live, LEVEL_2)
    by_statement = {s["id"]: s for s in seeded.live}
    objects = {by_statement[i]["object"]["id"] for i in got}
    assert LEVEL_2 in objects
    assert LEVEL_2 + "/quest/escape-the-loop" in objects  # the level's quest, whose parent is the level
    questions = {s["id"] for s in seeded.live if s["object"]["id"].startswith(
        "https://game.example.org/java-quest/question/control-flow/")}
    assert questions and questions <= got
    # other levels and the game itself are left out
    assert not any(by_statement[i]["object"]["id"].startswith(
        "https://game.example.org/java-quest/level/variables") for i in got)
    assert GAME not in objects
    completables = table(exports["activity"], "completables")
    assert set(completables["object_id"]) >= {LEVEL_2, LEVEL_2 + "/quest/escape-the-loop"}


def test_include_voided_adds_the_voided_statement(seeded: Seeded, exports: Exports) -> None:
    frame = by_id(table(exports["voided"], "statements"))
    assert list(frame.columns[:len(REQUIRED)]) == REQUIRED and "voided" in frame.columns
    assert isinstance(frame["voided"].dtype, pd.BooleanDtype)
    assert len(frame) == len(seeded.live) + 1
    assert frame.at[seeded.voided["id"], "voided"] == True
    assert frame.at[seeded.voided["id"], "verb_id"] == V["pressed"]
    assert frame.at[seeded.voided["id"], "registration"] == seeded.voided["context"]["registration"]
    assert (frame.drop(index=seeded.voided["id"])["voided"] == False).all()
    assert seeded.voided["id"] not in _ids(exports["parquet"])
    book = codebook(exports["voided"])
    assert ((book["table"] == "statements") & (book["column"] == "voided") & (book["dtype"] == "boolean")).any()
    readme = (exports["voided"] / "README.txt").read_text().lower()
    assert "voided" in readme and mentions_count(readme, "statements", len(seeded.live) + 1)


def test_readme_mentions_the_filters_and_the_counts(seeded: Seeded, exports: Exports) -> None:
    for name, value in (("verb", V["progressed"]), ("since", seeded.since), ("activity", LEVEL_2),
                        ("registration", seeded.players[2][0]["context"]["registration"])):
        readme = (exports[name] / "README.txt").read_text()
        assert name in readme and value in readme, (name, readme)
        for table_name in TABLE_NAMES:
            count = len(table(exports[name], table_name))
            assert mentions_count(readme, table_name, count), (name, table_name, count, readme)
    plain = (exports["plain"] / "README.txt").read_text()
    assert "pseudonymi" in plain.lower()


# ---------------------------------------------------------------- any LRS over HTTP


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_export_over_http_gives_identical_tables(exports: Exports, http_exports: dict[str, Path], name: str) -> None:
    assert_frame_equal(table(http_exports["http"], name), table(exports["parquet"], name))


def test_export_over_http_with_voided_statements(exports: Exports, http_exports: dict[str, Path]) -> None:
    assert_frame_equal(table(http_exports["http_voided"], "statements"), table(exports["voided"], "statements"))
    assert (pd.read_csv(http_exports["http"] / "codebook.csv").equals(pd.read_csv(exports["parquet"] / "codebook.csv")))
