"""`--activity` with other filters, objects without an id, and free-text answers that name their activity
by id alone: the CLI (from the store and over HTTP) and GET /admin/export/statements.csv.

Found by a review: the subtree was built from the statements the other filters kept (`--activity <game>
--verb selected` lost most of the game: a selected statement never links a level to the game); the
HTTP export put the id of an Agent object (None) in the subtree, so that every object without an id
matched; a pseudonymised export kept a fill-in answer in clear when the statement gave the activity's
id only (its interactionType is in the LRS's canonical definition).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import sqlite_url
from tests.export.helpers import Job, V, family_ids, player_statements, run_exports, start_server

ADMIN = ("subtree-admin", "subtree-admin-secret")
XAPI = {"X-Experience-API-Version": "1.0.3"}
KEY = "subtree-privacy-pseudonym-key-0123456789"
SEED = 31
GAME = "https://game.example.org/java-quest/game"
LEVEL = "https://game.example.org/java-quest/level/control-flow"
QUIZ = "https://quiz.example.org/q/"
SECRET = "my-secret-answer"  # in every free-text answer: no pseudonymised export may hold it
TEACHER = {"objectType": "Agent", "mbox": "mailto:teacher@school.example"}
STUDENT = {"objectType": "Agent", "account": {"homePage": "https://quiz.example.org", "name": "student-7"}}


def _quiz(kind: str, **definition: Any) -> dict[str, Any]:
    """The teacher's statement that gives the LRS the question's definition (no answer in it)."""
    return {"id": str(uuid.uuid4()), "actor": TEACHER, "verb": {"id": "http://adlnet.gov/expapi/verbs/asked"},
            "object": {"id": QUIZ + kind, "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                                         "interactionType": kind, **definition}}}


def _answer(kind: str, response: str, verb: str = "http://adlnet.gov/expapi/verbs/answered") -> dict[str, Any]:
    """A student's answer naming the question by id alone."""
    return {"id": str(uuid.uuid4()), "actor": STUDENT, "verb": {"id": verb}, "object": {"id": QUIZ + kind},
            "result": {"response": response}}


@dataclass
class Seeded:
    root: Path
    url: str
    live: list[dict[str, Any]]
    registration: str  # player 2's
    agent_object: str  # a statement about an Agent, under LEVEL
    substatement: str  # a SubStatement without context links: under no activity


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("export-subtree")
    url = sqlite_url(root / "lrs.sqlite3")
    players = [s for p in (1, 2) for s in player_statements(SEED, p)]
    quiz = [_quiz("fill-in"), _quiz("long-fill-in"), _quiz("other"),
            _quiz("choice", choices=[{"id": "option-b", "description": {"en-US": "B"}}]),
            _answer("fill-in", SECRET + " 1"), _answer("other", SECRET + " 2"),
            _answer("long-fill-in", SECRET + " 3", verb=V["selected"]),  # a choices row too
            _answer("choice", "option-b")]
    agent_object = {"id": str(uuid.uuid4()), "actor": TEACHER, "verb": {"id": "http://example.org/verbs/helped"},
                    "object": STUDENT, "context": {"contextActivities": {"parent": [{"id": LEVEL}]}}}
    substatement = {"id": str(uuid.uuid4()), "actor": TEACHER, "verb": {"id": "http://example.org/verbs/planned"},
                    "object": {"objectType": "SubStatement", "actor": STUDENT, "verb": {"id": V["completed"]},
                               "object": {"id": LEVEL}}}
    extra = quiz + [agent_object, substatement]
    settings = Settings(database_url=url, admin_key=ADMIN[0], admin_secret=ADMIN[1], sqlite_synchronous="NORMAL",
                        sqlite_writer="thread")
    with TestClient(create_app(settings)) as client:
        for batch in (players, extra):
            answer = client.post("/xapi/statements", json=batch, auth=ADMIN, headers=XAPI)
            assert answer.status_code == 200, answer.text
        # the LRS keeps the question's definition: the answers, by id alone, do not carry it
        kept = client.get("/xapi/activities", params={"activityId": QUIZ + "fill-in"}, auth=ADMIN, headers=XAPI)
        assert kept.json()["definition"]["interactionType"] == "fill-in"
    registration = player_statements(SEED, 2)[0]["context"]["registration"]
    return Seeded(root, url, players + extra, registration, agent_object["id"], substatement["id"])


def _cli(seeded: Seeded, name: str, *args: str) -> Path:
    """`lrs export` (CSV) from the store, or from ``--endpoint`` when ``args`` name one."""
    out = seeded.root / name
    key = seeded.root / "key.txt"
    key.write_text(KEY + "\n")
    source = [] if "--endpoint" in args else ["--database", seeded.url]
    run_exports({name: Job(out, ["--format", "csv", *source, "--pseudonym-key-file", str(key), *args])},
                seeded.root)
    return out


def _http(seeded: Seeded, **params: str) -> str:
    settings = Settings(database_url=seeded.url, admin_key=ADMIN[0], admin_secret=ADMIN[1], pseudonym_key=KEY,
                        sqlite_writer="thread")
    with TestClient(create_app(settings)) as client:
        answer = client.get("/admin/export/statements.csv", params=params, auth=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.text


def _ids(text: str) -> set[str]:
    return set(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["id"])


# (activity, other filters as CLI/HTTP names, which statements those other filters take)
CASES = {
    "game+verb": (GAME, {"verb": V["selected"]}, lambda s, r: s["verb"]["id"] == V["selected"]),
    "game+verb+registration": (GAME, {"verb": V["accessed"], "registration": "R"},
                               lambda s, r: s["verb"]["id"] == V["accessed"]
                               and (s.get("context") or {}).get("registration") == r),
}


def _expected(seeded: Seeded, case: str) -> tuple[dict[str, str], set[str]]:
    activity, others, takes = CASES[case]
    filters = {"activity": activity, **{k: seeded.registration if v == "R" else v for k, v in others.items()}}
    family = family_ids(seeded.live, activity)  # from every statement's links, independently of lrs.export
    return filters, {s["id"] for s in seeded.live if s["id"] in family and takes(s, seeded.registration)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_activity_with_another_filter_keeps_the_whole_subtree_in_the_cli(seeded: Seeded, case: str) -> None:
    filters, expected = _expected(seeded, case)
    assert len(expected) > 20
    args = [a for name, value in filters.items() for a in (f"--{name}", value)]
    out = _cli(seeded, f"subtree-{case}", *args)
    assert _ids((out / "statements.csv").read_text()) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_activity_with_another_filter_keeps_the_whole_subtree_over_http(seeded: Seeded, case: str) -> None:
    filters, expected = _expected(seeded, case)
    assert _ids(_http(seeded, **filters)) == expected


def test_an_object_without_an_id_is_in_no_subtree(seeded: Seeded) -> None:
    expected = family_ids(seeded.live, LEVEL)
    assert seeded.agent_object in expected and seeded.substatement not in expected
    assert _ids(_http(seeded, activity=LEVEL)) == expected
    assert _ids((_cli(seeded, "level", "--activity", LEVEL) / "statements.csv").read_text()) == expected


def _answers(frame: pd.DataFrame) -> dict[str, Any]:
    rows = frame[frame["object_id"].str.startswith(QUIZ)]
    return {o: (None if pd.isna(r) else r) for o, r in zip(rows["object_id"], rows["response"])}


def test_free_text_answers_naming_their_activity_by_id_alone_are_dropped(seeded: Seeded) -> None:
    server, base = start_server(seeded.url, ADMIN, seeded.root)
    try:
        over_http = _cli(seeded, "privacy-http", "--endpoint", base, "--key", ADMIN[0], "--secret", ADMIN[1])
    finally:
        server.terminate()
        server.wait(timeout=10)
    store = _cli(seeded, "privacy-store")
    route = _http(seeded)
    for where, text in [("route", route)] + [
            (f"{out.name}/{p.name}", p.read_text()) for out in (store, over_http) for p in out.glob("*.csv")]:
        assert SECRET not in text, where
    want = {QUIZ + "fill-in": None, QUIZ + "other": None, QUIZ + "long-fill-in": None, QUIZ + "choice": "option-b"}
    for text in (route, (store / "statements.csv").read_text(), (over_http / "statements.csv").read_text()):
        assert _answers(pd.read_csv(io.StringIO(text), dtype=str)) == want
    for out in (store, over_http):
        choices = pd.read_csv(out / "choices.csv", dtype=str)
        assert _answers(choices) == {QUIZ + "long-fill-in": None}
    # hashed on request, and kept in clear without pseudonymisation (the LRS's definitions change nothing there)
    hashed = _answers(pd.read_csv(_cli(seeded, "privacy-hash", "--free-text", "hash") / "statements.csv", dtype=str))
    assert hashed[QUIZ + "fill-in"].startswith("h_") and hashed[QUIZ + "choice"] == "option-b"
    plain = _answers(pd.read_csv(_cli(seeded, "privacy-plain", "--no-pseudonymize") / "statements.csv", dtype=str))
    assert plain[QUIZ + "fill-in"] == SECRET + " 1"
