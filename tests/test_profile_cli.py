"""The `lrs` command and xAPI Profiles, as real processes: credentials with a profile and an enforcement,
`lrs serve` checking a player's statements in warn mode, and `lrs profile report`.

One `lrs serve` for the module; every other command is a short `lrs` process on the same SQLite file.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sqlite_url
from tests.http.test_profiles import MISTAKES, PROFILE_ID, VALID_FILES, lifecycle, load, mistake
from tests.test_cli import _free_port, read_csv

HEADER = "x-lrs-profile-violations"  # header names as received, lower-cased
ADMIN = ("admin", "s3cret")
FIRST_MISTAKE = "06-progressed-progress-out-of-range-1.7.json"
SECOND_MISTAKE = "08-selected-without-response.json"
REGISTRATION = "5b0a7c3e-1f2d-4e6a-9b8c-7d6e5f4a3b21"


def lrs_command() -> list[str]:
    """The installed `lrs` console script next to this interpreter, else `python -m lrs`."""
    script = Path(sys.executable).parent / "lrs"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "lrs"]


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("LRS_PROFILE", "LRS_PROFILE_ENFORCEMENT", "LRS_DATABASE_URL", "LRS_ADMIN_KEY", "LRS_ADMIN_SECRET"):
        env.pop(name, None)
    return env


def run_lrs(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*lrs_command(), *args], check=False, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60,
    )


def http(url: str, *, method: str = "GET", body: Any = None,
         auth: tuple[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"X-Experience-API-Version": "1.0.3"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@dataclass
class Deployment:
    dir: Path
    db: str
    created: subprocess.CompletedProcess
    players: list[tuple[str, str]]
    base: str = ""
    responses: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ids(self, name: str) -> list[str]:
        return json.loads(self.responses[name][2])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory):
    """Player credentials made by `lrs credentials create --profile seriousgames --enforcement warn`,
    `lrs serve` on that database (no LRS_PROFILE), and what the players posted."""
    directory = tmp_path_factory.mktemp("profile-cli")
    db = sqlite_url(directory / "lrs.sqlite3")
    created = run_lrs("credentials", "create", "--count", "2", "--scope", "statements/write",
                      "--profile", "seriousgames", "--enforcement", "warn",
                      "--output", str(directory / "players.csv"), "--database", db)
    players = [(r["key"], r["secret"]) for r in read_csv(directory / "players.csv")] if created.returncode == 0 else []
    deployment = Deployment(directory, db, created, players)
    if len(players) != 2:
        yield deployment
        return

    port = _free_port()
    env = clean_env()
    env.update(LRS_ADMIN_KEY=ADMIN[0], LRS_ADMIN_SECRET=ADMIN[1])
    with open(directory / "serve.log", "wb") as log:
        server = subprocess.Popen([*lrs_command(), "serve", "--port", str(port), "--database", db],
                                  cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT)
        deployment.base = f"http://127.0.0.1:{port}/xapi"
        try:
            for _ in range(150):
                try:
                    if http(f"{deployment.base}/about")[0] == 200:
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
                if server.poll() is not None:
                    pytest.fail(f"lrs serve exited: {(directory / 'serve.log').read_text()}")
                time.sleep(0.1)
            else:
                pytest.fail("lrs serve did not answer /about")
            first, second = players
            statements = f"{deployment.base}/statements"
            deployment.responses["mistake"] = http(statements, method="POST", body=[mistake(FIRST_MISTAKE)], auth=first)
            deployment.responses["clean"] = http(statements, method="POST", body=[load(VALID_FILES[2])], auth=second)
            events = lifecycle(REGISTRATION)
            deployment.events = events
            deployment.responses["lifecycle"] = http(statements, method="POST", body=list(events.values()), auth=first)
            time.sleep(0.01)  # the second mistake is stored strictly later: it is the newest
            deployment.responses["second"] = http(statements, method="POST", body=mistake(SECOND_MISTAKE), auth=second)
            yield deployment
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def report(deployment: Deployment, *args: str) -> subprocess.CompletedProcess:
    return run_lrs("profile", "report", *args, "--database", deployment.db)


def report_json(deployment: Deployment, *args: str) -> Any:
    done = report(deployment, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- credentials ------------------------------------------------------------------------

def test_credentials_create_with_a_profile_writes_the_players_csv(deployment: Deployment) -> None:
    assert deployment.created.returncode == 0, deployment.created.stderr
    rows = read_csv(deployment.dir / "players.csv")
    assert len(rows) == 2 and len({r["key"] for r in rows}) == 2 and all(r["secret"] for r in rows)


def test_credentials_create_with_an_unknown_profile_fails_clearly(tmp_path: Path) -> None:
    out = tmp_path / "players.csv"
    done = run_lrs("credentials", "create", "--scope", "statements/write", "--profile", "nonexistent",
                   "--enforcement", "warn", "--output", str(out), "--database", sqlite_url(tmp_path / "db.sqlite3"))
    assert done.returncode != 0
    assert "nonexistent" in done.stderr and "profile" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not out.exists() or read_csv(out) == []


def test_credentials_create_keeps_a_profile_path_as_an_absolute_path(tmp_path: Path) -> None:
    # A review: a relative --profile was kept as typed, so a server started in another directory
    # could not find it (every statement of those credentials was a 500).
    import sqlite3

    profile = tmp_path / "mine.jsonld"
    profile.write_bytes((Path(__file__).resolve().parent.parent / "profiles" / "seriousgames-companion.jsonld").read_bytes())
    db = tmp_path / "db.sqlite3"
    done = run_lrs("credentials", "create", "--profile", "mine.jsonld", "--enforcement", "warn",
                   "--database", sqlite_url(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run_lrs("credentials", "create", "--profile", "seriousgames", "--database", sqlite_url(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        kept = sorted(json.loads(extra)["profile"] for (extra,) in conn.execute("SELECT extra FROM credentials"))
    assert kept == sorted([str(profile), "seriousgames"])


def test_credentials_create_with_enforcement_but_no_profile_fails(tmp_path: Path) -> None:
    out = tmp_path / "players.csv"
    done = run_lrs("credentials", "create", "--scope", "statements/write", "--enforcement", "warn",
                   "--output", str(out), "--database", sqlite_url(tmp_path / "db.sqlite3"))
    assert done.returncode != 0
    assert "--profile" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not out.exists() or read_csv(out) == []


# -- lrs serve with the players' credentials -----------------------------------------------

def test_a_players_mistake_is_stored_with_the_violations_header(deployment: Deployment) -> None:
    status, headers, body = deployment.responses["mistake"]
    assert status == 200, body
    assert headers.get(HEADER) == "1", headers
    [statement_id] = json.loads(body)
    status, _, body = http(f"{deployment.base}/statements?statementId={statement_id}", auth=ADMIN)
    assert status == 200, body

    status, headers, body = deployment.responses["clean"]
    assert status == 200 and headers.get(HEADER) == "0", (status, headers, body)
    status, headers, body = deployment.responses["lifecycle"]
    assert status == 200 and headers.get(HEADER) == "0", (status, headers, body)
    status, headers, body = deployment.responses["second"]
    assert status == 200 and headers.get(HEADER) == "1", (status, headers, body)


# -- lrs profile report --violations --------------------------------------------------------

def test_report_violations_json_lists_the_kept_violations(deployment: Deployment) -> None:
    rows = report_json(deployment, "--violations")
    [first] = deployment.ids("mistake")
    [second] = deployment.ids("second")
    by_id = {row["statement"]: row for row in rows}
    assert len(rows) == 2 and set(by_id) == {first, second}, rows
    for sid, name in ((first, FIRST_MISTAKE), (second, SECOND_MISTAKE)):
        assert (by_id[sid]["template"], by_id[sid]["location"]) == (MISTAKES[name]["template"], MISTAKES[name]["location"])
        assert by_id[sid]["profile"] == PROFILE_ID and by_id[sid]["message"]
    assert by_id[first]["found"] == 1.7
    assert [row["statement"] for row in rows] == [second, first]  # newest first


def test_report_violations_limit_gives_the_newest(deployment: Deployment) -> None:
    rows = report_json(deployment, "--violations", "--limit", "1")
    assert [row["statement"] for row in rows] == deployment.ids("second")


def test_report_violations_text_mentions_each_violation(deployment: Deployment) -> None:
    done = report(deployment, "--violations")
    assert done.returncode == 0, done.stderr
    [first] = deployment.ids("mistake")
    assert first in done.stdout and MISTAKES[FIRST_MISTAKE]["template"] in done.stdout, done.stdout
    assert deployment.ids("second")[0] in done.stdout, done.stdout
    assert "2 profile violation" in done.stdout, done.stdout
    for clean in deployment.ids("clean") + deployment.ids("lifecycle"):
        assert clean not in done.stdout


# -- lrs profile report --registration ------------------------------------------------------

def test_report_registration_json_is_the_pattern_report(deployment: Deployment) -> None:
    result = report_json(deployment, "--registration", REGISTRATION)
    assert result["pattern"] == "urn:lrs:profiles:seriousgames-companion:patterns:completable-attempt"
    assert result["by_kind"] == {"progress-backwards": 1, "never-completed": 1, "completed-without-start": 1}
    assert result["registrations"] == 1 and result["completables"] == 3
    events = deployment.events
    issues = sorted((i["kind"], i["statement"]) for t in result["tracks"] for i in t["issues"])
    assert issues == sorted([
        ("progress-backwards", events["p2"]["id"]),
        ("never-completed", None),
        ("completed-without-start", events["orphan"]["id"]),
    ])


def test_report_registration_text_names_the_issues(deployment: Deployment) -> None:
    done = report(deployment, "--registration", REGISTRATION.upper())
    assert done.returncode == 0, done.stderr
    for kind in ("progress-backwards", "never-completed", "completed-without-start"):
        assert kind in done.stdout, done.stdout


def test_report_all_registrations_covers_every_statement(deployment: Deployment) -> None:
    result = report_json(deployment, "--all-registrations")
    # the registration above, and statements without registration (the first mistake, a progressed level)
    assert result["by_kind"].get("progress-backwards") == 1
    assert result["registrations"] >= 2
    assert any(t["registration"] == REGISTRATION for t in result["tracks"])


def test_report_registration_must_be_a_uuid(deployment: Deployment) -> None:
    done = report(deployment, "--registration", "not-a-uuid")
    assert done.returncode != 0
    assert "UUID" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
