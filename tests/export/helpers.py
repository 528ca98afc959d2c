"""Shared helpers of the exporter tests: the simulator's statements, expected values computed
independently of lrs.export, the CLI as a real process, and pandas readers typed by the codebook."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
LRS = ROOT / ".venv" / "bin" / "lrs"
SG = "https://w3id.org/xapi/seriousgames"
EXT = SG + "/extensions/"
V = {
    "initialized": "http://adlnet.gov/expapi/verbs/initialized",
    "progressed": "http://adlnet.gov/expapi/verbs/progressed",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "accessed": SG + "/verbs/accessed",
    "skipped": "http://id.tincanapi.com/verb/skipped",
    "selected": "http://id.tincanapi.com/verb/selected",
    "unlocked": SG + "/verbs/unlocked",
    "pressed": SG + "/verbs/pressed",
    "voided": "http://adlnet.gov/expapi/verbs/voided",
}
# The columns the issue names, in its order, and the extension columns of the simulator's data.
REQUIRED = [
    "id", "timestamp", "stored", "actor_id", "actor_name", "verb_id", "verb", "object_id", "object_type",
    "activity_type", "object_name", "success", "completion", "response", "score_scaled", "score_raw", "score_min",
    "score_max", "duration_s", "registration", "parent_id", "grouping_id", "category_id", "platform", "language",
]
EXTENSION_COLUMNS = {"result_progress": EXT + "progress", "result_health": EXT + "health",
                     "result_position": EXT + "position"}
TABLE_NAMES = ("statements", "completables", "progress", "choices", "accesses")


# ---------------------------------------------------------------- the simulator

@functools.lru_cache(maxsize=1)
def simulator() -> Any:
    spec = importlib.util.spec_from_file_location("simulate_game", ROOT / "scripts" / "simulate_game.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("simulate_game", module)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=32)
def _player(seed: int, player: int) -> tuple[dict[str, Any], ...]:
    return tuple(simulator().player_statements(seed, player))


def player_statements(seed: int, player: int) -> list[dict[str, Any]]:
    """A fresh copy of the simulator's statements of one player."""
    return copy.deepcopy(list(_player(seed, player)))


def account(player: int) -> dict[str, str]:
    return {"homePage": "https://game.example.org", "name": f"player-{player}"}


# ---------------------------------------------------------------- expected values, written independently

_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def seconds(duration: str) -> float:
    """An ISO 8601 time duration (PT#H#M#S, as the simulator writes them) in seconds."""
    m = _DURATION.match(duration)
    assert m, duration
    hours, minutes, secs = m.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))


def verb_count(statements: list[dict[str, Any]], *names: str) -> int:
    ids = {V[n] for n in names}
    return sum(1 for s in statements if s["verb"]["id"] in ids)


def expected_attempts(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attempts walked by hand: per actor x registration x activity, in timestamp order."""
    events: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for s in statements:
        if s["verb"]["id"] in (V["initialized"], V["completed"], V["progressed"]):
            key = (json.dumps(s["actor"].get("account")), s["context"]["registration"], s["object"]["id"])
            events[key].append(s)
    out = []
    for key, items in events.items():
        items.sort(key=lambda s: s["timestamp"])
        current, number = None, 0
        for s in items:
            verb = s["verb"]["id"]
            if verb == V["initialized"] or current is None:
                number += 1
                current = {"key": key, "attempt": number, "initialized": s if verb == V["initialized"] else None,
                           "completed": None, "progress": []}
                out.append(current)
                if verb == V["initialized"]:
                    continue
            if verb == V["progressed"]:
                current["progress"].append(s["result"]["extensions"][EXT + "progress"])
            elif verb == V["completed"]:
                current["completed"] = s
                current = None
    return out


def context_ids(s: dict[str, Any]) -> list[str]:
    activities = (s.get("context") or {}).get("contextActivities") or {}
    return [a["id"] for kind in ("parent", "grouping") for a in activities.get(kind) or []]


def family_ids(statements: list[dict[str, Any]], activity: str) -> set[str]:
    """Ids of the statements about ``activity`` or an activity below it (context parent/grouping links)."""
    children: dict[str, set[str]] = defaultdict(set)
    for s in statements:
        if s["object"].get("objectType", "Activity") == "Activity":
            for up in context_ids(s):
                children[up].add(s["object"]["id"])
    family, todo = {activity}, [activity]
    while todo:
        for child in children[todo.pop()]:
            if child not in family:
                family.add(child)
                todo.append(child)
    # In the subtree: the activity itself, anything whose context parent/grouping is in it, and an
    # activity of the subtree sent without context links. An activity shared by several levels (a
    # keyboard key) counts only where its own statement sits under the activity.
    return {s["id"] for s in statements
            if s["object"].get("id") == activity or any(i in family for i in context_ids(s))
            or (s["object"].get("id") in family and not context_ids(s))}


# ---------------------------------------------------------------- the CLI and the server as real processes

def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}
    env.update(extra)
    return env


@dataclass
class Job:
    """One `lrs export` run (or scripts/export_tidy.py with ``script=True``)."""

    output: Path
    args: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    script: bool = False


def start_export(job: Job, cwd: Path) -> subprocess.Popen:
    command = ([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts" / "export_tidy.py")] if job.script
               else [str(LRS), "export"])
    return subprocess.Popen([*command, "--output", str(job.output), *job.args], cwd=job.cwd or cwd,
                            env=cli_env(**job.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    """The export as started from a terminal, where Ctrl-C interrupts it. A test run started in the
    background by a shell (``pytest &``, ``nohup``) has SIGINT ignored, and a child inherits that: the
    export would never see the Ctrl-C the interrupted-export tests send it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_exports(jobs: dict[str, Job], cwd: Path, parallel: int = 2) -> dict[str, str]:
    """Run the exports as real processes, ``parallel`` at a time; each must exit 0. Their stderr by name."""
    stderr: dict[str, str] = {}
    pending = list(jobs.items())
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < parallel:
            name, job = pending.pop(0)
            running.append((name, start_export(job, cwd)))
        name, process = running.pop(0)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"export {name!r} exited {process.returncode}: {err}"
        stderr[name] = err
    return stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, admin: tuple[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = cli_env(LRS_ADMIN_KEY=admin[0], LRS_ADMIN_SECRET=admin[1])
    server = subprocess.Popen([str(LRS), "serve", "--port", str(port), "--database", database_url, "--log-level",
                               "warning"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/xapi"
    for _ in range(200):
        if server.poll() is not None:
            raise AssertionError(f"lrs serve exited {server.returncode}: {server.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{base}/about", timeout=2) as response:
                if response.status == 200:
                    return server, base
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    server.terminate()
    raise AssertionError("lrs serve did not answer /about")


# ---------------------------------------------------------------- reading the tables back

def codebook(directory: Path) -> pd.DataFrame:
    return pd.read_csv(directory / "codebook.csv", dtype=str, keep_default_na=False)


def read_table(directory: Path, name: str) -> pd.DataFrame:
    """``<name>.parquet`` as written, or ``<name>.csv`` parsed back with the types of codebook.csv."""
    parquet = directory / f"{name}.parquet"
    if parquet.exists():
        return pd.read_parquet(parquet)
    book = codebook(directory)
    types = dict(book.loc[book["table"] == name, ["column", "dtype"]].itertuples(index=False))
    return typed_csv(pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False), types)


def typed_csv(raw: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    out = {}
    for column in raw.columns:
        text = raw[column].where(raw[column] != "", None)
        dtype = types[column]
        if dtype == "datetime64[UTC]":
            out[column] = pd.to_datetime(text, utc=True, format="ISO8601").dt.as_unit("us")
        elif dtype == "float64":
            out[column] = pd.to_numeric(text).astype("float64")
        elif dtype == "Int64":
            out[column] = pd.to_numeric(text).astype("Int64")
        elif dtype == "boolean":
            assert set(text.dropna()) <= {"True", "False"}, (column, set(text.dropna()))
            out[column] = text.map({"True": True, "False": False}).astype("boolean")
        else:
            out[column] = text.astype("string")
    return pd.DataFrame(out)


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetimes in microseconds (Parquet and CSV may differ in unit only)."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.as_unit("us")
    return frame


def mentions_count(text: str, name: str, count: int) -> bool:
    """A line of ``text`` names ``name`` and then ``count`` (plain or with thousands separators)."""
    numbers = {str(count), f"{count:,}"}
    for line in text.splitlines():
        if re.search(rf"\b{re.escape(name)}\b", line):
            after = line[re.search(rf"\b{re.escape(name)}\b", line).end():]
            if numbers & set(re.findall(r"\d[\d,]*", after)):
                return True
    return False
