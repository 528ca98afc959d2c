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
    releases: list[int] = []
    monkeypatch.setattr(process, "release_memory", lambda: releases.append(1))
    ours, theirs = socket.socketpair()
    writer = threading.Thread(target=process._process_main, args=(path, "NORMAL", theirs))
    writer.start()
    try:
        ours.sendall(_job(1, "small", b"x"))
        assert _answer(ours) == (1, (True, None))
        assert releases == []
        ours.sendall(_job(2, "large", b"x" * _gc.RELEASE_AFTER_BYTES))
        assert _answer(ours) == (2, (True, None))
        assert releases == [1]
        ours.sendall(_job(3, "small again", b"y"))
        assert _answer(ours) == (3, (True, None))
        assert releases == [1]
    finally:
        ours.close()
        writer.join(30)
    conn = db.connect(path)
    stored = dict(conn.execute("SELECT key, length(extra) FROM credentials").fetchall())
    assert stored == {"small": 1, "large": _gc.RELEASE_AFTER_BYTES, "small again": 1}
