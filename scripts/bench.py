#!/usr/bin/env python3
"""Benchmark the LRS against the performance targets of the issue.

Run it with the project's interpreter, from the repository root:

    .venv/bin/python scripts/bench.py                    # everything, 1,000,000 stored statements
    .venv/bin/python scripts/bench.py --duration 5 --seed-count 50000     # a quick look
    .venv/bin/python scripts/bench.py --reuse /var/tmp/lrs-bench-1m.sqlite3
        # first run: seeds that file and keeps it; later runs: skip seeding and query it

It starts ``python -m lrs serve`` on 127.0.0.1 with a fresh SQLite database (WAL,
the server's default durability) and the server's default number of workers,
and drives it from this process with a minimal asyncio (uvloop) HTTP/1.1
keep-alive client, so the load generator costs far less than the server: it has
one core, the server the other.  Phases:

  single   16 connections, one statement per POST, --duration seconds
  batch     4 connections, 100-statement POSTs, --duration seconds
  seed     POSTs of 500 statements over --seed-connections connections until
           --seed-count statements are stored (counting those of the phases before)
  query    on one connection, one request at a time (latency, not throughput):
           --queries GETs ?<filter>=...&limit=100 for each of agent, verb,
           activity, registration; then 5 walks from page 1 to page 100 of a
           frequent verb, following `more`

Each timed phase starts with --warmup seconds that are not counted.  Server CPU
time (utime+stime of the server and its child processes, from /proc) is read at
both ends of each counted window; its RSS (VmRSS, children included) is sampled
every 0.2 s.  Any non-2xx answer makes the script exit with status 2.
Only the standard library, orjson and (if installed) uvloop are used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

try:  # the load generator is faster with uvloop, but works without it
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

HOST = "127.0.0.1"
ADMIN_KEY = "bench"
ADMIN_SECRET = "bench-secret"
XAPI_VERSION = "1.0.3"
MODEL_SEED = 20240501  # the traffic model is deterministic, so a reused database has the same hot values
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = 1 << 12

TARGET_SINGLE = 2_500  # statements/s
TARGET_BATCH = 15_000  # statements/s
TARGET_GET_P95_MS = 20.0
TARGET_RSS_MB = 300.0
TARGET_SEED = 1_000_000
BASELINE_SINGLE = 3_400  # the bare Starlette endpoint on the machine the targets were set for
BASELINE_BATCH = 21_000
# page 100 "costs no more than page 1" if it is within 20 % or 0.5 ms of it: at ~1 ms a page, the
# medians move by a few tenths of a millisecond from run to run; OFFSET-style paging costs far more
PAGING_TOLERANCE = 1.20
PAGING_SLACK_MS = 0.5
PREGEN_BYTES = 192 * 1024 * 1024  # pre-built request bytes per phase at most; beyond, built on the fly


# -- the server under test -------------------------------------------------------------

class Server:
    """``python -m lrs serve`` in its own process group; RSS and CPU of its process tree."""

    def __init__(self, port: int, database: Path, workers: int | None, log_path: Path,
                 *, baseline: bool = False) -> None:
        self.port = port
        self.baseline = baseline
        self.database = database
        self.workers = workers
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "lrs", "serve", "--host", HOST, "--port", str(self.port),
               "--database", f"sqlite:///{self.database}"]
        if self.baseline:  # the bare Starlette endpoint, served the way lrs serve serves the LRS
            cmd = [sys.executable, "-m", "uvicorn", "bench_baseline:app", "--app-dir", str(Path(__file__).parent),
                   "--host", HOST, "--port", str(self.port), "--no-access-log", "--log-level", "warning"]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LRS_")}  # the defaults, honestly
        env.update(LRS_ADMIN_KEY=ADMIN_KEY, LRS_ADMIN_SECRET=ADMIN_SECRET)
        # This checkout last: a build named in PYTHONPATH comes first (A/B comparisons).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(Path(__file__).resolve().parent.parent)]))
        self._log = open(self.log_path, "wb")
        # Started in the log's directory, not here: `python -m` puts its working directory first on
        # sys.path, so a checkout it runs in would shadow the `lrs` this interpreter imports (the
        # installed one, or another build's through PYTHONPATH).
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True, cwd=self.log_path.parent)
        self.command = " ".join(cmd)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.port}/xapi/about"
        request = urllib.request.Request(url, headers={"X-Experience-API-Version": XAPI_VERSION})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited with status {self.proc.returncode} before answering;"
                                 f" its log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise BenchError(f"GET /xapi/about did not answer within {timeout:.0f} s; the server log:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown, which closes the database), then harder."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    if sig == signal.SIGINT:
                        proc.send_signal(sig)
                    else:
                        os.killpg(proc.pid, sig)  # our child's own process group (start_new_session)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # workers left behind by the supervisor, if any
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._log is not None:
            self._log.close()
            self._log = None

    # /proc ------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """The server and its descendants (uvicorn workers, if more than one)."""
        if self.proc is None:
            return []
        out, todo = [], [self.proc.pid]
        while todo and len(out) < 256:
            pid = todo.pop()
            out.append(pid)
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        return out

    def rss_bytes(self, pids: list[int] | None = None) -> tuple[int, int]:
        """(sum of VmRSS, sum of VmHWM) over the process tree."""
        rss = hwm = 0
        for pid in pids if pids is not None else self.pids():
            try:
                with open(f"/proc/{pid}/status", "rb") as f:
                    for line in f:
                        if line.startswith(b"VmRSS:"):
                            rss += int(line.split()[1]) * 1024
                        elif line.startswith(b"VmHWM:"):
                            hwm += int(line.split()[1]) * 1024
            except (FileNotFoundError, ProcessLookupError):
                pass
        return rss, hwm

    def cpu_seconds(self) -> float:
        """utime+stime of the tree, plus that of children it has reaped (cutime+cstime)."""
        ticks = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
        return ticks / CLK_TCK

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines()
                if "Traceback" in line or "ERROR" in line or "Exception" in line or "CRITICAL" in line]


class RSSSampler(threading.Thread):
    """Samples the server's RSS every `interval` seconds; keeps the overall and the current phase's peak."""

    def __init__(self, server: Server, interval: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.server, self.interval = server, interval
        self.peak = self.phase_peak = self.last = 0
        self.samples = 0
        self._stop = threading.Event()
        self._pids: list[int] = []
        self._pids_at = 0.0

    def run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        now = time.monotonic()
        if now - self._pids_at > 2.0:  # the process tree rarely changes
            self._pids, self._pids_at = self.server.pids(), now
        rss, _ = self.server.rss_bytes(self._pids)
        self.last = rss
        self.samples += 1
        self.peak = max(self.peak, rss)
        self.phase_peak = max(self.phase_peak, rss)
        return rss

    def new_phase(self) -> None:
        self.phase_peak = self.sample()

    def stop(self) -> None:
        self._stop.set()


# -- the traffic: xAPI-SG statements from ~1,000 players -------------------------------

GAME = "https://example.org/game"
HOME_PAGE = "https://example.org/game/players"
SG = "https://w3id.org/xapi/seriousgames"
VERBS = [  # (id, display, weight)
    ("http://adlnet.gov/expapi/verbs/progressed", "progressed", 34),
    (f"{SG}/verbs/interacted", "interacted", 20),
    ("https://w3id.org/xapi/adb/verbs/selected", "selected", 15),
    (f"{SG}/verbs/accessed", "accessed", 12),
    ("http://adlnet.gov/expapi/verbs/completed", "completed", 11),
    ("http://adlnet.gov/expapi/verbs/initialized", "initialized", 8),
]
PLAYERS = 1_000
LEVELS = 30
TEMPLATES = 20_000
ID_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


class TrafficModel:
    """Statement templates (everything but the id), drawn once from a seeded generator.

    Each statement is a template with a fresh uuid4 spliced in front, so building one
    costs a uuid and a concatenation.  Players, levels and verbs are skewed (a few
    players play a lot, early levels are played most) as in real game traffic.
    """

    def __init__(self, seed: int = MODEL_SEED, count: int = TEMPLATES) -> None:
        rng = random.Random(seed)
        players = [f"player-{i:04d}" for i in range(1, PLAYERS + 1)]
        player_w = [1 / (i ** 0.8) for i in range(1, PLAYERS + 1)]
        sessions = {p: [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(rng.randint(1, 5))]
                    for p in players}
        levels = list(range(1, LEVELS + 1))
        level_w = [1 / (n ** 0.7) for n in levels]
        verb_w = [w for _, _, w in VERBS]
        base = datetime(2024, 5, 1, tzinfo=timezone.utc)
        parent = [{"objectType": "Activity", "id": GAME, "definition": {
            "type": f"{SG}/activity-types/serious-game", "name": {"en-US": "Example Game"}}}]
        prefix = b'{"id":"' + ID_PLACEHOLDER.encode() + b'"'
        self.tails: list[bytes] = []
        freq: dict[str, dict[str, int]] = {"agent": {}, "verb": {}, "activity": {}, "registration": {}}
        for _ in range(count):
            player = rng.choices(players, player_w)[0]
            registration = rng.choice(sessions[player])
            verb, display, _ = rng.choices(VERBS, verb_w)[0]
            level = rng.choices(levels, level_w)[0]
            activity = {"objectType": "Activity", "id": f"{GAME}/level/{level}", "definition": {
                "type": f"{SG}/activity-types/level", "name": {"en-US": f"Level {level}"}}}
            result: dict[str, Any] | None = None
            if display == "completed":
                raw = rng.randint(0, 100)
                result = {"score": {"scaled": raw / 100, "raw": raw, "min": 0, "max": 100},
                          "success": raw >= 50, "completion": True,
                          "duration": f"PT{rng.randint(20, 900)}.{rng.randint(0, 9)}S"}
            elif display == "progressed":
                result = {"completion": False, "extensions": {f"{SG}/extensions/progress": round(rng.random(), 2)}}
            elif display == "selected":
                result = {"success": rng.random() < 0.7, "response": rng.choice(["a", "b", "c", "d"]),
                          "duration": f"PT{rng.randint(1, 60)}.{rng.randint(0, 9)}S"}
            elif display == "interacted":
                item = rng.randint(1, 12)
                activity = {"objectType": "Activity", "id": f"{GAME}/level/{level}/item/{item}", "definition": {
                    "type": f"{SG}/activity-types/item", "name": {"en-US": f"Item {item} of level {level}"}}}
            when = base + timedelta(seconds=rng.randint(0, 86400 * 60), milliseconds=rng.randint(0, 999))
            statement: dict[str, Any] = {
                "id": ID_PLACEHOLDER,
                "actor": {"objectType": "Agent", "name": player.replace("player-", "Player "),
                          "account": {"homePage": HOME_PAGE, "name": player}},
                "verb": {"id": verb, "display": {"en-US": display}},
                "object": activity,
            }
            if result is not None:
                statement["result"] = result
            statement["context"] = {"registration": registration, "contextActivities": {"parent": parent},
                                    "platform": "Web", "language": "en-US"}
            statement["timestamp"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            dumped = orjson.dumps(statement)
            assert dumped.startswith(prefix)
            self.tails.append(dumped[len(prefix):])
            for kind, value in (("agent", player), ("verb", verb), ("activity", activity["id"]),
                                ("registration", registration)):
                freq[kind][value] = freq[kind].get(value, 0) + 1
        self.count = count
        self.freq = freq
        self._rand = random.Random(seed + 1).randrange  # which template; the ids are uuid4 (os.urandom)

    def statement(self) -> bytes:
        return b'{"id":"' + str(uuid.uuid4()).encode() + b'"' + self.tails[self._rand(self.count)]

    def body(self, n: int) -> bytes:
        if n == 1:
            return self.statement()
        return b"[" + b",".join([self.statement() for _ in range(n)]) + b"]"

    def top(self, kind: str, n: int) -> list[tuple[str, float]]:
        """The n most frequent values of a filter kind, with their expected share of statements."""
        ranked = sorted(self.freq[kind].items(), key=lambda kv: -kv[1])[:n]
        return [(value, c / self.count) for value, c in ranked]


# -- a minimal HTTP/1.1 keep-alive client ----------------------------------------------

class BenchError(Exception):
    pass


class HTTPConnection(asyncio.Protocol):
    """One keep-alive connection, one request at a time: write pre-built bytes, read one response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False
        self.close_after = False
        self._reset()

    def _reset(self) -> None:
        self.status = -1  # -1: reading the head
        self.length = -1  # Content-Length; -1 chunked; -2 until the connection closes

    @classmethod
    async def open(cls, port: int) -> "HTTPConnection":
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(cls, HOST, port)
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            if self.status >= 0 and self.length == -2:
                waiter.set_result((self.status, bytes(self.buf)))
            else:
                waiter.set_exception(ConnectionError(f"the server closed the connection ({exc or 'EOF'})"))

    def request(self, data: bytes) -> asyncio.Future:
        if self.closed:
            raise ConnectionError("the connection is closed")
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return waiter

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None:
            return
        try:
            self._parse()
        except Exception as exc:  # a malformed response: fail that request
            waiter, self.waiter = self.waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_exception(BenchError(f"cannot parse the response: {exc!r}"))
            self.transport.close()

    def _parse(self) -> None:
        buf = self.buf
        while True:
            if self.status < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end])
                del buf[:end + 4]
                lines = head.split(b"\r\n")
                self.status = int(lines[0].split(None, 2)[1])
                length, chunked = None, False
                self.close_after = False
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"transfer-encoding":
                        chunked = b"chunked" in value.lower()
                    elif name == b"connection":
                        self.close_after = b"close" in value.lower()
                if 100 <= self.status < 200:  # interim response, no body
                    self._reset()
                    continue
                if chunked:
                    self.length = -1
                elif length is not None:
                    self.length = length
                elif self.status in (204, 304):
                    self.length = 0
                else:
                    self.length = -2
            if self.length >= 0:
                if len(buf) < self.length:
                    return
                body = bytes(buf[:self.length])
                del buf[:self.length]
            elif self.length == -1:
                body = self._chunked()
                if body is None:
                    return
            else:
                return  # read until the connection closes
            status = self.status
            self._reset()
            waiter, self.waiter = self.waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result((status, body))
            return

    def _chunked(self) -> bytes | None:
        buf, pos, parts = self.buf, 0, []
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";")[0].strip(), 16)
            if size == 0:
                if buf[eol + 2:eol + 4] == b"\r\n":
                    end = eol + 4
                else:  # trailers
                    t = buf.find(b"\r\n\r\n", eol + 2)
                    if t < 0:
                        return None
                    end = t + 4
                del buf[:end]
                return b"".join(parts)
            start = eol + 2
            if len(buf) < start + size + 2:
                return None
            parts.append(bytes(buf[start:start + size]))
            pos = start + size + 2

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


def auth_header() -> bytes:
    return b"Basic " + base64.b64encode(f"{ADMIN_KEY}:{ADMIN_SECRET}".encode())


def post_request(port: int, body: bytes) -> bytes:
    return (b"POST /xapi/statements HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: %s\r\n"
            b"X-Experience-API-Version: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (HOST.encode(), port, auth_header(), XAPI_VERSION.encode(), len(body))) + body


def get_request(port: int, target: str) -> bytes:
    return (b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: %s\r\nX-Experience-API-Version: %s\r\n"
            b"Accept: application/json\r\n\r\n"
            % (target.encode(), HOST.encode(), port, auth_header(), XAPI_VERSION.encode()))


# -- measurements ----------------------------------------------------------------------

def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


def median(values: list[float]) -> float:
    return pct(sorted(values), 0.5)


def client_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Snapshot:
    t: float
    server_cpu: float
    client_cpu: float
    rss: int

    @classmethod
    def take(cls, server: Server) -> "Snapshot":
        return cls(time.perf_counter(), server.cpu_seconds(), client_cpu(), server.rss_bytes()[0])


@dataclass
class PhaseResult:
    name: str
    connections: int
    per_request: int
    requests: int = 0
    statements: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    rss_before: int = 0
    rss_after: int = 0
    rss_peak: int = 0
    stored: int = 0  # statements stored in the whole phase, warm-up included
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    built_on_the_fly: int = 0
    repeats: list[float] = field(default_factory=list)  # with --repeat: st/s of every run of the phase

    @property
    def rate(self) -> float:
        return self.statements / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.server_cpu / self.statements * 1e6 if self.statements else float("nan")

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "connections": self.connections, "statements_per_request": self.per_request,
            "seconds": round(self.seconds, 3), "requests": self.requests, "statements": self.statements,
            "statements_per_s": round(self.rate, 1), "requests_per_s": round(self.requests / self.seconds, 1)
            if self.seconds else 0.0,
            "latency_ms": {"p50": round(pct(lat, .5) * 1e3, 2), "p95": round(pct(lat, .95) * 1e3, 2),
                           "p99": round(pct(lat, .99) * 1e3, 2), "max": round(lat[-1] * 1e3, 2) if lat else None},
            "server_cpu_s": round(self.server_cpu, 3),
            "server_cpu_ms_per_1000_statements": round(self.cpu_ms_per_1000, 1),
            "server_cpu_utilisation": round(self.server_cpu / self.seconds, 3) if self.seconds else None,
            "client_cpu_utilisation": round(self.client_cpu / self.seconds, 3) if self.seconds else None,
            "rss_mb": {"before": mb(self.rss_before), "after": mb(self.rss_after), "peak": mb(self.rss_peak)},
            "stored_in_phase": self.stored, "errors": self.errors, "error_samples": self.error_samples,
            "repeats_statements_per_s": self.repeats or [round(self.rate, 1)],
        }


def mb(n: int) -> float:
    return round(n / 1e6, 1)


class Bench:
    def __init__(self, args: argparse.Namespace, server: Server, sampler: RSSSampler, model: TrafficModel) -> None:
        self.args, self.server, self.sampler, self.model = args, server, sampler, model
        self.port = server.port
        self.errors: list[str] = []

    def _error(self, phase: PhaseResult, what: str) -> None:
        phase.errors += 1
        if len(phase.error_samples) < 5:
            phase.error_samples.append(what)

    # POST phases ------------------------------------------------------------------

    async def post_phase(self, name: str, connections: int, per_request: int) -> PhaseResult:
        args = self.args
        duration, warmup = args.duration, args.warmup
        phase = PhaseResult(name, connections, per_request)
        # pre-build the requests (a fresh uuid per statement); build more on the fly if they run out
        expected = int((duration + warmup) * (6_000 if per_request == 1 else 40_000) / per_request) + connections
        sample = post_request(self.port, self.model.body(per_request))
        expected = max(connections * 4, min(expected, PREGEN_BYTES // len(sample)))
        ready = [post_request(self.port, self.model.body(per_request)) for _ in range(expected)]
        ready.reverse()

        def next_request() -> bytes:
            if ready:
                return ready.pop()
            phase.built_on_the_fly += 1
            return post_request(self.port, self.model.body(per_request))

        conns = [await HTTPConnection.open(self.port) for _ in range(connections)]
        self.sampler.new_phase()
        phase.rss_before = self.sampler.last
        start = time.perf_counter()
        t_from, t_to = start + warmup, start + warmup + duration
        latencies = phase.latencies
        counted = [0, 0]  # requests, statements in the window

        async def client(i: int) -> None:
            conn = conns[i]
            reconnects = 0
            perf = time.perf_counter
            while perf() < t_to and phase.errors < 100:  # stop hammering a failing server
                data = next_request()
                t0 = perf()
                try:
                    status, body = await conn.request(data)
                except (ConnectionError, BenchError) as exc:
                    self._error(phase, f"{type(exc).__name__}: {exc}")
                    reconnects += 1
                    if reconnects > 10 or not self.server.alive():
                        return
                    conn = conns[i] = await HTTPConnection.open(self.port)
                    continue
                t1 = perf()
                if 200 <= status < 300:
                    phase.stored += per_request
                    if t_from <= t1 <= t_to:
                        counted[0] += 1
                        counted[1] += per_request
                        latencies.append(t1 - t0)
                else:
                    self._error(phase, f"HTTP {status}: {body[:300]!r}")
                if conn.close_after or conn.closed:
                    conn.close()
                    conn = conns[i] = await HTTPConnection.open(self.port)

        async def window() -> tuple[Snapshot, Snapshot]:
            await asyncio.sleep(max(0.0, t_from - time.perf_counter()))
            a = Snapshot.take(self.server)
            await asyncio.sleep(max(0.0, t_to - time.perf_counter()))
            return a, Snapshot.take(self.server)

        tasks = [asyncio.ensure_future(client(i)) for i in range(connections)]
        snaps = asyncio.ensure_future(window())
        done, pending = await asyncio.wait(tasks + [snaps], timeout=warmup + duration + 60)
        for task in pending:
            task.cancel()
            if task is not snaps:
                self._error(phase, "a request took more than 60 s (cancelled)")
        for task in done:
            if task.exception() is not None:
                self._error(phase, f"client task failed: {task.exception()!r}")
        for conn in conns:
            conn.close()
        if snaps in done and snaps.exception() is None:
            a, b = snaps.result()
            # the rates count requests that completed inside [t_from, t_to]; CPU is read at (about) those instants
            phase.seconds = t_to - t_from
            scale = phase.seconds / (b.t - a.t)
            phase.server_cpu = (b.server_cpu - a.server_cpu) * scale
            phase.client_cpu = (b.client_cpu - a.client_cpu) * scale
        phase.requests, phase.statements = counted
        phase.rss_after = self.sampler.sample()
        phase.rss_peak = self.sampler.phase_peak
        return phase

    # seeding --------------------------------------------------------------------------

    async def seed(self, count: int, batch: int, connections: int) -> PhaseResult:
        phase = PhaseResult("seed", connections, batch)
        if count <= 0:
            return phase
        remaining = [count]
        last_progress = [time.perf_counter()]
        self.sampler.new_phase()
        phase.rss_before = self.sampler.last
        a = Snapshot.take(self.server)
        latencies = phase.latencies
        conns = [await HTTPConnection.open(self.port) for _ in range(connections)]

        async def client(i: int) -> None:
            conn = conns[i]
            perf = time.perf_counter
            while remaining[0] > 0 and phase.errors == 0:
                n = min(batch, remaining[0])
                remaining[0] -= n
                data = post_request(self.port, self.model.body(n))
                t0 = perf()
                try:
                    status, body = await conn.request(data)
                except (ConnectionError, BenchError) as exc:
                    self._error(phase, f"{type(exc).__name__}: {exc}")
                    return
                t1 = perf()
                last_progress[0] = t1
                if 200 <= status < 300:
                    phase.stored += n
                    phase.requests += 1
                    latencies.append(t1 - t0)
                else:
                    self._error(phase, f"HTTP {status}: {body[:300]!r}")
                    return
                if conn.close_after or conn.closed:
                    conn.close()
                    conn = conns[i] = await HTTPConnection.open(self.port)

        async def progress() -> None:
            start = time.perf_counter()
            shown = 0
            while True:
                await asyncio.sleep(1.0)
                now = time.perf_counter()
                if now - last_progress[0] > 120:
                    self._error(phase, "no answer for 120 s while seeding (cancelled)")
                    for t in tasks:
                        t.cancel()
                    return
                if now - start >= shown + 10:
                    shown += 10
                    log(f"  seeding: {phase.stored:,}/{count:,} stored, {phase.stored / (now - start):,.0f} st/s,"
                        f" server RSS {mb(self.sampler.last):.0f} MB")

        tasks = [asyncio.ensure_future(client(i)) for i in range(connections)]
        watch = asyncio.ensure_future(progress())
        await asyncio.wait(tasks)
        watch.cancel()
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                self._error(phase, f"client task failed: {task.exception()!r}")
        for conn in conns:
            conn.close()
        b = Snapshot.take(self.server)
        phase.seconds = b.t - a.t
        phase.statements = phase.stored
        phase.server_cpu = b.server_cpu - a.server_cpu
        phase.client_cpu = b.client_cpu - a.client_cpu
        phase.rss_after = self.sampler.sample()
        phase.rss_peak = self.sampler.phase_peak
        return phase

    # queries --------------------------------------------------------------------------

    def filters(self) -> dict[str, list[str]]:
        """Query strings for each filter kind: the 10 most frequent values of each (3 for verbs)."""
        out: dict[str, list[str]] = {}
        for kind, n in (("agent", 10), ("verb", 3), ("activity", 10), ("registration", 10)):
            values = []
            for value, _ in self.model.top(kind, n):
                if kind == "agent":
                    value = orjson.dumps({"objectType": "Agent",
                                          "account": {"homePage": HOME_PAGE, "name": value}}).decode()
                values.append(f"/xapi/statements?{kind}={quote(value, safe='')}&limit=100")
            out[kind] = values
        return out

    async def query_phase(self, per_kind: int, walks: int, pages: int) -> dict[str, Any]:
        self.sampler.new_phase()
        rss_before = self.sampler.last
        a = Snapshot.take(self.server)
        conn = await HTTPConnection.open(self.port)
        errors: list[str] = []
        requests = 0

        async def get(target: str) -> tuple[float, bytes]:
            nonlocal conn, requests
            if conn.closed or conn.close_after:
                conn.close()
                conn = await HTTPConnection.open(self.port)
            data = get_request(self.port, target)
            t0 = time.perf_counter()
            status, body = await asyncio.wait_for(conn.request(data), 60)
            elapsed = time.perf_counter() - t0
            requests += 1
            if status != 200:
                errors.append(f"GET {target[:120]} -> HTTP {status}: {body[:300]!r}")
                raise BenchError(errors[-1])
            return elapsed, body

        kinds: dict[str, Any] = {}
        for kind, targets in self.filters().items():
            rows = []
            for target in targets:  # sanity: what each filter value returns; also a warm-up
                _, body = await get(target)
                rows.append(len(orjson.loads(body)["statements"]))
            for i in range(min(10, per_kind)):
                await get(targets[i % len(targets)])
            lat = []
            for i in range(per_kind):
                elapsed, _ = await get(targets[i % len(targets)])
                lat.append(elapsed)
            lat.sort()
            kinds[kind] = {"requests": per_kind, "values": len(targets), "p50_ms": round(pct(lat, .5) * 1e3, 2),
                           "p95_ms": round(pct(lat, .95) * 1e3, 2), "max_ms": round(lat[-1] * 1e3, 2),
                           "rows_per_page_min": min(rows), "rows_per_page_max": max(rows)}

        # following `more` from page 1 to page `pages`, for the most frequent verb
        first = self.filters()["verb"][0]
        by_page: list[list[float]] = [[] for _ in range(pages)]
        reached = pages
        for _ in range(walks):
            target = first
            for page in range(pages):
                elapsed, body = await get(target)
                by_page[page].append(elapsed)
                more = orjson.loads(body).get("more") or ""
                if page + 1 < pages and not more:
                    reached = min(reached, page + 1)
                    break
                if more.startswith(("http://", "https://")):
                    more = "/" + more.split("/", 3)[3]
                target = more
        conn.close()
        b = Snapshot.take(self.server)
        k = min(10, max(1, reached // 2))
        early = [x for p in by_page[:k] for x in p]
        late = [x for p in by_page[reached - k:reached] for x in p]
        paging = {
            "filter": "verb=" + self.model.top("verb", 1)[0][0], "walks": walks, "pages_requested": pages,
            "pages_reached": reached, "pages_compared": k,
            "page_1_median_ms": round(median(by_page[0]) * 1e3, 2),
            f"page_{reached}_median_ms": round(median(by_page[reached - 1]) * 1e3, 2),
            "first_pages_median_ms": round(median(early) * 1e3, 2),
            "last_pages_median_ms": round(median(late) * 1e3, 2),
        }
        paging["ratio"] = round(median(late) / median(early), 2)
        paging["difference_ms"] = round((median(late) - median(early)) * 1e3, 2) + 0.0  # no "-0.00"
        return {
            "kinds": kinds, "paging": paging, "requests": requests, "seconds": round(b.t - a.t, 3),
            "server_cpu_s": round(b.server_cpu - a.server_cpu, 3), "errors": errors,
            "rss_mb": {"before": mb(rss_before), "after": mb(self.sampler.sample()),
                       "peak": mb(self.sampler.phase_peak)},
        }


# -- the report ----------------------------------------------------------------------

def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def host_reference(model: "TrafficModel", repeats: int = 5) -> float:
    """How fast this host runs Python now, before the server starts: the best of ``repeats``
    timings of a fixed workload (stdlib-parse 2,000 statements and walk every value in Python).

    The same code's figures move with the host (a VM's share of its cores changes from day to
    day); comparing this number says whether two runs had the same kind of host.
    """
    import json

    rng = model._rand.__self__  # leave the traffic the phases send as it would have been
    state = rng.getstate()
    bodies = [model.body(100) for _ in range(20)]
    rng.setstate(state)

    def walk(value: Any) -> int:
        if isinstance(value, dict):
            return sum(walk(v) for v in value.values()) + len(value)
        if isinstance(value, list):
            return sum(walk(v) for v in value)
        return 1

    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for body in bodies:
            walk(json.loads(body))
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def print_report(res: dict[str, Any]) -> None:
    out = []
    w = out.append
    w("")
    w(f"LRS benchmark  {res['started']}  ({res['machine']}; host reference {res['host_reference_ms']:.1f} ms)")
    w(f"server: {res['server']['command']}")
    w(f"        workers: {res['server']['workers']}, journal: {res['server']['journal']},"
      f" synchronous: server default, stored statements at the end: {res['stored_statements']:,}"
      f"{'' if res['stored_known'] else ' (at least)'}")
    w(f"client: 1 process, {res['client']['loop']}, raw-socket HTTP/1.1 keep-alive")
    posts = [p for p in ("single", "batch", "seed") if p in res["phases"]]
    if posts:
        w("")
        w(f"{'phase':<13}{'conns':>6}{'st/req':>7}{'req/s':>9}{'st/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'srv CPU':>9}{'srv CPU':>9}{'client':>8}{'RSS MB':>16}")
        w(f"{'':<13}{'':>6}{'':>7}{'':>9}{'':>9}{'':>9}{'':>9}{'ms/1k st':>9}{'busy':>9}{'CPU':>8}"
          f"{'before/peak':>16}")
        for name in posts:
            p = res["phases"][name]
            lat = p["latency_ms"]
            srv = p["server_cpu_utilisation"]
            cli = p["client_cpu_utilisation"]
            w(f"{name:<13}{p['connections']:>6}{p['statements_per_request']:>7}{fmt_int(p['requests_per_s']):>9}"
              f"{fmt_int(p['statements_per_s']):>9}{lat['p50']:>9.1f}{lat['p95']:>9.1f}"
              f"{p['server_cpu_ms_per_1000_statements']:>9.0f}{(srv or 0) * 100:>8.0f}%{(cli or 0) * 100:>7.0f}%"
              f"{p['rss_mb']['before']:>8.0f}/{p['rss_mb']['peak']:<7.0f}")
        for name in ("single", "batch"):
            runs = res["phases"].get(name, {}).get("repeats_statements_per_s", [])
            if len(runs) > 1:
                w(f"({name}: the median of {len(runs)} runs; all: {', '.join(f'{r:,.0f}' for r in runs)} st/s)")
        if "seed" in res["phases"]:
            s = res["phases"]["seed"]
            w(f"(seed: {s['statements']:,} statements in {s['seconds']:.1f} s; the single and batch rows count only"
              f" the {res['duration']:g} s after a {res['warmup']:g} s warm-up)")
    q = res.get("query")
    if q:
        w("")
        w(f"GET /xapi/statements?<filter>&limit=100, one request at a time, {res['stored_statements']:,} stored")
        w(f"{'filter':<14}{'requests':>9}{'values':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'rows/page':>11}")
        for kind, k in q["kinds"].items():
            rows = (f"{k['rows_per_page_min']}" if k['rows_per_page_min'] == k['rows_per_page_max']
                    else f"{k['rows_per_page_min']}-{k['rows_per_page_max']}")
            w(f"{kind:<14}{k['requests']:>9}{k['values']:>8}{k['p50_ms']:>9.1f}{k['p95_ms']:>9.1f}"
              f"{k['max_ms']:>9.1f}{rows:>11}")
        pg = q["paging"]
        n, k = pg["pages_reached"], pg["pages_compared"]
        w(f"following `more` ({pg['filter']}), {pg['walks']} walks of {n} pages:"
          f" page 1 {pg['page_1_median_ms']:.1f} ms, page {n} {pg[f'page_{n}_median_ms']:.1f} ms (medians);"
          f" pages 1-{k} {pg['first_pages_median_ms']:.1f} ms vs {n - k + 1}-{n} {pg['last_pages_median_ms']:.1f} ms"
          f" -> {pg['ratio']:.2f}×, {pg['difference_ms']:+.2f} ms")
        if n < pg["pages_requested"]:
            w(f"  (only {n} pages exist: seed more statements to reach page {pg['pages_requested']})")
    w("")
    w(f"server RSS: peak {res['rss_mb']['peak']:.0f} MB (sampled every 0.2 s; kernel high-water mark"
      f" {res['rss_mb']['hwm']:.0f} MB), at the end {res['rss_mb']['end']:.0f} MB")
    w("")
    w("targets")
    for h in res["headline"]:
        w(f"  {h['label']:<38}{h['value']:>14}   {h['target']:<32}{h['verdict']}")
    for note in res["notes"]:
        w(f"  note: {note}")
    print("\n".join(line.rstrip() for line in out), flush=True)


def headline(res: dict[str, Any]) -> list[dict[str, str]]:
    rows = []

    def row(label: str, value: str, target: str, ok: bool | None) -> None:
        rows.append({"label": label, "value": value, "target": target,
                     "verdict": "n/a" if ok is None else ("PASS" if ok else "FAIL")})

    ph = res["phases"]
    if res.get("baseline"):  # not the LRS: the host's rating against the reference machine
        for name, label, reference in (("single", "bare endpoint, single POST, 16 clients", BASELINE_SINGLE),
                                       ("batch", "bare endpoint, 100-statement POSTs, 4 clients", BASELINE_BATCH)):
            if name in ph:
                v = ph[name]["statements_per_s"]
                row(label, f"{fmt_int(v)} st/s", f"(issue's machine: ~{reference:,}; this host"
                    f" {v / reference:.2f}×)", None)
                rows[-1]["verdict"] = ""
        return rows
    if "single" in ph:
        v = ph["single"]["statements_per_s"]
        row("single POST, 16 clients", f"{fmt_int(v)} st/s", f"(target ≥ {TARGET_SINGLE:,})", v >= TARGET_SINGLE)
    if "batch" in ph:
        v = ph["batch"]["statements_per_s"]
        row("POST 100-statement batches, 4 clients", f"{fmt_int(v)} st/s", f"(target ≥ {TARGET_BATCH:,})",
            v >= TARGET_BATCH)
    q = res.get("query")
    if q:
        worst = max(q["kinds"].items(), key=lambda kv: kv[1]["p95_ms"])
        row(f"filtered GET p95 (worst: {worst[0]})", f"{worst[1]['p95_ms']:.1f} ms",
            f"(target ≤ {TARGET_GET_P95_MS:g} ms)", worst[1]["p95_ms"] <= TARGET_GET_P95_MS)
        pg = q["paging"]
        ok = ((pg["ratio"] <= PAGING_TOLERANCE or pg["difference_ms"] <= PAGING_SLACK_MS)
              and pg["pages_reached"] == pg["pages_requested"])
        n, k = pg["pages_reached"], pg["pages_compared"]
        row(f"`more` pages {n - k + 1}-{n} vs 1-{k}", f"{pg['ratio']:.2f}× {pg['difference_ms']:+.1f} ms",
            f"(≤ 1×; noise: 20 % or {PAGING_SLACK_MS:g} ms)", ok)
    peak = max(res["rss_mb"]["peak"], res["rss_mb"]["hwm"])
    row("server peak RSS", f"{peak:.0f} MB", f"(target < {TARGET_RSS_MB:g} MB)", peak < TARGET_RSS_MB)
    cpu = [(name, ph[name]["server_cpu_ms_per_1000_statements"]) for name in ("single", "batch", "seed")
           if name in ph and ph[name]["statements"]]
    if cpu:
        row("server CPU per 1,000 statements", " / ".join(f"{v:,.0f}" for _, v in cpu) + " ms",
            f"({' / '.join(n for n, _ in cpu)}; no target)", None)
        rows[-1]["verdict"] = ""
    return rows


# -- main ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def journal_mode(path: Path) -> str:
    """From the database header: bytes 18-19 are 2 in WAL mode."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return "unknown"
    if len(header) < 20 or not header.startswith(b"SQLite format 3\0"):
        return "unknown"
    return "WAL" if header[18] == 2 and header[19] == 2 else f"rollback (header {header[18]},{header[19]})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Benchmark the LRS (python -m lrs serve, SQLite in WAL mode) against the issue's targets.",
        epilog="Run it with the project's interpreter: .venv/bin/python scripts/bench.py\n\n"
               "Seeding 1,000,000 statements takes a while. To pay for it once:\n"
               "  .venv/bin/python scripts/bench.py --reuse /var/tmp/lrs-bench-1m.sqlite3\n"
               "The first run creates, seeds and keeps that file (with a PATH.bench.json note of how many\n"
               "statements it holds); later runs with the same --reuse PATH skip seeding, or only top it up\n"
               "to --seed-count. The single and batch phases add their statements to it (about 300,000 a run);\n"
               "use --phases query to only query it. A database that has no .bench.json note is used as is.")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds counted per POST phase (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds before each POST phase (default 3)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the single and batch phases N times each and report the median run (default 1)")
    parser.add_argument("--seed-count", type=int, default=TARGET_SEED,
                        help="statements stored before the query phase (default 1,000,000)")
    parser.add_argument("--seed-batch", type=int, default=500, help="statements per seeding POST (default 500)")
    parser.add_argument("--seed-connections", type=int, default=4, help="connections while seeding (default 4)")
    parser.add_argument("--reuse", metavar="PATH", type=Path,
                        help="SQLite file to use and keep: seeded by the first run, reused without seeding after")
    parser.add_argument("--queries", type=int, default=200, help="GETs per filter kind (default 200)")
    parser.add_argument("--walks", type=int, default=5, help="walks from page 1 to page 100 (default 5)")
    parser.add_argument("--pages", type=int, default=100, help="pages per walk (default 100)")
    parser.add_argument("--port", type=int, help="server port (default: a free one)")
    parser.add_argument("--workers", type=int, help="passed to lrs serve (default: not passed, the server's default)")
    parser.add_argument("--phases", default="single,batch,seed,query",
                        help="comma-separated subset of single,batch,seed,query (default: all)")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="also write the results as JSON to FILE (or to standard output)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    parser.add_argument("--baseline", action="store_true",
                        help="serve the issue's reference instead of the LRS (scripts/bench_baseline.py: a bare"
                             " Starlette endpoint that parses the body and answers ids) to rate this host;"
                             " single and batch phases only")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - {"single", "batch", "seed", "query"}
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    if args.baseline:
        args.phases = [p for p in args.phases if p in ("single", "batch")]
    if args.duration <= 0 or args.warmup < 0 or args.seed_batch < 1 or args.seed_connections < 1:
        parser.error("--duration must be > 0, --warmup ≥ 0, --seed-batch and --seed-connections ≥ 1")
    if args.pages < 2 or args.walks < 1 or args.queries < 1:
        parser.error("--pages ≥ 2, --walks ≥ 1 and --queries ≥ 1")
    return args


async def run(args: argparse.Namespace, server: Server, sampler: RSSSampler, model: TrafficModel,
              stored: int, res: dict[str, Any]) -> int:
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    for sig in (signal.SIGINT, signal.SIGTERM):  # cancel the run; main() then stops the server
        loop.add_signal_handler(sig, task.cancel)
    bench = Bench(args, server, sampler, model)
    phases: dict[str, PhaseResult] = {}
    for name, conns, per in (("single", 16, 1), ("batch", 4, 100)):
        if name in args.phases:
            log(f"{name}: {conns} connections, {per} statement(s) per POST, {args.warmup:g} s warm-up"
                f" + {args.duration:g} s ...")
            runs: list[PhaseResult] = []
            for _ in range(args.repeat):
                runs.append(p := await bench.post_phase(name, conns, per))
                stored += p.stored
                log(f"  {p.rate:,.0f} st/s, p95 {pct(sorted(p.latencies), .95) * 1e3:.1f} ms,"
                    f" server CPU {p.cpu_ms_per_1000:,.0f} ms/1k st, RSS peak {mb(p.rss_peak):.0f} MB"
                    + (f", {p.built_on_the_fly:,} requests built during the run" if p.built_on_the_fly else ""))
                if p.errors:
                    break
            # With --repeat, the run of median throughput stands for the phase; all rates are kept.
            phases[name] = p = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
            p.repeats = [round(r.rate, 1) for r in runs]
            p.errors = sum(r.errors for r in runs)
            if len(runs) > 1:
                log(f"  {name}: median of {len(runs)} runs: {p.rate:,.0f} st/s"
                    f" (all: {', '.join(f'{r:,.0f}' for r in p.repeats)})")
            if p.errors:
                break
    if "seed" in args.phases and not any(p.errors for p in phases.values()):
        missing = args.seed_count - stored if res["stored_known"] else 0
        if not res["stored_known"]:
            log("seed: skipped, the reused database's count is unknown (no .bench.json next to it)")
        elif missing <= 0:
            log(f"seed: skipped, {stored:,} statements are stored already")
        else:
            log(f"seed: {missing:,} statements in POSTs of {args.seed_batch} over {args.seed_connections}"
                f" connections, to {args.seed_count:,} stored ...")
        phases["seed"] = p = await bench.seed(missing, args.seed_batch, args.seed_connections)
        stored += p.stored
        if p.statements:
            log(f"  {p.statements:,} in {p.seconds:.1f} s: {p.rate:,.0f} st/s,"
                f" server CPU {p.cpu_ms_per_1000:,.0f} ms/1k st")
    res["stored_statements"] = stored
    if res.get("reuse_note"):
        res["reuse_note"].write_bytes(orjson.dumps({"stored": stored, "model_seed": MODEL_SEED}))
    res["phases"] = {name: p.summary() for name, p in phases.items()
                     if not (name == "seed" and p.statements == 0)}
    errors = sum(p.errors for p in phases.values())
    if "query" in args.phases and not errors:
        log(f"query: {args.queries} GETs per filter kind, then {args.walks} walks of {args.pages} pages ...")
        try:
            res["query"] = await bench.query_phase(args.queries, args.walks, args.pages)
        except (BenchError, ConnectionError, asyncio.TimeoutError, KeyError, orjson.JSONDecodeError) as exc:
            res["query_error"] = f"{type(exc).__name__}: {exc}"
            errors += 1
    for name, p in phases.items():
        for sample in p.error_samples:
            res["errors"].append(f"{name}: {sample}")
        if p.errors > len(p.error_samples):
            res["errors"].append(f"{name}: ... {p.errors} failed requests in all")
    if res.get("query_error"):
        res["errors"].append(f"query: {res['query_error']}")
    return errors


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmpdir = Path(tempfile.mkdtemp(prefix="lrs-bench-"))
    stored, stored_known, reuse_note = 0, True, None
    if args.reuse:
        database = args.reuse.resolve()
        reuse_note = database.with_name(database.name + ".bench.json")
        if database.exists():
            try:
                stored = int(orjson.loads(reuse_note.read_bytes())["stored"])
            except (OSError, ValueError, KeyError, TypeError):
                stored_known = False
                reuse_note = None
        database.parent.mkdir(parents=True, exist_ok=True)
    else:
        database = tmpdir / "bench.sqlite3"
    port = args.port or free_port()
    server = Server(port, database, args.workers, tmpdir / "server.log", baseline=args.baseline)
    sampler = RSSSampler(server)
    res: dict[str, Any] = {
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "duration": args.duration, "warmup": args.warmup, "errors": [], "notes": [],
        "stored_known": stored_known, "reuse_note": reuse_note, "baseline": args.baseline,
        "client": {"loop": "uvloop" if uvloop is not None else "asyncio"},
    }
    status = 0
    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        log(f"building the traffic model ({TEMPLATES:,} statement templates, {PLAYERS:,} players) ...")
        model = TrafficModel()
        res["host_reference_ms"] = host_reference(model)
        log(f"host reference: {res['host_reference_ms']:.1f} ms (a fixed pure-Python workload; lower is a faster host)")
        log(f"starting the server on {HOST}:{port}, database {database} ...")
        server.start()
        server.wait_ready()
        sampler.start()
        res["server"] = {"command": server.command, "pids": server.pids(),
                         "workers": args.workers if args.workers is not None else "server default"}
        runner = uvloop.run if uvloop is not None else asyncio.run
        errors = runner(run(args, server, sampler, model, stored, res))
        sampler.sample()
        rss_end, hwm = server.rss_bytes()
        res["rss_mb"] = {"peak": mb(sampler.peak), "hwm": mb(hwm), "end": mb(rss_end), "samples": sampler.samples}
        res["server"]["journal"] = journal_mode(database)
        res["server"]["alive_at_end"] = server.alive()
        if not server.alive():
            res["errors"].append(f"the server died (exit status {server.proc.returncode})")
            errors += 1
        if res["stored_statements"] < TARGET_SEED and "query" in res:
            res["notes"].append(f"the GET targets are for 1,000,000 stored statements; this run had"
                                f" {res['stored_statements']:,}")
        res["headline"] = headline(res)
        print_report(res)
        if errors or res["errors"]:
            status = 2
        elif args.strict and any(h["verdict"] == "FAIL" for h in res["headline"]):
            status = 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted")
        status = 130
    except BenchError as exc:
        log(f"bench: {exc}")
        status = 2
    finally:
        sampler.stop()
        server.stop()
        signal.signal(signal.SIGTERM, old_term)
        problems = server.log_problems()
        res["server_log_problems"] = problems[:50]
        if problems:
            res["errors"].append(f"the server log has {len(problems)} error line(s)")
            log(f"the server log has {len(problems)} error line(s), e.g.:")
            for line in problems[:10]:
                log(f"  {line}")
            status = status or 2
        if res["errors"]:
            log("ERRORS:")
            for e in res["errors"]:
                log(f"  {e}")
        if args.json and "headline" in res:
            res.pop("reuse_note", None)
            data = orjson.dumps(res, option=orjson.OPT_INDENT_2)
            if args.json == "-":
                sys.stdout.write(data.decode() + "\n")
            else:
                Path(args.json).write_bytes(data + b"\n")
        if status in (2, 130) and (tmpdir / "server.log").exists():
            for leftover in tmpdir.glob("bench.sqlite3*"):
                leftover.unlink()
            log(f"server log kept: {tmpdir / 'server.log'}")
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if args.reuse:
            log(f"database kept: {database} ({res.get('stored_statements', stored):,} statements)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
