"""scripts/simulate_game.py: simulated Java Quest players against a real `lrs serve`, and the shapes of their statements."""

from __future__ import annotations

import base64
import calendar
import csv
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "simulate_game.py"
ADMIN = ("admin", "s3cret-admin")
PLAYERS = 5


def _load_module() -> Any:
    spec = importlib.util.spec_from_file_location("simulate_game", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["simulate_game"] = module
    spec.loader.exec_module(module)
    return module


sim = _load_module()

# ---------------------------------------------------------------- the xAPI-SG shapes, written out independently

SG = "https://w3id.org/xapi/seriousgames"
T = SG + "/activity-types/"
PROGRESS = SG + "/extensions/progress"
HEALTH = SG + "/extensions/health"
POSITION = SG + "/extensions/position"
CLASSES = {
    "completable": ({"http://adlnet.gov/expapi/verbs/initialized", "http://adlnet.gov/expapi/verbs/progressed",
                     "http://adlnet.gov/expapi/verbs/completed"},
                    {T + "serious-game", T + "level", T + "quest"}),
    "reachable": ({SG + "/verbs/accessed", "http://id.tincanapi.com/verb/skipped"},
                  {T + "screen", T + "area", T + "zone", T + "cutscene"}),
    "alternative": ({"http://id.tincanapi.com/verb/selected", SG + "/verbs/unlocked"},
                    {T + "menu", T + "dialog-tree", "http://adlnet.gov/expapi/activities/question"}),
    "target": ({"http://adlnet.gov/expapi/verbs/interacted", SG + "/verbs/used"},
               {T + "non-player-character", T + "enemy", T + "item"}),
    "device": ({SG + "/verbs/pressed", SG + "/verbs/released"}, {T + "keyboard", T + "mouse"}),
}
VERB_CLASS = {verb: name for name, (verbs, _) in CLASSES.items() for verb in verbs}
CATEGORY = [{"id": SG, "definition": {"type": "http://adlnet.gov/expapi/activities/profile"}}]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DURATION = re.compile(r"^PT(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d{1,2})?S)?$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def last(iri: str) -> str:
    return iri.rsplit("/", 1)[1]


def all_players(seed: int, players: int = PLAYERS) -> dict[int, list[dict[str, Any]]]:
    return {n: sim.player_statements(seed, n) for n in range(1, players + 1)}


def check_shape(s: dict[str, Any], player: int) -> None:
    assert UUID4.match(s["id"])
    assert s["actor"] == {"objectType": "Agent", "name": f"Player {player}",
                          "account": {"homePage": "https://game.example.org", "name": f"player-{player}"}}
    verb = s["verb"]["id"]
    assert verb in VERB_CLASS, verb
    assert s["verb"]["display"] == {"en-US": last(verb)}
    obj = s["object"]
    assert obj["id"].startswith("https://game.example.org/java-quest/")
    assert obj["definition"]["type"] in CLASSES[VERB_CLASS[verb]][1], (verb, obj["definition"]["type"])
    assert set(obj["definition"]["name"]) == {"en-US"} and obj["definition"]["name"]["en-US"]
    assert TIMESTAMP.match(s["timestamp"])
    context = s["context"]
    assert UUID4.match(context["registration"])
    assert context["contextActivities"]["category"] == CATEGORY
    kind = last(obj["definition"]["type"])
    parents = context["contextActivities"].get("parent")
    if kind == "serious-game":
        assert parents is None
    else:
        [parent] = parents
        parent_kind = last(parent["definition"]["type"])
        assert parent_kind in ({"serious-game"} if kind == "level" else {"level", "serious-game"})
        if kind in ("quest", "area", "zone", "question", "non-player-character", "enemy"):
            assert parent_kind == "level"
    result = s.get("result", {})
    for extension, value in result.get("extensions", {}).items():
        if extension == HEALTH:
            assert 0 <= value <= 1
        elif extension == POSITION:
            assert set(value) == {"x", "y", "z"} and all(isinstance(v, (int, float)) for v in value.values())
        else:
            assert extension == PROGRESS
    name = last(verb)
    if name == "progressed":
        progress = result["extensions"][PROGRESS]
        assert isinstance(progress, (int, float)) and 0 <= progress <= 1
    elif name == "completed":
        assert isinstance(result["success"], bool) and result["completion"] is True
        score = result["score"]
        assert set(score) == {"scaled", "raw", "min", "max"}
        assert score["min"] <= score["raw"] <= score["max"] and score["scaled"] == round(score["raw"] / score["max"], 4)
        assert DURATION.match(result["duration"]) and result["duration"] != "PT"
    elif name in ("selected", "unlocked"):
        assert isinstance(result["response"], str) and result["response"]
        if kind == "question":
            assert isinstance(result["success"], bool)
            definition = obj["definition"]
            assert result["response"] in {c["id"] for c in definition["choices"]}
            assert result["success"] == (result["response"] == definition["correctResponsesPattern"][0])
        elif kind == "menu":
            assert "success" not in result
    elif name == "released":
        assert DURATION.match(result["duration"])
    elif name in ("initialized", "accessed", "skipped", "pressed"):
        assert set(result) <= {"extensions"}


def check_sequence(statements: list[dict[str, Any]]) -> dict[str, int]:
    """The profile's ordering rules for one player; returns how many retries and abandonments there were."""
    assert len({s["context"]["registration"] for s in statements}) == 1
    stamps = [s["timestamp"] for s in statements]
    assert stamps == sorted(stamps)
    open_attempts: dict[str, float] = {}          # completable id -> progress so far in the open attempt
    last_success: dict[str, bool] = {}
    accessed: set[str] = set()
    pressed: str | None = None
    retries = 0
    for s in statements:
        verb, oid = last(s["verb"]["id"]), s["object"]["id"]
        if pressed is not None:
            assert verb == "released" and oid == pressed, "a pressed is followed by its released"
            pressed = None
        if verb == "initialized":
            assert oid not in open_attempts
            if last_success.get(oid) is False:
                retries += 1
            else:
                assert oid not in last_success, "only a failed completable is initialized again"
            open_attempts[oid] = 0.0
        elif verb == "progressed":
            progress = s["result"]["extensions"][PROGRESS]
            assert progress >= open_attempts[oid], "progress never goes down within an attempt"
            open_attempts[oid] = progress
        elif verb == "completed":
            del open_attempts[oid]
            last_success[oid] = s["result"]["success"]
        elif verb == "accessed":
            accessed.add(oid)
        elif verb == "skipped":
            assert oid in accessed
        elif verb == "pressed":
            pressed = oid
    assert pressed is None
    game = [s for s in statements if last(s["object"]["definition"]["type"]) == "serious-game"]
    assert last(game[0]["verb"]["id"]) == "initialized" and statements[0] is game[0]
    assert last(game[-1]["verb"]["id"]) == "completed" and game[-1]["result"]["success"] is True
    assert all(last(kind) == "quest" for kind in (
        next(s["object"]["definition"]["type"] for s in statements if s["object"]["id"] == oid) for oid in open_attempts))
    return {"retries": retries, "abandoned": len(open_attempts)}


# ---------------------------------------------------------------- the generator

def test_every_generated_statement_has_the_xapi_sg_shapes_and_order() -> None:
    totals: Counter[str] = Counter()
    verbs: Counter[str] = Counter()
    kinds: set[str] = set()
    ids: set[str] = set()
    for seed in (7, 8):
        for player, statements in all_players(seed).items():
            assert len(statements) >= 30
            for s in statements:
                check_shape(s, player)
                verbs[last(s["verb"]["id"])] += 1
                kinds.add(last(s["object"]["definition"]["type"]))
            ids |= {s["id"] for s in statements}
            totals.update(check_sequence(statements))
            totals["statements"] += len(statements)
    assert len(ids) == totals["statements"], "statement ids are unique"
    assert set(verbs) == {last(v) for v in VERB_CLASS}, "every verb is used"
    assert kinds == {last(t) for _, types in CLASSES.values() for t in types}, "every activity type is used"
    assert totals["retries"] >= 1 and totals["abandoned"] >= 1, totals


def test_some_players_retry_a_failed_level_and_some_abandon_a_quest_with_seed_7() -> None:
    outcomes = [check_sequence(statements) for statements in all_players(7).values()]
    assert any(o["retries"] for o in outcomes), outcomes
    assert any(o["abandoned"] for o in outcomes), outcomes
    assert any(not o["retries"] for o in outcomes), "not everyone fails"


def test_the_same_seed_gives_the_same_statements_and_another_seed_other_ones() -> None:
    first, again, other = all_players(7), all_players(7), all_players(8)
    assert first == again
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    for player in first:
        assert first[player] != other[player]
        assert not {s["id"] for s in first[player]} & {s["id"] for s in other[player]}
    assert first[1][0]["timestamp"].startswith("2025-03-03T09:0")


def test_realtime_pace_keeps_the_content_and_uses_the_real_time_with_short_sleeps() -> None:
    sleeps: list[float] = []
    before = time.time()
    realtime = sim.player_statements(7, 2, sim.RealtimeClock(sleep=sleeps.append))
    fast = sim.player_statements(7, 2)
    assert sleeps and max(sleeps) <= 3.0 and min(sleeps) >= 0

    def strip(s: dict[str, Any]) -> dict[str, Any]:
        s = json.loads(json.dumps(s))
        s.pop("timestamp")
        s.get("result", {}).pop("duration", None)
        return s

    assert [strip(s) for s in realtime] == [strip(s) for s in fast]
    first = calendar.timegm(time.strptime(realtime[0]["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert before - 1 <= first <= time.time() + 1


def test_durations_and_timestamps_are_formatted_like_xapi_wants() -> None:
    assert sim.iso_duration(192_500) == "PT3M12.5S"
    assert sim.iso_duration(350) == "PT0.35S"
    assert sim.iso_duration(0) == "PT0S"
    assert sim.iso_duration(3_600_000) == "PT1H"
    assert sim.iso_duration(3_723_004) == "PT1H2M3S"
    assert sim.iso_timestamp(sim.BASE_TIME_MS + 1_234) == "2025-03-03T09:00:01.234Z"


# ---------------------------------------------------------------- against `lrs serve`

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, auth: tuple[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={
        "X-Experience-API-Version": "1.0.3",
        "Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode(),
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    def __init__(self, origin: str, credentials: Path) -> None:
        self.origin = origin
        self.endpoint = origin + "/xapi"
        self.credentials = credentials

    def statements(self) -> list[dict[str, Any]]:
        """Every stored statement, page by page (admin credential, following `more`)."""
        found: list[dict[str, Any]] = []
        url = self.endpoint + "/statements?limit=200"
        while url:
            status, page = _get(url, ADMIN)
            assert status == 200, page
            found += page["statements"]
            url = urllib.parse.urljoin(self.origin, page["more"]) if page.get("more") else ""
        return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    database = "sqlite:///" + str(tmp_path / "lrs.sqlite3")
    # The LRS checks every statement against the SG profile, strictly: the simulator's traffic must pass.
    env = dict(os.environ, LRS_ADMIN_KEY=ADMIN[0], LRS_ADMIN_SECRET=ADMIN[1],
               LRS_PROFILE="seriousgames", LRS_PROFILE_ENFORCEMENT="strict")
    env.pop("LRS_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lrs", "serve", "--port", str(port), "--database", database],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(origin + "/xapi/about", ADMIN)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        else:
            pytest.fail("lrs serve did not answer /about")
        players = tmp_path / "players.csv"
        subprocess.run(
            [sys.executable, "-m", "lrs", "credentials", "create", "--count", "3", "--scope", "statements/write",
             "--output", str(players), "--database", database],
            cwd=tmp_path, env=env, check=True, capture_output=True,
        )
        yield Server(origin, players)
    finally:
        process.terminate()
        process.wait(timeout=10)


def simulate(endpoint: str, credentials: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--endpoint", endpoint, "--credentials", str(credentials), *args],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def by_player(statements: list[dict[str, Any]]) -> Counter[str]:
    return Counter(s["actor"]["account"]["name"] for s in statements)


def test_simulated_players_statements_are_all_stored(server: Server) -> None:
    run = simulate(server.endpoint, server.credentials, "--players", "5", "--seed", "7", "--pace", "fast")
    assert run.returncode == 0, run.stderr
    expected = [s for statements in all_players(7).values() for s in statements]
    assert re.fullmatch(rf"5 players, {len(expected)} statements in [\d.]+ s \([\d.]+ statements/s\)\n", run.stdout)

    stored = server.statements()
    assert len(stored) == len(expected)
    assert {s["id"] for s in stored} == {s["id"] for s in expected}
    counts = by_player(stored)
    assert counts == by_player(expected) and min(counts.values()) >= 30
    # three credentials for five players: player n writes with row (n - 1) % 3
    keys = [row["key"] for row in csv.DictReader(server.credentials.open())]
    authorities = {(s["actor"]["account"]["name"], s["authority"]["account"]["name"]) for s in stored}
    assert authorities == {(f"player-{n}", keys[(n - 1) % 3]) for n in range(1, 6)}
    print(f"seed 7: {len(stored)} statements, per player {dict(sorted(counts.items()))}")


def test_batches_and_a_trailing_slash_on_the_endpoint(server: Server) -> None:
    run = simulate(server.endpoint + "/", server.credentials, "--players", "5", "--seed", "7", "--batch", "10")
    assert run.returncode == 0, run.stderr
    expected = {s["id"] for statements in all_players(7).values() for s in statements}
    assert {s["id"] for s in server.statements()} == expected

    # same seed again (fast pace: the very same statements): accepted, nothing new stored
    again = simulate(server.endpoint + "/", server.credentials, "--players", "5", "--seed", "7", "--batch", "7")
    assert again.returncode == 0, again.stderr
    assert len(server.statements()) == len(expected)


def test_a_bad_secret_makes_it_fail_and_shows_the_401(server: Server, tmp_path: Path) -> None:
    [first, *_] = list(csv.DictReader(server.credentials.open()))
    bad = tmp_path / "bad.csv"
    bad.write_text(f"key,secret\n{first['key']},not-the-secret\n")
    run = simulate(server.endpoint, bad, "--players", "2", "--seed", "7")
    assert run.returncode != 0
    assert "HTTP 401" in run.stderr and '"error"' in run.stderr, run.stderr
    assert server.statements() == []


def test_help_documents_every_option() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--help"], check=False, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0
    for option in ("--endpoint", "--credentials", "--players", "--seed", "--pace", "--batch", "realtime", "key,secret"):
        assert option in run.stdout


def test_the_server_under_test_checks_the_sg_profile_strictly(server: Server) -> None:
    """So the runs above prove the simulator's traffic passes strict validation: a mistake is refused."""
    [player] = all_players(7, players=1).values()
    progressed = next(s for s in player if s["verb"]["id"].endswith("/progressed"))
    mistake = {**progressed, "id": str(uuid.uuid4()), "result": {"extensions": {
        "https://w3id.org/xapi/seriousgames/extensions/progress": 1.7}}}
    request = urllib.request.Request(
        server.endpoint + "/statements", data=json.dumps(mistake).encode(), method="POST", headers={
            "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode(),
        })
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 400
    body = json.loads(err.value.read())
    assert body["error"] == "profile" and body["violations"][0]["found"] == 1.7
