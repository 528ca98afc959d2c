"""GET /admin/export/statements.csv: the statements table of `lrs export`, over HTTP, for tools without the CLI."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from lrs.config import Settings
from tests.conftest import ADMIN
from tests.export.helpers import (
    EXTENSION_COLUMNS,
    REQUIRED,
    Job,
    V,
    account,
    codebook,
    family_ids,
    normalised,
    player_statements,
    run_exports,
    typed_csv,
)

URL = "/admin/export/statements.csv"
KEY = "admin-export-pseudonym-key-0123456789"
SEED = 77
XAPI = {"X-Experience-API-Version": "1.0.3"}
LEVEL_3 = "https://game.example.org/java-quest/level/methods"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(pseudonym_key=KEY)


@pytest.fixture
def data(client) -> dict[str, Any]:
    """Two simulated players, and one of player 1's statements voided."""
    players = {p: player_statements(SEED, p) for p in (1, 2)}
    for p in (1, 2):
        answer = client.post("/xapi/statements", json=players[p])
        assert answer.status_code == 200, answer.text
    voided = next(s for s in players[1] if s["verb"]["id"] == V["pressed"])
    voiding = {"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:tess@school.example", "name": "Teacher Tess"},
               "verb": {"id": V["voided"], "display": {"en-US": "voided"}},
               "object": {"objectType": "StatementRef", "id": voided["id"]}}
    assert client.post("/xapi/statements", json=voiding).status_code == 200
    live = [s for p in (1, 2) for s in players[p] if s["id"] != voided["id"]] + [voiding]
    return {"players": players, "live": live, "voided": voided, "voiding": voiding}


def get_csv(client, auth: tuple[str, str] | None = ADMIN, **params: str):
    return client.get(URL, params=params, auth=auth, headers={})


def parse(text: str, types: dict[str, str] | None = None) -> pd.DataFrame:
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if types is None:
        return raw
    return typed_csv(raw, types)


def cli_statements(settings: Settings, tmp_path: Path, *args: str) -> tuple[pd.DataFrame, dict[str, str]]:
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    out = tmp_path / "cli"
    run_exports({"cli": Job(out, ["--format", "csv", "--database", settings.database_url,
                                  "--pseudonym-key-file", str(key_file), *args])}, tmp_path)
    book = codebook(out)
    types = dict(book.loc[book["table"] == "statements", ["column", "dtype"]].itertuples(index=False))
    return parse((out / "statements.csv").read_text(), types), types


def test_same_columns_and_rows_as_the_cli_statements_table(client, data, settings: Settings, tmp_path: Path) -> None:
    answer = get_csv(client)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    cli, types = cli_statements(settings, tmp_path)
    api = parse(answer.text, types)
    assert list(api.columns) == list(cli.columns)
    assert list(api.columns[:len(REQUIRED)]) == REQUIRED
    assert set(api.columns[len(REQUIRED):]) == set(EXTENSION_COLUMNS)
    assert len(api) == len(data["live"])
    assert_frame_equal(normalised(api), normalised(cli))
    # pseudonymised by default with LRS_PSEUDONYM_KEY: the same pseudonyms as the CLI with that key
    assert not api["actor_id"].str.contains("player|mailto|game.example.org", regex=True).any()
    assert api["actor_name"].isna().all()
    assert "player-1" not in answer.text and "Player 1" not in answer.text and "tess@" not in answer.text


def test_include_voided_matches_the_cli(client, data, settings: Settings, tmp_path: Path) -> None:
    cli, types = cli_statements(settings, tmp_path, "--include-voided")
    answer = get_csv(client, include_voided="true")
    assert answer.status_code == 200, answer.text
    api = parse(answer.text, types)
    assert_frame_equal(normalised(api), normalised(cli))
    rows = api.set_index("id")
    assert rows.at[data["voided"]["id"], "voided"] == True
    assert (rows.drop(index=data["voided"]["id"])["voided"] == False).all()
    plain = parse(get_csv(client).text)
    assert data["voided"]["id"] not in set(plain["id"]) and "voided" not in plain.columns


def test_filters(client, data) -> None:
    live, players = data["live"], data["players"]
    voided = data["voided"]["id"]

    def ids(**params: str) -> set[str]:
        answer = get_csv(client, **params)
        assert answer.status_code == 200, (params, answer.text)
        return set(parse(answer.text)["id"])

    assert ids(verb=V["progressed"]) == {s["id"] for s in live if s["verb"]["id"] == V["progressed"]}
    registration = players[2][0]["context"]["registration"]
    assert ids(registration=registration) == {s["id"] for s in players[2]}
    # xAPI: a statement that targets a matching statement (here the voiding one) matches too
    assert ids(agent=json.dumps({"account": account(1)})) == (
        {s["id"] for s in players[1]} - {voided} | {data["voiding"]["id"]})
    level = ids(activity=LEVEL_3)
    assert level == family_ids(live, LEVEL_3)
    assert LEVEL_3 + "/quest/return-to-sender" in {s["object"]["id"] for s in live if s["id"] in level}
    everything = parse(get_csv(client).text).set_index("id")
    stored = sorted(everything["stored"])
    middle = stored[len(stored) // 2]
    assert ids(since=middle) == set(everything.index[everything["stored"] > middle])
    assert ids(until=middle) == set(everything.index[everything["stored"] <= middle])
    assert ids(verb=V["progressed"], registration=registration) == {
        s["id"] for s in players[2] if s["verb"]["id"] == V["progressed"]}


def test_pseudonymize_false_shows_identities(client, data) -> None:
    answer = get_csv(client, pseudonymize="false")
    assert answer.status_code == 200, answer.text
    frame = parse(answer.text).set_index("id")
    for p in (1, 2):
        ids = [s["id"] for s in data["players"][p] if s["id"] != data["voided"]["id"]]
        [actor_id] = set(frame.loc[ids, "actor_id"])
        assert f"player-{p}" in actor_id and "https://game.example.org" in actor_id
        assert set(frame.loc[ids, "actor_name"]) == {f"Player {p}"}
    assert "tess@school.example" in frame.at[data["voiding"]["id"], "actor_id"]


def test_pseudonyms_are_stable_and_keyed(client, data) -> None:
    first = parse(get_csv(client).text).set_index("id")["actor_id"]
    second = parse(get_csv(client).text).set_index("id")["actor_id"]
    assert (first == second.loc[first.index]).all()
    assert first.nunique() == 3
    plain = parse(get_csv(client, pseudonymize="false").text).set_index("id")["actor_id"]
    assert not (first == plain.loc[first.index]).any()


@pytest.mark.parametrize("params, name", [
    ({"foo": "1"}, "foo"),
    ({"Verb": V["progressed"]}, "Verb"),
    ({"include_voided": "yes"}, "include_voided"),
    ({"pseudonymize": "no"}, "pseudonymize"),
    ({"activity": "not an iri"}, "activity"),
    ({"verb": "not an iri"}, "verb"),
    ({"registration": "not-a-uuid"}, "registration"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2025-13-45"}, "until"),
    ({"agent": "{not json"}, "agent"),
    ({"agent": json.dumps({"name": "no identifier"})}, "agent"),
])
def test_bad_parameters_are_400_json_naming_the_parameter(client, params: dict[str, str], name: str) -> None:
    answer = get_csv(client, **params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert name in json.dumps(body), body
    assert body.get("path") == name or name in body.get("message", ""), body


def test_a_parameter_given_twice_is_400_so_pseudonymisation_is_never_guessed(client, data) -> None:
    for query in ("pseudonymize=true&pseudonymize=false", "pseudonymize=false&pseudonymize=false",
                  f"verb={V['progressed']}&verb={V['completed']}"):
        answer = client.get(f"{URL}?{query}", auth=ADMIN)
        assert answer.status_code == 400, answer.text
        assert answer.json()["path"] == query.partition("=")[0]
        assert "more than once" in answer.json()["message"]


class TestWithoutPseudonymKey:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_(pseudonym_key=None)

    def test_pseudonymised_export_needs_the_key(self, client, data) -> None:
        answer = get_csv(client)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert "LRS_PSEUDONYM_KEY" in body["message"]
        assert get_csv(client, pseudonymize="true").status_code == 400

    def test_pseudonymize_false_works_without_the_key(self, client, data) -> None:
        answer = get_csv(client, pseudonymize="false")
        assert answer.status_code == 200, answer.text
        assert len(parse(answer.text)) == len(data["live"])


def test_pseudonym_key_comes_from_the_environment() -> None:
    assert Settings.from_env({"LRS_PSEUDONYM_KEY": KEY}).pseudonym_key == KEY
    assert Settings.from_env({}).pseudonym_key is None
    assert KEY not in repr(Settings.from_env({"LRS_PSEUDONYM_KEY": KEY}))


def test_scopes(client, credential, data) -> None:
    statements_read = credential("statements/read")
    all_read = credential("all/read")
    write = credential("statements/write")
    assert get_csv(client, auth=statements_read).status_code == 403
    assert get_csv(client, auth=write).status_code == 403
    answer = get_csv(client, auth=all_read)
    assert answer.status_code == 200, answer.text
    assert len(parse(answer.text)) == len(data["live"])
    assert get_csv(client, auth=None).status_code == 401
    assert get_csv(client, auth=(all_read[0], "wrong")).status_code == 401


def test_an_empty_lrs_gives_the_header_only(client) -> None:
    answer = get_csv(client)
    assert answer.status_code == 200, answer.text
    frame = parse(answer.text)
    assert len(frame) == 0 and list(frame.columns) == REQUIRED


def test_every_timestamp_xapi_allows_is_exported(client) -> None:
    # pandas reads a column holding one timestamp with nanoseconds in nanoseconds, where every
    # time outside 1677-2262 is missing: the export used to blank those without a word.
    sent = {
        "0001-01-01T00:00:00Z": "0001-01-01 00:00:00+00:00",
        "9999-12-31T23:59:59.5Z": "9999-12-31 23:59:59.500000+00:00",
        "2300-01-01T00:00:00Z": "2300-01-01 00:00:00+00:00",
        "2024-01-01T00:00:00.123456789Z": "2024-01-01 00:00:00.123456+00:00",
        "2024-05-01T10:00:00,25+02:00": "2024-05-01 08:00:00.250000+00:00",
    }
    ids = {}
    for timestamp in sent:
        statement = {"actor": {"mbox": "mailto:t@example.com"}, "verb": {"id": V["pressed"]},
                     "object": {"id": LEVEL_3}, "timestamp": timestamp}
        answer = client.post("/xapi/statements", json=statement)
        assert answer.status_code == 200, answer.text
        ids[answer.json()[0]] = timestamp
    answer = get_csv(client, pseudonymize="false")
    assert answer.status_code == 200, answer.text
    rows = pd.read_csv(io.StringIO(answer.text), dtype=str, keep_default_na=False)
    exported = dict(zip(rows["id"], rows["timestamp"]))
    for statement_id, timestamp in ids.items():
        assert pd.Timestamp(exported[statement_id]) == pd.Timestamp(sent[timestamp]), (timestamp, exported[statement_id])
