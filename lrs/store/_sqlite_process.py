"""The SQLite writer in a child process: ``ProcessWriter`` (the server's side) and ``process_entry``.

The child runs ``_sqlite_writer.GroupCommitter`` with its own GIL, so that
validating requests (the event loop) and writing SQLite (the writer) use two
cores instead of taking turns on one; jobs and results travel as pickles over
a socket pair, framed by ``FRAME``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from typing import Any

from lrs._gc import RELEASE_AFTER_BYTES, release_memory, tune_gc
from lrs.store import _sqlite_db as db
from lrs.store._sqlite_writer import MAX_GROUP, GroupCommitter
from lrs.xapi.errors import XAPIError

FRAME = struct.Struct("!IQ")  # payload length, request id
RESTART_INTERVAL = 1.0  # seconds: a writer that keeps dying is started again at most this often
log = logging.getLogger("lrs.store.sqlite")


def _stopped() -> XAPIError:
    """What a write the writer process died under (or cannot take now) is answered."""
    return XAPIError(
        503, "the SQLite writer process stopped before answering: a write in progress may or may not have been"
        " stored; send it again (a statement with an id is stored once). A new writer process is being started.",
        error="unavailable", headers={"Retry-After": "1"})


class ProcessWriter:
    def __init__(self, path: str, *, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._process: subprocess.Popen | None = None
        self._stream: asyncio.StreamWriter | None = None
        self._receiver: asyncio.Task | None = None
        self._outgoing: list[bytes] = []  # frames of this turn of the event loop, sent together
        self._closing = False
        self._restarting: asyncio.Lock | None = None
        self._started = 0.0  # time.monotonic() of the last start
        self.restarts = 0

    async def open(self) -> None:
        self._started = time.monotonic()
        ours, theirs = socket.socketpair()
        # A plain child interpreter (not multiprocessing: no resource-tracker process,
        # nothing pickled at start); the socket is handed over as an inherited descriptor.
        self._process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-c", "from lrs.store._sqlite_process import process_entry; process_entry()",
             self._path, self._synchronous, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        reader, self._stream = await asyncio.open_connection(sock=ours, limit=1 << 24)
        self._receiver = asyncio.create_task(self._receive(reader))

    async def submit(self, name: str, *args: Any) -> Any:
        if self._stream is None or self._receiver is None or self._closing:
            raise RuntimeError("the SQLite writer process is not running")
        if self._receiver.done():
            await self._restart()
        request = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        payload = pickle.dumps((name, args), protocol=pickle.HIGHEST_PROTOCOL)
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._send)
        self._outgoing += (FRAME.pack(len(payload), request), payload)
        try:
            await self._stream.drain()
        except ConnectionError:
            pass  # the writer process died: _receive answers this request's future (503)
        return await future

    async def _restart(self) -> None:
        """A new writer process for one that died (killed, out of memory): what it acknowledged is in
        the database (each answer follows its commit), and SQLite recovers the rest on opening."""
        if self._restarting is None:
            self._restarting = asyncio.Lock()
        async with self._restarting:
            if self._closing:
                raise _stopped()
            if self._receiver is not None and not self._receiver.done():
                return  # another request started it meanwhile
            if time.monotonic() - self._started < RESTART_INTERVAL:
                raise _stopped()
            code = self._process.poll() if self._process is not None else None
            log.error("the SQLite writer process stopped (exit status %s); starting a new one", code)
            if self._stream is not None:
                self._stream.close()
            if self._process is not None and code is None:
                self._process.kill()  # (it closed its socket but lives on: make sure)
            if self._process is not None:
                await asyncio.to_thread(self._process.wait)
            self._outgoing = []  # (frames for the dead process: their requests were answered 503)
            self.restarts += 1
            await self.open()

    def _send(self) -> None:
        """The frames of every job submitted in this turn of the event loop, in one write (one system call)."""
        data, self._outgoing = b"".join(self._outgoing), []
        if self._stream is not None:
            self._stream.write(data)

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                size, request = FRAME.unpack(await reader.readexactly(FRAME.size))
                ok, value = pickle.loads(await reader.readexactly(size))
                future = self._pending.pop(request, None)
                if future is not None and not future.cancelled():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(_error(value))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(_stopped())
            self._pending.clear()

    async def close(self) -> None:
        self._closing = True
        if self._restarting is not None:
            async with self._restarting:  # a restart under way finishes first: its process is closed below
                pass
        if self._stream is not None:
            if self._outgoing:
                self._send()
            self._stream.close()  # end of input: the writer finishes, indexes, and exits
            with contextlib.suppress(ConnectionError):
                await self._stream.wait_closed()
        if self._process is not None:
            try:
                await asyncio.to_thread(self._process.wait, 30)
            except subprocess.TimeoutExpired:
                self._process.terminate()
        if self._receiver is not None:
            await self._receiver


def _portable(exc: BaseException) -> tuple:
    """An exception as plain data (XAPIError's constructor does not survive pickling); an SQLite error
    that is the database's state (full, busy, read-only) as the refusal it stands for (``_sqlite_db.refusal``)."""
    if isinstance(exc, sqlite3.Error):
        exc = db.refusal(exc) or exc
    if isinstance(exc, XAPIError):
        return ("xapi", exc.status, exc.message, exc.error, exc.path, exc.headers, exc.extra)
    return ("error", f"{type(exc).__name__}: {exc}")


def _error(value: tuple) -> BaseException:
    if value[0] == "xapi":
        _, status, message, error, path, headers, extra = value
        return XAPIError(status, message, error=error, path=path, headers=headers, **extra)
    return RuntimeError(f"SQLite writer: {value[1]}")


def process_entry() -> None:
    """The writer process's entry point: ``<path> <synchronous> <socket fd>`` on the command line.

    Ctrl-C and SIGTERM are for the server: it finishes its requests, then closes
    the socket, and the writer stops at that end of input (also if the server dies).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    path, synchronous, fd = sys.argv[1:4]
    tune_gc()  # a batch unpickles thousands of objects: tuned as in the server process
    _process_main(path, synchronous, socket.socket(fileno=int(fd)))


def _process_main(path: str, synchronous: str, sock: socket.socket) -> None:
    """The writer process: read framed jobs, group-commit them, answer, index when idle."""
    committer = GroupCommitter(path, synchronous=synchronous)
    buffer = bytearray()
    open_ = True

    received = 0  # bytes of the jobs in hand

    def frames() -> list[tuple[int, tuple]]:
        nonlocal received
        found = []
        while len(buffer) >= FRAME.size:
            size, request = FRAME.unpack_from(buffer)
            if len(buffer) < FRAME.size + size:
                break
            with memoryview(buffer) as view:  # no copy of a large job's bytes
                found.append((request, pickle.loads(view[FRAME.size:FRAME.size + size])))
            del buffer[:FRAME.size + size]
            received += size
        return found

    def receive(timeout: float | None) -> bool:
        nonlocal open_
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            return False
        data = sock.recv(1 << 20)
        if not data:
            open_ = False
        buffer.extend(data)
        return True

    try:
        while open_:
            jobs = frames()
            if not jobs:
                receive(None)
                continue
            while open_ and len(jobs) < MAX_GROUP and receive(0):  # take whatever else has arrived
                jobs += frames()
            results = committer.commit([job for _, job in jobs])
            reply = bytearray()
            for (request, _), (ok, value) in zip(jobs, results):
                payload = pickle.dumps((ok, value if ok else _portable(value)), protocol=pickle.HIGHEST_PROTOCOL)
                reply += FRAME.pack(len(payload), request) + payload
            sock.sendall(reply)
            if received >= RELEASE_AFTER_BYTES:
                del jobs, results, reply
                buffer = bytearray(buffer)  # a bytearray keeps its largest size: start small again
                release_memory()
            received = 0
    except (BrokenPipeError, ConnectionError):
        pass
    finally:
        committer.close()
        sock.close()
