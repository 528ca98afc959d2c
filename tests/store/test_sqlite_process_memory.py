"""The SQLite writer process gives a large job's memory back after answering it
(``lrs._gc.release_memory``), and reads jobs without copying their bytes."""

from __future__ import annotations

import pickle
import socket
import threading
from pathlib import Path

import pytest

from lrs import _gc
from lrs.store import _sqlite_db as db
from lrs.store import _sqlite_process as process


def _job(request: int, key: str, extra: bytes) -> bytes:
    row = (key, "hash", "all", b"{}", "2026-01-01", 0, None, extra)
    payload = pickle.dumps(("put_credential", (row,)), protocol=pickle.HIGHEST_PROTOCOL)
    return process.FRAME.pack(len(payload), request) + payload


def _answer(sock: socket.socket) -> tuple[int, tuple]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the writer closed the socket"
            data += chunk
        return data
    size, request = process.FRAME.unpack(exactly(process.FRAME.size))
    return request, pickle.loads(exactly(size))


def test_the_writer_releases_memory_after_a_large_job_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)

    def last_stored() -> str:  # the job the writer had just committed when it released memory
        conn = db.connect(path)
        try:
            return conn.execute("SELECT key FROM credentials ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        finally:
            conn.close()

    releases: list[str] = []
    monkeypatch.setattr(process, "release_memory", lambda: releases.append(last_stored()))
    ours, theirs = socket.socketpair()
    writer = threading.Thread(target=process._process_main, args=(path, "NORMAL", theirs))
    writer.start()
    jobs = [("small", b"x"), ("large", b"x" * _gc.RELEASE_AFTER_BYTES), ("small again", b"y"), ("last", b"z")]
    try:
        for request, (key, extra) in enumerate(jobs, 1):
            ours.sendall(_job(request, key, extra))
            assert _answer(ours) == (request, (True, None))
    finally:
        ours.close()
        writer.join(30)
    # The writer answers a job, then releases: by the time it has answered the next one,
    # a release after the previous one is recorded.
    assert releases == ["large"]
    conn = db.connect(path)
    stored = dict(conn.execute("SELECT key, length(extra) FROM credentials").fetchall())
    assert stored == {key: len(extra) for key, extra in jobs}
