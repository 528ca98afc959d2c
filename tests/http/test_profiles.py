"""xAPI Profile checks on statement writes, through HTTP: strict, warn and off, per LRS and per credential,
and the pattern report GET /admin/profile/report.

The LRS-level setting is chosen per test with ``@pytest.mark.parametrize("lrs_profile", [(profile, enforcement)])``
(both strings or None), read through ``Settings.from_env`` as LRS_PROFILE / LRS_PROFILE_ENFORCEMENT.
Test data: tests/data/sg-examples (tracker statements), tests/data/sg-profile-cases (valid, profile
mistakes with cases.json, invalid xAPI).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lrs.config import Settings
from lrs.credentials import new_credential
from tests.conftest import ADMIN, new_id, sqlite_url
from tests.http.helpers import STATEMENTS

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = DATA / "sg-profile-cases"
TRACKER_FILES = sorted((DATA / "sg-examples").rglob("*.json"))
VALID_FILES = sorted((CASES / "valid").glob("*.json"))
MISTAKES: dict[str, dict[str, Any]] = json.loads((CASES / "profile-mistakes" / "cases.json").read_text())
INVALID_FILES = sorted(p for p in (CASES / "invalid-xapi").glob("*.json") if p.name != "cases.json")

PROFILE_ID = "urn:lrs:profiles:seriousgames-companion"
HEADER = "X-LRS-Profile-Violations"
REPORT = "/admin/profile/report"
SG_TYPE = "https://w3id.org/xapi/seriousgames/activity-types/"
PROGRESS = "https://w3id.org/xapi/seriousgames/extensions/progress"
VIOLATION_KEYS = {"statement", "template", "location", "found", "message"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def mistake(name: str) -> dict[str, Any]:
    return load(CASES / "profile-mistakes" / name)


def valid_statements() -> list[dict[str, Any]]:
    return [load(p) for p in TRACKER_FILES + VALID_FILES]


def test_the_test_data_is_all_there() -> None:
    assert len(TRACKER_FILES) == 30
    assert len(VALID_FILES) == 18
    assert len(MISTAKES) == 12 and all((CASES / "profile-mistakes" / n).is_file() for n in MISTAKES)
    assert len(INVALID_FILES) == 6


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def lrs_profile() -> tuple[str | None, str | None]:
    """(LRS_PROFILE, LRS_PROFILE_ENFORCEMENT); overridden with parametrize."""
    return None, None


@pytest.fixture
def settings(tmp_path: Path, lrs_profile: tuple[str | None, str | None]) -> Settings:
    profile, enforcement = lrs_profile
    env = {}
    if profile is not None:
        env["LRS_PROFILE"] = profile
    if enforcement is not None:
        env["LRS_PROFILE_ENFORCEMENT"] = enforcement
    return Settings.from_env(
        env, database_url=sqlite_url(tmp_path / "lrs.sqlite3"), admin_key=ADMIN[0], admin_secret=ADMIN[1],
        sqlite_synchronous="NORMAL", sqlite_writer="thread",
    )


@pytest.fixture
def player(client, app, settings: Settings) -> Callable[..., tuple[str, str]]:
    """A credential with its own profile setting (``lrs credentials create --profile --enforcement``)."""
    def make(profile: str | None = None, enforcement: str | None = None,
             scopes: tuple[str, ...] = ("statements/write",)) -> tuple[str, str]:
        cred, secret = new_credential(
            list(scopes), authority_homepage=settings.authority_homepage, profile=profile, enforcement=enforcement,
        )
        client.portal.call(app.state.store.put_credential, cred)
        return cred.key, secret

    return make


def kept(client, app) -> list[dict[str, Any]]:
    """The violations the store keeps (warn mode)."""
    return client.portal.call(app.state.store.profile_violations)


def stored(client) -> list[dict[str, Any]]:
    """Every statement stored (admin read, following ``more``)."""
    out: list[dict[str, Any]] = []
    response = client.get(STATEMENTS, params={"limit": 500}, auth=ADMIN)
    for _ in range(50):
        assert response.status_code == 200, response.text
        body = response.json()
        out.extend(body["statements"])
        if not body.get("more"):
            return out
        response = client.get(body["more"], auth=ADMIN)
    raise AssertionError("more links never ended")


def profile_error(response) -> dict[str, Any]:
    """A strict-mode refusal: 400 with the profile error body."""
    assert response.status_code == 400, f"expected 400, got {response.status_code}: {response.text}"
    body = response.json()
    assert body.get("error") == "profile", body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert body.get("profile") == PROFILE_ID, body
    assert isinstance(body.get("violations"), list) and body["violations"], body
    for violation in body["violations"]:
        assert set(violation) == VIOLATION_KEYS, violation
        assert isinstance(violation["message"], str) and violation["message"], violation
    return body


def expected_found(statement: dict[str, Any], location: str | None) -> Any:
    """What was found at a case's location (None when missing)."""
    if location == "$.object.definition.type":
        return ((statement.get("object") or {}).get("definition") or {}).get("type")
    if location == "$.result.response":
        return (statement.get("result") or {}).get("response")
    if location and location.startswith("$.result.extensions['"):
        iri = location[len("$.result.extensions['"):-2]
        return ((statement.get("result") or {}).get("extensions") or {}).get(iri)
    raise AssertionError(f"no expectation for {location}")


STRICT_LRS = ("seriousgames", None)  # LRS_PROFILE alone: strict by default
WARN_LRS = ("seriousgames", "warn")
OFF_LRS = ("seriousgames", "off")
NO_PROFILE = (None, None)


# -- strict -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "lrs_profile, own", [(STRICT_LRS, None), (NO_PROFILE, ("seriousgames", "strict"))], ids=["lrs", "credential"],
)
def test_strict_refuses_a_batch_with_one_mistake_and_stores_none_of_it(client, app, player, own) -> None:
    auth = player(*own) if own else player()
    batch = [load(p) for p in TRACKER_FILES[:2]] + [mistake("06-progressed-progress-out-of-range-1.7.json")]
    batch += [load(p) for p in VALID_FILES[:2]]
    response = client.post(STATEMENTS, json=batch, auth=auth)
    body = profile_error(response)
    assert body["violations"] == [{
        "statement": 2,
        "template": "urn:lrs:profiles:seriousgames-companion:templates:completable-progressed",
        "location": f"$.result.extensions['{PROGRESS}']",
        "found": 1.7,
        "message": body["violations"][0]["message"],
    }]
    assert stored(client) == []
    for statement in batch:
        if "id" in statement:
            assert client.get(STATEMENTS, params={"statementId": statement["id"]}).status_code == 404
    assert kept(client, app) == []


@pytest.mark.parametrize("lrs_profile", [STRICT_LRS])
def test_strict_reports_the_index_of_each_bad_statement_in_the_request(client, player) -> None:
    first, second = "10-pressed-on-level.json", "01-misspelt-verb-progresed.json"
    batch = [mistake(first), load(VALID_FILES[0]), load(TRACKER_FILES[0]), mistake(second)]
    body = profile_error(client.post(STATEMENTS, json=batch, auth=player()))
    got = sorted((v["statement"], v["template"], v["location"]) for v in body["violations"])
    assert got == [
        (0, MISTAKES[first]["template"], MISTAKES[first]["location"]),
        (3, MISTAKES[second]["template"], MISTAKES[second]["location"]),
    ]
    assert stored(client) == []


@pytest.mark.parametrize("lrs_profile", [STRICT_LRS])
@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_strict_refuses_each_mistake_with_its_template_and_location(client, name) -> None:
    statement = mistake(name)
    expected = MISTAKES[name]
    body = profile_error(client.post(STATEMENTS, json=statement))  # the admin credential: the LRS's setting
    [violation] = body["violations"]
    assert violation["statement"] == 0
    assert (violation["template"], violation["location"]) == (expected["template"], expected["location"])
    if expected["location"] is not None:
        assert violation["found"] == expected_found(statement, expected["location"])
    assert stored(client) == []


@pytest.mark.parametrize("lrs_profile", [STRICT_LRS])
def test_strict_accepts_every_valid_sg_statement_in_one_batch(client, player) -> None:
    batch = valid_statements()
    assert len(batch) == 48
    response = client.post(STATEMENTS, json=batch, auth=player())
    assert response.status_code == 200, response.text
    assert "x-lrs-profile-violations" not in response.headers  # the header belongs to warn mode
    ids = response.json()
    assert len(ids) == 48
    assert {s["id"] for s in stored(client)} == set(ids)


@pytest.mark.parametrize(
    "lrs_profile, own", [(STRICT_LRS, None), (NO_PROFILE, ("seriousgames", "strict"))], ids=["lrs", "credential"],
)
def test_strict_put_of_a_mistake_is_400_with_statement_index_0(client, player, own) -> None:
    auth = player(*own) if own else player()
    sid = new_id()
    name = "08-selected-without-response.json"
    response = client.put(STATEMENTS, params={"statementId": sid}, json=mistake(name), auth=auth)
    body = profile_error(response)
    assert [(v["statement"], v["template"], v["location"]) for v in body["violations"]] == [
        (0, MISTAKES[name]["template"], MISTAKES[name]["location"])
    ]
    assert client.get(STATEMENTS, params={"statementId": sid}).status_code == 404


@pytest.mark.parametrize("lrs_profile", [STRICT_LRS])
def test_strict_put_of_a_valid_statement_is_stored(client, player) -> None:
    sid = new_id()
    statement = load(VALID_FILES[2])
    statement.pop("id", None)
    response = client.put(STATEMENTS, params={"statementId": sid}, json=statement, auth=player())
    assert response.status_code == 204, response.text
    assert client.get(STATEMENTS, params={"statementId": sid}).status_code == 200


@pytest.mark.parametrize("lrs_profile", [STRICT_LRS, WARN_LRS], ids=["strict", "warn"])
def test_a_voiding_statement_is_not_checked_against_the_profile(client, app, player) -> None:
    # A game (or a teacher) corrects a wrong statement by voiding it: no SG template describes that.
    auth = player()
    statement = load(VALID_FILES[2])
    statement.pop("id", None)
    [target] = client.post(STATEMENTS, json=statement, auth=auth).json()
    voiding = {"actor": statement["actor"], "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": target}}
    response = client.post(STATEMENTS, json=voiding, auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers.get("x-lrs-profile-violations") in (None, "0")
    assert client.get(STATEMENTS, params={"voidedStatementId": target}).status_code == 200
    assert kept(client, app) == []
    # Anything else that no template describes is still refused (or kept as a violation).
    other = {**voiding, "verb": {"id": "http://example.com/verbs/voided-ish"}}
    response = client.post(STATEMENTS, json=other, auth=auth)
    assert response.status_code == 400 or response.headers.get("x-lrs-profile-violations") == "1", response.text


# -- warn -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "lrs_profile, own", [(WARN_LRS, None), (NO_PROFILE, ("seriousgames", "warn"))], ids=["lrs", "credential"],
)
def test_warn_stores_every_mistake_counts_and_keeps_the_violations(client, app, player, own) -> None:
    auth = player(*own) if own else player()
    names = sorted(MISTAKES)
    batch = [mistake(n) for n in names]
    response = client.post(STATEMENTS, json=batch, auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers.get(HEADER) == str(len(names))
    ids = response.json()
    assert len(ids) == len(names)
    assert {s["id"] for s in stored(client)} == set(ids)
    rows = kept(client, app)
    by_id = {row["statement"]: row for row in rows}
    assert len(rows) == len(names) and set(by_id) == set(ids)
    for sid, name in zip(ids, names):
        row = by_id[sid]
        assert row["profile"] == PROFILE_ID
        assert (row["template"], row["location"]) == (MISTAKES[name]["template"], MISTAKES[name]["location"]), name
        assert isinstance(row["message"], str) and row["message"]


@pytest.mark.parametrize("lrs_profile", [WARN_LRS])
def test_warn_mixed_batch_keeps_only_the_mistakes(client, app, player) -> None:
    name = "11-used-health-as-percent.json"
    batch = [load(TRACKER_FILES[3]), mistake(name), load(VALID_FILES[4])]
    response = client.post(STATEMENTS, json=batch, auth=player())
    assert response.status_code == 200, response.text
    assert response.headers.get(HEADER) == "1"
    ids = response.json()
    assert len(stored(client)) == 3
    [row] = kept(client, app)
    assert row["statement"] == ids[1]
    assert (row["template"], row["location"], row["found"]) == (
        MISTAKES[name]["template"], MISTAKES[name]["location"], 75,
    )


@pytest.mark.parametrize("lrs_profile", [WARN_LRS])
def test_warn_clean_batch_says_0_violations(client, app, player) -> None:
    response = client.post(STATEMENTS, json=valid_statements(), auth=player())
    assert response.status_code == 200, response.text
    assert response.headers.get(HEADER) == "0"
    assert kept(client, app) == []


@pytest.mark.parametrize("lrs_profile", [WARN_LRS])
def test_warn_put_of_a_mistake_is_stored_with_the_header(client, app, player) -> None:
    sid = new_id()
    name = "09-unlocked-without-response.json"
    response = client.put(STATEMENTS, params={"statementId": sid}, json=mistake(name), auth=player())
    assert response.status_code == 204, response.text
    assert response.headers.get(HEADER) == "1"
    assert client.get(STATEMENTS, params={"statementId": sid}).status_code == 200
    [row] = kept(client, app)
    assert (row["statement"], row["template"], row["location"]) == (
        sid, MISTAKES[name]["template"], MISTAKES[name]["location"],
    )


@pytest.mark.parametrize("lrs_profile", [WARN_LRS])
def test_warn_resending_the_same_statement_keeps_no_duplicate(client, app, player) -> None:
    auth = player()
    sid = new_id()
    statement = dict(mistake("07-progressed-progress-as-string.json"), id=sid)
    first = client.post(STATEMENTS, json=[statement], auth=auth)
    assert first.status_code == 200, first.text
    assert first.headers.get(HEADER) == "1"
    again = client.post(STATEMENTS, json=[copy.deepcopy(statement)], auth=auth)
    assert again.status_code == 200, again.text  # equivalent: accepted, nothing new stored
    put = client.put(STATEMENTS, params={"statementId": sid}, json=copy.deepcopy(statement), auth=auth)
    assert put.status_code == 204, put.text
    # again, in a batch where another statement is new
    fresh = dict(load(VALID_FILES[6]), id=new_id())
    mixed = client.post(STATEMENTS, json=[copy.deepcopy(statement), fresh], auth=auth)
    assert mixed.status_code == 200, mixed.text
    assert sorted(s["id"] for s in stored(client)) == sorted([sid, fresh["id"]])
    rows = kept(client, app)
    assert [(r["statement"], r["found"]) for r in rows] == [(sid, "0.5")]


# -- off --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "lrs_profile, own",
    [(STRICT_LRS, (None, "off")), (STRICT_LRS, ("seriousgames", "off")), (OFF_LRS, None)],
    ids=["credential-off", "credential-profile-off", "lrs-off"],
)
def test_off_stores_mistakes_without_header(client, app, player, own) -> None:
    auth = player(*own) if own else player()
    batch = [mistake(n) for n in sorted(MISTAKES)]
    response = client.post(STATEMENTS, json=batch, auth=auth)
    assert response.status_code == 200, response.text
    assert HEADER not in response.headers
    assert len(stored(client)) == len(batch)
    assert kept(client, app) == []
    sid = new_id()
    response = client.put(STATEMENTS, params={"statementId": sid}, json=mistake("10-pressed-on-level.json"), auth=auth)
    assert response.status_code == 204, response.text
    assert HEADER not in response.headers


# -- the credential's setting wins --------------------------------------------------------

@pytest.mark.parametrize("lrs_profile", [STRICT_LRS])
def test_warn_credential_on_a_strict_lrs_is_stored(client, app, player) -> None:
    response = client.post(STATEMENTS, json=[mistake("04-interacted-type-non-playable-character.json")],
                           auth=player("seriousgames", "warn"))
    assert response.status_code == 200, response.text
    assert response.headers.get(HEADER) == "1"
    [sid] = response.json()
    assert [r["statement"] for r in kept(client, app)] == [sid]
    # the LRS's own setting still applies to a credential without one
    profile_error(client.post(STATEMENTS, json=[mistake("04-interacted-type-non-playable-character.json")],
                              auth=player()))


@pytest.mark.parametrize("lrs_profile", [NO_PROFILE])
def test_strict_credential_on_an_lrs_without_profile_is_refused(client, player) -> None:
    body = profile_error(client.post(STATEMENTS, json=[mistake("02-errata-completed-verb-on-area.json")],
                                     auth=player("seriousgames", "strict")))
    assert [v["statement"] for v in body["violations"]] == [0]
    assert stored(client) == []


@pytest.mark.parametrize("lrs_profile", [WARN_LRS])
def test_strict_credential_on_a_warn_lrs_is_refused(client, player) -> None:
    profile_error(client.post(STATEMENTS, json=[mistake("12-completed-object-without-type.json")],
                              auth=player("seriousgames", "strict")))
    assert stored(client) == []


@pytest.mark.parametrize("lrs_profile", [NO_PROFILE])
def test_credential_with_profile_and_no_enforcement_is_strict(client, player) -> None:
    profile_error(client.post(STATEMENTS, json=[mistake("12-completed-object-without-type.json")],
                              auth=player("seriousgames")))


# -- invalid xAPI is a validation error in every mode --------------------------------------

@pytest.mark.parametrize("lrs_profile", [STRICT_LRS, WARN_LRS, OFF_LRS], ids=["strict", "warn", "off"])
def test_invalid_xapi_is_a_validation_error_in_every_mode(client, app, player, lrs_profile) -> None:
    auths = [player(), player("seriousgames", "strict"), player("seriousgames", "warn"), player(None, "off")]
    failures = []
    for path in INVALID_FILES:
        for auth in auths:
            for body in (load(path), [load(VALID_FILES[0]), load(path)]):
                response = client.post(STATEMENTS, json=body, auth=auth)
                got = (response.status_code, response.json().get("error") if response.status_code != 200 else None)
                if got != (400, "validation"):
                    failures.append((path.name, auth[0], type(body).__name__, got, response.text[:200]))
    assert failures == []
    assert stored(client) == []
    assert kept(client, app) == []


# -- no profile at all ----------------------------------------------------------------------

@pytest.mark.parametrize("lrs_profile", [NO_PROFILE])
def test_without_any_profile_sg_mistakes_are_accepted(client, app, player) -> None:
    batch = [mistake(n) for n in sorted(MISTAKES)]
    response = client.post(STATEMENTS, json=batch, auth=player())
    assert response.status_code == 200, response.text
    assert HEADER not in response.headers
    assert len(stored(client)) == len(batch)
    assert kept(client, app) == []
    response = client.post(STATEMENTS, json=mistake("01-misspelt-verb-progresed.json"))  # admin credential
    assert response.status_code == 200 and HEADER not in response.headers


# -- the pattern report -----------------------------------------------------------------------

def sg(actor: str, verb: str, object_key: str, object_type: str, timestamp: str, registration: str | None,
       **result: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": new_id(),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://games.example.org", "name": actor}},
        "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[1]}},
        "object": {"objectType": "Activity", "id": f"https://games.example.org/reef/{object_key}",
                   "definition": {"type": SG_TYPE + object_type}},
        "timestamp": timestamp,
    }
    if registration:
        statement["context"] = {"registration": registration}
    if result:
        statement["result"] = result
    return statement


INITIALIZED = "http://adlnet.gov/expapi/verbs/initialized"
PROGRESSED = "http://adlnet.gov/expapi/verbs/progressed"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


def lifecycle(registration: str, actor: str = "player-1") -> dict[str, dict[str, Any]]:
    """level-1: initialized, 0.6, 0.4, completed; level-2: initialized only; quest-1: completed only."""
    return {
        "start": sg(actor, INITIALIZED, "level-1", "level", "2026-05-04T09:00:00.000Z", registration),
        "p1": sg(actor, PROGRESSED, "level-1", "level", "2026-05-04T09:01:00.000Z", registration,
                 extensions={PROGRESS: 0.6}),
        "p2": sg(actor, PROGRESSED, "level-1", "level", "2026-05-04T09:02:00.000Z", registration,
                 extensions={PROGRESS: 0.4}),
        "end": sg(actor, COMPLETED, "level-1", "level", "2026-05-04T09:03:00.000Z", registration, success=True),
        "open": sg(actor, INITIALIZED, "level-2", "level", "2026-05-04T09:04:00.000Z", registration),
        "orphan": sg(actor, COMPLETED, "quest-1", "quest", "2026-05-04T09:05:00.000Z", registration),
    }


def issues_of(report: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(kind, object id, statement id) of every issue of the report."""
    return sorted((i["kind"], t["object"], i["statement"]) for t in report["tracks"] for i in t["issues"])


def test_admin_report_lists_the_pattern_issues_of_one_registration(bare_client) -> None:
    client = bare_client  # no X-Experience-API-Version header is needed on /admin
    registration, other = new_id(), new_id()
    events = lifecycle(registration)
    # posted out of order, plus another registration that must not show up
    noise = lifecycle(other, actor="player-2")
    batch = [events[k] for k in ("end", "p2", "orphan", "start", "open", "p1")] + [noise["open"]]
    response = client.post(STATEMENTS, json=batch, auth=ADMIN, headers={"X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 200, response.text

    response = client.get(REPORT, params={"registration": registration}, auth=ADMIN)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["by_kind"] == {"progress-backwards": 1, "never-completed": 1, "completed-without-start": 1}
    assert report["issues"] == 3
    assert report["registrations"] == 1 and report["completables"] == 3
    base = "https://games.example.org/reef/"
    assert issues_of(report) == sorted([
        ("progress-backwards", base + "level-1", events["p2"]["id"]),
        ("never-completed", base + "level-2", None),
        ("completed-without-start", base + "quest-1", events["orphan"]["id"]),
    ])
    assert {t["registration"] for t in report["tracks"]} == {registration}


def test_admin_report_of_a_registration_without_statements_is_empty(bare_client) -> None:
    response = bare_client.get(REPORT, params={"registration": new_id()}, auth=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["issues"] == 0 and response.json()["tracks"] == []


def test_admin_report_needs_a_uuid_registration(bare_client) -> None:
    for params in ({}, {"registration": "not-a-uuid"}, {"registration": ""}):
        response = bare_client.get(REPORT, params=params, auth=ADMIN)
        assert response.status_code == 400, (params, response.status_code, response.text)
        assert response.json().get("error"), response.text


def test_admin_report_refuses_a_parameter_given_twice(bare_client) -> None:
    # Before: the last value was used (every other resource answers 400: which one was meant?).
    first, second = new_id(), new_id()
    for query in (f"registration={first}&registration={second}",
                  f"registration={first}&profile=seriousgames&profile=seriousgames"):
        response = bare_client.get(f"{REPORT}?{query}", auth=ADMIN)
        assert response.status_code == 400, (query, response.text)
        assert "more than once" in response.json()["message"], response.text


def test_admin_report_takes_no_file_path_from_the_request(bare_client, tmp_path) -> None:
    # Found by a 5xx hunt: profile= was opened as a path, so a caller could make the server read any
    # file (a 500 for some, and the messages told which files exist).
    readable = tmp_path / "profile.jsonld"
    readable.write_text("{}")
    for name in (str(readable), "/etc/passwd", "/proc/self/mem", "x" * 300, "../seriousgames"):
        response = bare_client.get(REPORT, params={"registration": new_id(), "profile": name}, auth=ADMIN)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["path"] == "profile" and "LRS_PROFILE" in response.json()["message"]
    response = bare_client.get(REPORT, params={"registration": new_id(), "profile": "seriousgames"}, auth=ADMIN)
    assert response.status_code == 200, response.text


def test_admin_report_needs_all_read_or_all(bare_client, credential) -> None:
    registration = new_id()
    for scopes in (("statements/read",), ("statements/write", "statements/read/mine"), ("state", "profile", "define")):
        response = bare_client.get(REPORT, params={"registration": registration}, auth=credential(*scopes))
        assert response.status_code == 403, (scopes, response.status_code, response.text)
    for scopes in (("all/read",), ("all",)):
        response = bare_client.get(REPORT, params={"registration": registration}, auth=credential(*scopes))
        assert response.status_code == 200, (scopes, response.status_code, response.text)


def test_admin_report_needs_credentials(bare_client) -> None:
    response = bare_client.get(REPORT, params={"registration": new_id()})
    assert response.status_code == 401, response.text
    response = bare_client.get(REPORT, params={"registration": new_id()}, auth=(ADMIN[0], "wrong"))
    assert response.status_code == 401, response.text


# -- found by a review of profile checks (twelfth session) --------------------------------

def _rules_profile(path: Path, *rules: dict[str, Any]) -> str:
    """A Profiles 1.0 file with one template (verb http://example.com/verbs/rule) holding ``rules``."""
    base = "http://example.com/profiles/rules"
    path.write_text(json.dumps({
        "@context": "https://w3id.org/xapi/profiles/context", "id": base, "type": "Profile",
        "conformsTo": "https://w3id.org/xapi/profiles#1.0", "prefLabel": {"en": "rules"},
        "definition": {"en": "rules"}, "author": {"type": "Organization", "name": "test"},
        "versions": [{"id": base + "/v1", "generatedAtTime": "2026-01-01T00:00:00Z"}],
        "templates": [{"id": base + "/t", "type": "StatementTemplate", "inScheme": base + "/v1",
                       "prefLabel": {"en": "t"}, "definition": {"en": "t"},
                       "verb": "http://example.com/verbs/rule", "rules": list(rules)}],
    }))
    return str(path)


def test_rules_are_checked_on_the_statement_as_its_author_wrote_it(client, player, statement, tmp_path) -> None:
    # Profiles Part Two §8: the Learning Record Provider authoring a statement must follow the rules.
    # Before, they were checked after the LRS completed the statement: a rule requiring `timestamp` was
    # met by the one the LRS adds, and one excluding `stored` or `authority` refused every statement.
    verb = {"id": "http://example.com/verbs/rule"}
    needs_timestamp = _rules_profile(tmp_path / "timestamp.jsonld", {"location": "$.timestamp", "presence": "included"})
    key = player(profile=needs_timestamp, enforcement="strict")
    body = statement(verb=verb)
    body.pop("timestamp", None)
    response = client.post(STATEMENTS, json=body, auth=key)
    assert response.status_code == 400 and response.json()["error"] == "profile", response.text
    assert client.post(STATEMENTS, json=statement(verb=verb, timestamp="2026-11-28T02:00:00Z"), auth=key).status_code == 200

    lrs_only = _rules_profile(tmp_path / "excluded.jsonld", {"location": "$.stored", "presence": "excluded"},
                              {"location": "$.authority", "presence": "excluded"})
    key = player(profile=lrs_only, enforcement="strict")
    assert client.post(STATEMENTS, json=statement(verb=verb), auth=key).status_code == 200
    response = client.post(STATEMENTS, json=statement(verb=verb, stored="2026-11-28T02:00:00Z"), auth=key)
    assert response.status_code == 400 and response.json()["violations"][0]["location"] == "$.stored", response.text


def test_a_credential_whose_profile_file_is_gone_gets_503_not_500(client, player, statement, tmp_path) -> None:
    # A review: the file a credential was made with (lrs credentials create --profile PATH) moved away,
    # and every statement it sent was a 500.
    gone = _rules_profile(tmp_path / "gone.jsonld", {"location": "$.timestamp", "presence": "included"})
    Path(gone).unlink()
    key = player(profile=gone, enforcement="strict")
    response = client.post(STATEMENTS, json=statement(), auth=key)
    assert response.status_code == 503 and response.json()["error"] == "profile_unavailable", response.text
    assert "gone.jsonld" in response.json()["message"] and response.headers["Retry-After"]
    assert client.get(STATEMENTS, auth=ADMIN).json()["statements"] == []  # nothing stored


def test_a_profile_file_edited_or_deleted_applies_to_the_next_statement(client, player, statement, tmp_path) -> None:
    # A README walk-through: the first reading of a profile file was kept until the server restarted.
    import os

    verb = {"id": "http://example.com/verbs/rule"}
    path = tmp_path / "edited.jsonld"
    _rules_profile(path, {"location": "$.result.response", "presence": "included"})
    key = player(profile=str(path), enforcement="strict")
    assert client.post(STATEMENTS, json=statement(verb=verb), auth=key).status_code == 400
    _rules_profile(path, {"location": "$.result.response", "presence": "recommended"})
    os.utime(path, ns=(1, 10**18))  # another modification time, whatever the file system's resolution
    assert client.post(STATEMENTS, json=statement(verb=verb), auth=key).status_code == 200
    path.unlink()
    assert client.post(STATEMENTS, json=statement(verb=verb), auth=key).status_code == 503
