"""An export that fails or is interrupted leaves the earlier export in its folder whole (real CLI processes).

Found by a review: a second export that ran out of space (`ulimit -f`) or was stopped with Ctrl-C had
already deleted the earlier export, left a truncated statements.csv, and the folder was then refused
("holds statements.csv, which no export wrote"). The statements come from a small LRS stand-in over
HTTP that can hold its second page back, so that a signal reaches the export while it reads.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.export.helpers import LRS, Job, cli_env, run_exports, start_export

STATEMENTS = 3_000


def _statement(n: int) -> dict[str, Any]:
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "actor": {"mbox": f"mailto:p{n % 7}@example.org"},
            "verb": {"id": "http://example.org/verbs/did", "display": {"en-US": "did"}},
            "object": {"id": f"http://example.org/thing/{n}", "definition": {"name": {"en-US": f"thing {n}"}}},
            "timestamp": "2026-01-05T09:00:00.000Z", "stored": f"2026-01-05T09:00:00.{n:06d}Z"}


class StandIn:
    """GET /xapi/statements: every statement on page 1, then an empty page 2 (held back while ``hold``)."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.release = threading.Event()
        self.second_page = threading.Event()
        page1 = {"statements": [_statement(n) for n in range(STATEMENTS)], "more": "/xapi/statements?page=2"}
        self.bodies = {1: json.dumps(page1).encode(), 2: json.dumps({"statements": [], "more": ""}).encode()}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                page = 2 if "page=2" in self.path else 1
                if page == 2:
                    stand_in.second_page.set()
                    if stand_in.hold.is_set():
                        stand_in.release.wait(30)
                body = stand_in.bodies[page]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/xapi"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def args(self) -> list[str]:
        return ["--format", "csv", "--endpoint", self.endpoint, "--key", "k", "--secret", "s", "--no-pseudonymize"]


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    lrs = StandIn()
    yield lrs
    lrs.release.set()
    lrs.server.shutdown()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else b"<folder>" for p in folder.iterdir()}


def _earlier(stand_in: StandIn, folder: Path) -> dict[str, bytes]:
    run_exports({"earlier": Job(folder, stand_in.args())}, folder.parent)
    files = _files(folder)
    assert set(files) == {"README.txt", "codebook.csv", "statements.csv"}
    return files


def test_an_export_that_runs_out_of_space_leaves_the_earlier_one_whole(stand_in: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    before = _earlier(stand_in, folder)
    limit_kb = len(before["statements.csv"]) // 1024 // 2  # room for the scratch parts, not for the table
    command = " ".join([str(LRS), "export", "--output", str(folder), *stand_in.args()])
    failed = subprocess.run(["bash", "-c", f"ulimit -f {limit_kb}; exec {command}"], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith("lrs: ") and failed.stderr.count("\n") == 1, failed.stderr
    assert "File too large" in failed.stderr and "Traceback" not in failed.stderr
    assert _files(folder) == before  # no scratch folder left either
    run_exports({"again": Job(folder, stand_in.args())}, tmp_path)  # and the folder is still an export's


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_export_leaves_the_earlier_one_whole(stand_in: StandIn, tmp_path: Path, sig: int) -> None:
    folder = tmp_path / "export"
    before = _earlier(stand_in, folder)
    stand_in.hold.set()
    stand_in.second_page.clear()
    process = start_export(Job(folder, stand_in.args()), tmp_path)
    assert stand_in.second_page.wait(60), "the export never asked for the second page"
    assert set(_files(folder)) - set(before)  # its scratch files are there
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (130, 128 + sig), (process.returncode, err)
    assert "Traceback" not in err, err
    assert _files(folder) == before


def test_the_scratch_folder_of_a_killed_export_is_removed_by_the_next_one(stand_in: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    before = _earlier(stand_in, folder)
    stand_in.hold.set()
    stand_in.second_page.clear()
    process = start_export(Job(folder, stand_in.args()), tmp_path)
    assert stand_in.second_page.wait(60)
    process.kill()  # no clean-up possible
    process.communicate(timeout=60)
    left = set(_files(folder)) - set(before)
    assert left and all(name.startswith(".") for name in left)  # hidden: never taken for an export's files
    assert {k: v for k, v in _files(folder).items() if k not in left} == before
    stand_in.hold.clear()
    stand_in.release.set()
    time.sleep(0.1)
    run_exports({"next": Job(folder, stand_in.args())}, tmp_path)  # not refused
    assert set(_files(folder)) == set(before)
