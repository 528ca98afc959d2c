"""The `lrs` command on user errors: a one-line `lrs: ...` message and a non-zero exit, never a traceback,
and nothing half done (found by a black-box pass over the CLI, 2026-11-27)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrs.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def lrs(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    return subprocess.run([sys.executable, "-m", "lrs", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lrs.sqlite3'}"
    made = lrs("credentials", "create", "--database", url, "--output", str(tmp_path / "first.csv"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return url


def keys(url: str, cwd: Path) -> list[str]:
    listed = lrs("credentials", "list", "--database", url, cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    return [row["key"] for row in csv.DictReader(listed.stdout.splitlines())]


def test_database_urls_that_name_no_database_are_errors(tmp_path: Path) -> None:
    (tmp_path / "garbage").write_bytes(b"this is not an SQLite file" * 100)
    (tmp_path / "adir").mkdir()
    cases = {
        "sqlite://": "sqlite:///", "sqlite:///": "names no SQLite file", "": "names no SQLite file",
        f"sqlite:///{tmp_path}/x.sqlite3?mode=ro": "no ?options", "http://example.com/db": "unsupported database URL",
        f"sqlite:///{tmp_path}/missing.sqlite3": "no SQLite database", f"sqlite:///{tmp_path}/adir": "no SQLite database",
        f"sqlite:///{tmp_path}/garbage": "the SQLite database",
    }
    for url, words in cases.items():
        for command in (["credentials", "list"], ["credentials", "revoke", "k"], ["profile", "report", "--violations"]):
            assert_user_error(lrs(*command, "--database", url, cwd=tmp_path), words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "garbage"]  # nothing created on the way


def test_an_unreachable_mongodb_is_one_line(tmp_path: Path) -> None:
    url = "mongodb://127.0.0.1:1/lrs?serverSelectionTimeoutMS=200&connectTimeoutMS=200"
    assert_user_error(lrs("credentials", "list", "--database", url, cwd=tmp_path), "MongoDB")


def test_credentials_whose_secrets_cannot_be_written_are_not_created(tmp_path: Path, database: str) -> None:
    before = keys(database, tmp_path)
    for output in (tmp_path / "missing" / "players.csv", tmp_path):
        assert_user_error(lrs("credentials", "create", "--count", "3", "--database", database,
                              "--output", str(output), cwd=tmp_path))
    assert keys(database, tmp_path) == before


@pytest.mark.parametrize("count", ["0", "-1", "100001", "99999999999999999999"])
def test_a_count_out_of_range_is_refused_before_anything_is_made(tmp_path: Path, database: str, count: str) -> None:
    before = keys(database, tmp_path)
    result = lrs("credentials", "create", "--count", count, "--database", database, cwd=tmp_path)
    assert result.returncode == 2 and "--count" in result.stderr and "Traceback" not in result.stderr
    assert keys(database, tmp_path) == before


@pytest.mark.parametrize("args, words", [
    (["--port", "99999"], "0 to 65535"),
    (["--workers", "0"], "1 or more"),
    (["--log-level", "bogus"], "invalid choice"),
])
def test_serve_refuses_bad_options(tmp_path: Path, args: list[str], words: str) -> None:
    assert_user_error(lrs("serve", *args, cwd=tmp_path, timeout=30), words)


@pytest.mark.parametrize("name, value", [
    ("LRS_MAX_LIMIT", "abc"), ("LRS_MAX_LIMIT", "0"), ("LRS_MAX_BODY_BYTES", "-5"),
    ("LRS_SQLITE_SYNCHRONOUS", "bogus"), ("LRS_SQLITE_WRITER", "fork"), ("LRS_PROFILE_ENFORCEMENT", "loud"),
    ("LRS_DATABASE_URL", "bogus://x"),
])
def test_serve_refuses_bad_settings_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    result = lrs("serve", "--port", "0", cwd=tmp_path, env={name: value}, timeout=30)
    assert_user_error(result, name if name != "LRS_DATABASE_URL" else "unsupported database URL")
    assert not (tmp_path / "lrs.sqlite3").exists()


@pytest.mark.parametrize("given, missing", [("LRS_ADMIN_KEY", "LRS_ADMIN_SECRET"), ("LRS_ADMIN_SECRET", "LRS_ADMIN_KEY")])
def test_serve_refuses_half_an_admin_credential(tmp_path: Path, given: str, missing: str) -> None:
    # Before: the server started with no admin credential and said nothing; every request then got 401.
    result = lrs("serve", "--port", "0", cwd=tmp_path, env={given: "lab-admin", missing: ""}, timeout=30)
    assert_user_error(result, f"{given} is set but {missing} is not")
    assert not (tmp_path / "lrs.sqlite3").exists()
    with pytest.raises(ValueError, match=f"{given} is set but {missing} is not"):  # uvicorn's factory path too
        Settings.from_env({given: "lab-admin"})


def test_export_checks_its_filters_and_source_before_writing(tmp_path: Path, database: str) -> None:
    out = tmp_path / "out"
    for args, words in [
        (["--activity", "bad iri"], "--activity"), (["--verb", "not an iri"], "verb"),
        (["--since", "9999-12-31T23:59:59-14:00"], "since"), (["--registration", "x"], "registration"),
        (["--endpoint", ""], "--endpoint"), (["--endpoint", "ftp://x/xapi", "--key", "k", "--secret", "s"], "--endpoint"),
    ]:
        assert_user_error(lrs("export", "--output", str(out), "--no-pseudonymize", "--database", database, *args,
                              cwd=tmp_path), words)
        assert not out.exists()
    assert_user_error(lrs("export", "--output", str(out), "--no-pseudonymize",
                          "--database", f"sqlite:///{tmp_path / 'none.sqlite3'}", cwd=tmp_path), "no SQLite database")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_user_error(lrs("export", "--output", "", "--no-pseudonymize", "--database", database, cwd=tmp_path),
                      "--output")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written into the working directory
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_huge_report_limit_is_one_line(tmp_path: Path, database: str) -> None:
    result = lrs("profile", "report", "--violations", "--limit", "99999999999999999999999", "--database", database,
                 cwd=tmp_path)
    assert result.returncode in (0, 2) and "Traceback" not in result.stderr, result.stderr


def test_reading_commands_write_nothing_for_a_missing_database(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    listed = lrs("credentials", "list", "--database", missing, cwd=tmp_path)
    assert_user_error(listed, "no SQLite database")
    assert listed.stdout == ""  # not a CSV header above the error
    exported = lrs("export", "--output", str(tmp_path / "out"), "--database", missing, cwd=tmp_path)
    assert_user_error(exported, "no SQLite database")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no pseudonym key made for nothing


def test_credential_csvs_have_plain_line_ends(tmp_path: Path, database: str) -> None:
    """A shell reading the file line by line gets the secret without a trailing carriage return."""
    made = (tmp_path / "first.csv").read_bytes()
    listed = lrs("credentials", "list", "--database", database, cwd=tmp_path)
    for text in (made, listed.stdout.encode()):
        assert b"\r" not in text
        assert text.count(b"\n") == 2  # the header and one credential


def test_export_refuses_options_that_name_two_sources_or_go_with_none(tmp_path: Path, database: str) -> None:
    out = str(tmp_path / "out")
    endpoint = ["--endpoint", "http://127.0.0.1:1/xapi", "--key", "k", "--secret", "s"]
    assert_user_error(lrs("export", "--output", out, "--database", database, *endpoint, cwd=tmp_path), "two sources")
    for extra in (["--key", "k"], ["--secret", "s"], ["--key", "k", "--secret", "s"]):
        assert_user_error(lrs("export", "--output", out, "--database", database, *extra, cwd=tmp_path), "--endpoint")
    assert not (tmp_path / "out").exists() and not (tmp_path / "lrs-pseudonym.key").exists()


# -- found by a review of the CLI (twelfth session) ------------------------------------

def test_serve_on_a_database_it_cannot_open_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "garbage").write_bytes(b"this is not an SQLite file" * 100)
    cases = {
        f"sqlite:///{tmp_path}/nodir/x.sqlite3": "the SQLite database",
        f"sqlite:///{tmp_path}/garbage": "the SQLite database",
        "mongodb://127.0.0.1:1/lrs?serverSelectionTimeoutMS=200&connectTimeoutMS=200": "MongoDB",
    }
    for url, words in cases.items():  # before: a traceback from the server's start-up, status 3
        assert_user_error(lrs("serve", "--port", "0", "--database", url, cwd=tmp_path, timeout=30), words)


def test_a_csv_of_credentials_that_could_not_be_stored_is_deleted(tmp_path: Path) -> None:
    (tmp_path / "garbage").write_bytes(b"this is not an SQLite file" * 100)
    output = tmp_path / "players.csv"
    result = lrs("credentials", "create", "--count", "2", "--output", str(output),
                 "--database", f"sqlite:///{tmp_path}/garbage", cwd=tmp_path)
    assert_user_error(result, "the SQLite database")
    assert not output.exists()  # before: two key,secret rows that no server would accept


def test_the_csv_of_secrets_is_readable_by_its_owner_only(tmp_path: Path, database: str) -> None:
    output = tmp_path / "players.csv"
    output.write_text("old\n")
    output.chmod(0o644)
    assert lrs("credentials", "create", "--count", "2", "--output", str(output), "--database", database,
               cwd=tmp_path).returncode == 0
    assert output.stat().st_mode & 0o777 == 0o600
    assert output.read_text().startswith("key,secret\n")
    assert (tmp_path / "first.csv").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("command, words", [("credentials", "revoke"), ("profile", "report")])
def test_a_command_without_its_action_prints_that_command_s_help(tmp_path: Path, command: str, words: str) -> None:
    result = lrs(command, cwd=tmp_path)
    assert result.returncode == 2 and words in result.stderr and "serve" not in result.stderr, result.stderr


def test_the_pseudonym_key_file_is_never_readable_by_others(tmp_path: Path, monkeypatch) -> None:
    # It was written with the umask's mode (0644), then chmod-ed: another user of the machine could read
    # the key (and re-identify every pseudonym of every export made with it) in between.
    from lrs.cli import export

    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)  # what another user sees before any chmod
    path = tmp_path / "lrs-pseudonym.key"
    key, _ = export.pseudonym_key(str(path), env={})
    assert path.stat().st_mode & 0o777 == 0o600
    assert export.pseudonym_key(str(path), env={})[0] == key  # (read back, not made anew)
