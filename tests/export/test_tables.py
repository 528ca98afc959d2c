"""lrs.export.tables.SGTables: attempts at completables, and the progress / choices / accesses rows."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

import pytest

from lrs.export.flatten import Privacy
from lrs.export.tables import TABLES, SGTables

SG = "https://w3id.org/xapi/seriousgames"
PROGRESS = SG + "/extensions/progress"
INITIALIZED = "http://adlnet.gov/expapi/verbs/initialized"
ADB_INITIALIZED = "https://w3id.org/xapi/adb/verbs/initialized"
PROGRESSED = "http://adlnet.gov/expapi/verbs/progressed"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
LEVEL = "https://game.example.org/level/1"
LEVEL_TYPE = SG + "/activity-types/level"
REG = "9b0f3c55-0a6b-4f1e-9d67-0f7d9a8e1b21"
OTHER_REG = "1c5e3b7a-52a8-4d4e-8f0e-3a1b2c3d4e5f"
KEY = b"tables-test-key-0123456789abcdef"

_counter = itertools.count()


def st(verb: str, ts: str, *, obj: str = LEVEL, kind: str = LEVEL_TYPE, player: str = "ada", reg: str | None = REG,
       result: dict[str, Any] | None = None, interaction: str | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind, "name": {"en-US": "thing"}}
    if interaction:
        definition["interactionType"] = interaction
    s: dict[str, Any] = {
        "id": str(uuid.UUID(int=next(_counter) + 1, version=4)),
        "actor": {"objectType": "Agent", "name": player.title(), "mbox": f"mailto:{player}@example.com"},
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {"objectType": "Activity", "id": obj, "definition": definition},
        "timestamp": f"2025-03-03T{ts}Z",
        "stored": f"2025-03-04T00:00:{next(_counter) % 60:02d}.000000Z",
    }
    if reg:
        s["context"] = {"registration": reg}
    if result is not None:
        s["result"] = result
    return s


def progressed(ts: str, value: float, **kw: Any) -> dict[str, Any]:
    return st(PROGRESSED, ts, result={"extensions": {PROGRESS: value}}, **kw)


def completed(ts: str, *, success: bool = True, scaled: float | None = 1.0, raw: float | None = 3,
              duration: str | None = None, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"success": success, "completion": True, "score": {}}
    if scaled is not None:
        result["score"]["scaled"] = scaled
    if raw is not None:
        result["score"]["raw"] = raw
    if duration is not None:
        result["duration"] = duration
    return st(COMPLETED, ts, result=result, **kw)


def attempts(statements: list[dict[str, Any]], privacy: Privacy | None = None) -> list[dict[str, Any]]:
    tables = SGTables(privacy or Privacy())
    for s in statements:
        tables.add(s)
    return tables.attempts()


def test_table_columns() -> None:
    assert [c[0] for c in TABLES["completables"]] == [
        "actor_id", "registration", "object_id", "activity_type", "attempt", "started", "completed", "status",
        "duration_s", "success", "score_scaled", "score_raw", "max_progress", "progress_events", "initialized_id",
        "completed_id"]
    for name in ("progress", "choices", "accesses"):
        assert [c[0] for c in TABLES[name]][:6] == [
            "statement_id", "actor_id", "registration", "object_id", "activity_type", "timestamp"]


def test_initialized_progressed_completed_is_one_completed_attempt() -> None:
    start = st(INITIALIZED, "09:00:00.000")
    end = completed("09:02:00.000", success=True, scaled=0.75, raw=3, duration="PT1M59.5S")
    [row] = attempts([start, progressed("09:00:30.000", 0.3), progressed("09:01:00.000", 0.8),
                      progressed("09:01:30.000", 0.6), end])
    assert row["actor_id"] == "mbox:mailto:ada@example.com"
    assert (row["registration"], row["object_id"], row["activity_type"]) == (REG, LEVEL, LEVEL_TYPE)
    assert row["attempt"] == 1
    assert row["status"] == "completed"
    assert row["started"] == "2025-03-03T09:00:00.000Z"
    assert row["completed"] == "2025-03-03T09:02:00.000Z"
    assert row["duration_s"] == pytest.approx(119.5)  # result.duration wins over completed - started (120)
    assert (row["success"], row["score_scaled"], row["score_raw"]) == (True, 0.75, 3)
    assert row["max_progress"] == pytest.approx(0.8)
    assert row["progress_events"] == 3
    assert (row["initialized_id"], row["completed_id"]) == (start["id"], end["id"])


def test_duration_is_completed_minus_started_without_result_duration() -> None:
    [row] = attempts([st(INITIALIZED, "09:00:00.250"), completed("09:01:35.750")])
    assert row["duration_s"] == pytest.approx(95.5)


def test_an_attempt_never_completed_stays_open() -> None:
    start = st(INITIALIZED, "10:00:00.000")
    [row] = attempts([start, progressed("10:00:10.000", 0.4)])
    assert row["status"] == "open"
    assert row["started"] == "2025-03-03T10:00:00.000Z"
    assert row["completed"] is None and row["completed_id"] is None
    assert row["duration_s"] is None and row["success"] is None and row["score_scaled"] is None
    assert row["max_progress"] == pytest.approx(0.4) and row["progress_events"] == 1
    assert row["initialized_id"] == start["id"]


def test_completed_without_initialized_has_no_start() -> None:
    end = completed("11:00:00.000", duration="PT42S", success=False)
    [row] = attempts([end])
    assert row["attempt"] == 1 and row["status"] == "completed"
    assert row["started"] is None and row["initialized_id"] is None
    assert row["completed_id"] == end["id"]
    assert row["duration_s"] == pytest.approx(42.0)
    assert row["success"] is False
    [row] = attempts([completed("11:00:00.000")])
    assert row["duration_s"] is None  # no duration and no start: unknown


def test_retry_after_failure_is_attempt_two() -> None:
    rows = attempts([
        st(INITIALIZED, "09:00:00.000"), progressed("09:00:30.000", 0.5),
        completed("09:01:00.000", success=False, scaled=0.33, raw=1),
        st(INITIALIZED, "09:02:00.000"), progressed("09:02:10.000", 0.5), progressed("09:02:20.000", 1.0),
        completed("09:03:00.000", success=True, scaled=1.0, raw=3),
    ])
    assert [(r["attempt"], r["status"], r["success"], r["score_raw"]) for r in rows] == [
        (1, "completed", False, 1), (2, "completed", True, 3)]
    assert [r["progress_events"] for r in rows] == [1, 2]
    assert [r["max_progress"] for r in rows] == [0.5, 1.0]
    assert [r["duration_s"] for r in rows] == [60.0, 60.0]


def test_initialized_twice_leaves_the_first_attempt_open() -> None:
    rows = attempts([st(INITIALIZED, "09:00:00.000"), st(INITIALIZED, "09:05:00.000"), completed("09:06:00.000")])
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "open"), (2, "completed")]
    assert rows[1]["duration_s"] == 60.0


def test_events_given_out_of_order_are_sorted_by_timestamp() -> None:
    ordered = [
        st(INITIALIZED, "09:00:00.000"), progressed("09:00:30.000", 0.5),
        completed("09:01:00.000", success=False, raw=1),
        st(INITIALIZED, "09:02:00.000"), progressed("09:02:20.000", 0.9),
        completed("09:03:00.000", success=True, raw=3),
        st(INITIALIZED, "09:04:00.000"),
    ]
    expected = attempts(ordered)
    assert [(r["attempt"], r["status"]) for r in expected] == [(1, "completed"), (2, "completed"), (3, "open")]
    for seed in range(5):
        shuffled = ordered[:]
        random.Random(seed).shuffle(shuffled)
        if shuffled == ordered:
            continue
        assert attempts(shuffled) == expected
    assert attempts(list(reversed(ordered))) == expected


def test_attempts_are_counted_per_actor_registration_and_activity() -> None:
    rows = attempts([
        st(INITIALIZED, "09:00:00.000"), completed("09:01:00.000"),
        st(INITIALIZED, "09:00:00.000", player="bob"), completed("09:01:00.000", player="bob"),
        st(INITIALIZED, "09:00:00.000", reg=OTHER_REG), completed("09:01:00.000", reg=OTHER_REG),
        st(INITIALIZED, "09:00:00.000", obj=LEVEL + "/quest"), completed("09:01:00.000", obj=LEVEL + "/quest"),
    ])
    assert len(rows) == 4
    assert all(r["attempt"] == 1 and r["status"] == "completed" for r in rows)


def test_adb_initialized_starts_an_attempt() -> None:
    [row] = attempts([st(ADB_INITIALIZED, "09:00:00.000"), completed("09:00:10.000")])
    assert row["started"] == "2025-03-03T09:00:00.000Z" and row["duration_s"] == 10.0


def test_attempts_use_pseudonyms() -> None:
    privacy = Privacy(key=KEY)
    [row] = attempts([st(INITIALIZED, "09:00:00.000"), completed("09:00:10.000")], privacy)
    assert row["actor_id"] == privacy.actor_id({"mbox": "mailto:ada@example.com"})
    assert "ada" not in row["actor_id"]


def test_progressed_gives_a_progress_row_at_once() -> None:
    tables = SGTables(Privacy())
    s = progressed("09:00:30.000", 0.25)
    table, row = tables.add(s)
    assert table == "progress"
    assert row == {"statement_id": s["id"], "actor_id": "mbox:mailto:ada@example.com", "registration": REG,
                   "object_id": LEVEL, "activity_type": LEVEL_TYPE, "timestamp": "2025-03-03T09:00:30.000Z",
                   "progress": 0.25}
    assert tables.add(st(INITIALIZED, "09:00:00.000")) is None
    assert tables.add(completed("09:01:00.000")) is None


@pytest.mark.parametrize("verb, expected", [
    ("https://w3id.org/xapi/adb/verbs/selected", "selected"),
    ("http://id.tincanapi.com/verb/selected", "selected"),
    ("http://adlnet.gov/expapi/verbs/selected", "selected"),
    (SG + "/verbs/unlocked", "unlocked"),
])
def test_choice_rows_with_verb_variants(verb: str, expected: str) -> None:
    s = st(verb, "09:00:00.000", obj="https://game.example.org/menu", kind=SG + "/activity-types/menu",
           result={"response": "retry", "success": False})
    table, row = SGTables(Privacy()).add(s)
    assert table == "choices"
    assert row["verb"] == expected
    assert (row["statement_id"], row["object_id"], row["response"], row["success"]) == (
        s["id"], "https://game.example.org/menu", "retry", False)
    assert row["timestamp"] == "2025-03-03T09:00:00.000Z" and row["registration"] == REG


@pytest.mark.parametrize("verb, expected", [
    (SG + "/verbs/accessed", "accessed"),
    ("http://activitystrea.ms/schema/1.0/access", "accessed"),
    ("http://id.tincanapi.com/verb/skipped", "skipped"),
    ("http://adlnet.gov/expapi/verbs/skipped", "skipped"),
])
def test_access_rows_with_verb_variants(verb: str, expected: str) -> None:
    s = st(verb, "09:00:00.000", obj="https://game.example.org/cutscene", kind=SG + "/activity-types/cutscene")
    table, row = SGTables(Privacy()).add(s)
    assert table == "accesses"
    assert row["verb"] == expected and row["statement_id"] == s["id"]
    assert set(row) == {c[0] for c in TABLES["accesses"]}


def test_free_text_choice_responses_follow_the_privacy_policy() -> None:
    s = st("http://id.tincanapi.com/verb/selected", "09:00:00.000", interaction="fill-in",
           result={"response": "Grace, from Arlington"})
    _, row = SGTables(Privacy(key=KEY, free_text="drop")).add(s)
    assert row["response"] is None
    _, row = SGTables(Privacy(key=KEY, free_text="keep")).add(s)
    assert row["response"] == "Grace, from Arlington"


def test_other_statements_give_no_sg_row() -> None:
    tables = SGTables(Privacy())
    assert tables.add(st("http://adlnet.gov/expapi/verbs/experienced", "09:00:00.000")) is None
    agent_object = st(INITIALIZED, "09:00:00.000")
    agent_object["object"] = {"objectType": "Agent", "mbox": "mailto:x@example.com"}
    assert tables.add(agent_object) is None
    assert tables.attempts() == []
