"""The `lrs` command: credentials for players, listing, revocation, and `lrs serve` end to end."""

from __future__ import annotations

import base64
import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.cli import main
from lrs.config import Settings
from tests.conftest import BASE_STATEMENT, sqlite_url

V = {"X-Experience-API-Version": "1.0.3"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "cli.sqlite3")


def test_credentials_create_writes_key_secret_csv_for_each_player(tmp_path: Path, db: str, capsys) -> None:
    out = tmp_path / "players.csv"
    assert main(["credentials", "create", "--count", "30", "--scope", "statements/write",
                 "--output", str(out), "--database", db]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "key,secret"
    rows = read_csv(out)
    assert len(rows) == 30
    assert len({r["key"] for r in rows}) == 30 and all(r["secret"] for r in rows)


def test_credentials_list_shows_scopes_but_never_secrets(tmp_path: Path, db: str, capsys) -> None:
    out = tmp_path / "app.csv"
    main(["credentials", "create", "--scope", "statements/write", "--scope", "statements/read/mine",
          "--output", str(out), "--database", db])
    [row] = read_csv(out)
    capsys.readouterr()
    assert main(["credentials", "list", "--database", db]) == 0
    listing = capsys.readouterr().out
    assert row["key"] in listing
    assert "statements/write statements/read/mine" in listing
    assert row["secret"] not in listing


def test_unknown_scope_is_refused(db: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["credentials", "create", "--scope", "statements/everything", "--database", db])
    assert exit_.value.code == 2


def test_player_credentials_work_have_distinct_authorities_and_revocation_is_immediate(tmp_path: Path, db: str) -> None:
    out = tmp_path / "players.csv"
    main(["credentials", "create", "--count", "2", "--scope", "statements/write", "--scope", "statements/read/mine",
          "--output", str(out), "--database", db])
    first, second = read_csv(out)
    app = create_app(Settings(database_url=db, sqlite_synchronous="NORMAL"))
    with TestClient(app) as client:
        authorities = []
        for cred in (first, second):
            auth = (cred["key"], cred["secret"])
            posted = client.post("/xapi/statements", json=dict(BASE_STATEMENT), headers=V, auth=auth)
            assert posted.status_code == 200, posted.text
            got = client.get("/xapi/statements", params={"statementId": posted.json()[0]}, headers=V, auth=auth)
            authorities.append(got.json()["authority"])
        assert authorities[0] != authorities[1]

        auth = (first["key"], first["secret"])
        assert main(["credentials", "revoke", first["key"], "--database", db]) == 0
        # revoked for writes (checked when the batch commits) and for reads, on the very next request
        assert client.post("/xapi/statements", json=dict(BASE_STATEMENT), headers=V, auth=auth).status_code == 401
        assert client.get("/xapi/statements", headers=V, auth=auth).status_code == 401
        # the other player is unaffected
        other = (second["key"], second["secret"])
        assert client.post("/xapi/statements", json=dict(BASE_STATEMENT), headers=V, auth=other).status_code == 200


def test_revoking_an_unknown_key_fails(db: str, tmp_path: Path, capsys) -> None:
    assert main(["credentials", "revoke", "nope", "--database", db]) == 2  # no database there: not created
    assert "no SQLite database" in capsys.readouterr().err
    assert main(["credentials", "create", "--database", db, "--output", str(tmp_path / "p.csv")]) == 0
    assert main(["credentials", "revoke", "nope", "--database", db]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, *, data: bytes | None = None, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    headers = dict(V, **({"Content-Type": "application/json"} if data else {}))
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_lrs_serve_serves_the_api_with_an_sqlite_file_in_the_working_directory(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, LRS_ADMIN_KEY="admin", LRS_ADMIN_SECRET="s3cret")
    env.pop("LRS_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "lrs", "serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/xapi"
    try:
        for _ in range(100):
            try:
                status, body = _request(f"{base}/about")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("lrs serve did not answer /about")
        assert status == 200 and "1.0.3" in json.loads(body)["version"]
        status, body = _request(f"{base}/statements", data=json.dumps(BASE_STATEMENT).encode(), auth=("admin", "s3cret"))
        assert status == 200, body
        [statement_id] = json.loads(body)
        status, body = _request(f"{base}/statements?statementId={statement_id}", auth=("admin", "s3cret"))
        assert status == 200 and json.loads(body)["id"] == statement_id
        assert _request(f"{base}/statements", auth=("admin", "wrong"))[0] == 401
        assert (tmp_path / "lrs.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_tunes_the_garbage_collector_for_batches() -> None:
    import gc

    from lrs import cli
    from lrs._gc import GC_THRESHOLDS

    before = gc.get_threshold()
    try:
        cli._tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_threshold()[0] >= 10_000  # not a young collection every few statements
        assert gc.get_freeze_count() > 0  # the imported modules are out of the collector's walks
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_export_help_says_since_and_until_take_a_date(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    since = text.split("--since SINCE ", 1)[1].split("--until UNTIL ", 1)[0]
    until = text.split("--until UNTIL ", 1)[1].split("--activity ACTIVITY ", 1)[0]
    for help_ in (since, until):  # what lrs.export.filters.with_dates accepts
        assert "timestamp or a date" in help_ and "2026-11-01 (midnight UTC)" in help_, help_
