"""The one writer of an SQLite store: group commit, in a thread or in a process.

Every write is a job ``(name, args)`` from ``_sqlite_write.JOBS``. The writer
commits whatever jobs are waiting in one transaction (group commit), each in
its own SAVEPOINT so that a refused job leaves nothing behind and does not
disturb its neighbours. Beside it, an ``Indexer`` thread moves statement keys
into the key index file in bulk, and a checkpoint thread keeps the WAL short.

``ThreadWriter`` runs in the server process (simple; used by tests and tools).
``_sqlite_process.ProcessWriter`` runs the same ``GroupCommitter`` in a child
process with its own GIL, so that validating requests and writing SQLite use
two cores instead of taking turns on one.

Writers of several server processes (``lrs serve --workers N``) queue on a
file lock: SQLite's own busy handler sleeps and retries (1, 2, 5, 10 ms ...),
a blocking ``flock`` hands over the moment the previous writer commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import sys
import threading
from typing import Any, Iterator

from lrs.store import _sqlite_db as db
from lrs.store._sqlite_keys import KeyIds, WriterConnection
from lrs.store._sqlite_write import JOBS, MERGED

log = logging.getLogger("lrs.store.sqlite")

MAX_GROUP = 512  # jobs committed together at most
INDEX_BATCH = 20000  # statements waiting for the key index before the writer indexes them under load
INDEX_IDLE = 0.05  # seconds without writes after which waiting statements are indexed
CHECKPOINT_EVERY = 0.5  # seconds between WAL checkpoints
AUTOCHECKPOINT_PAGES = 16384  # SQLite checkpoints in the commit only past this (64 MiB of 4 KiB pages)
BACKGROUND_NICE = 10  # added to the indexer thread's nice value (Linux)


def background_priority() -> None:
    """Lower the calling thread's CPU priority by ``BACKGROUND_NICE``: for work that can wait.

    The indexer is a third busy thread beside the event loop and the writer, on a
    machine of two cores: at equal priority it takes turns with those two, and every
    request waits longer. At a lower one it uses what they leave idle, and still
    gets a share when the machine is saturated (CFS weight 110 against 1024); a
    filtered read that finds the key index behind catches it up itself, at the
    reader's priority. (The checkpointer keeps its priority: it pauses the writers
    while it holds their lock.) Linux only: elsewhere ``setpriority`` takes process
    ids, not thread ids.
    """
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICE)


class GroupCommitter:
    """Runs jobs in group-committed transactions on one connection.

    WAL checkpoints (copying committed pages into the database file) run on a
    thread of their own, beside the writer, instead of inside every commit that
    crosses SQLite's threshold; SQLite's automatic checkpoint stays as a
    safety net for a WAL that grows past 64 MiB.
    """

    def __init__(self, path: str, *, synchronous: str) -> None:
        self.conn = db.connect(path, synchronous=synchronous, factory=WriterConnection)
        self.conn.key_ids = KeyIds()  # the jobs reach it through the connection
        self.conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        self.lock_fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        self.indexer = Indexer(path, synchronous=synchronous)
        self.indexer.start()
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=_checkpoint_loop, args=(path, synchronous, self._stop),
            name="lrs-sqlite-checkpoint", daemon=True,
        )
        self._checkpointer.start()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def commit(self, jobs: list[tuple[str, tuple]]) -> list[tuple[bool, Any]]:
        """Run ``jobs`` in one transaction: each job's (ok, result or exception).

        Consecutive jobs of a kind in ``MERGED`` (statement inserts: a game's players
        posting one statement each) first run as one, which costs one set of SQL
        statements instead of one per job; if that is refused or does not apply,
        they run one by one, each in its own SAVEPOINT.
        """
        results: list[tuple[bool, Any]] = []
        try:
            with self.transaction():
                if len(jobs) == 1:  # alone: a refusal rolls the whole transaction back, no SAVEPOINT needed
                    name, args = jobs[0]
                    results.append((True, JOBS[name](self.conn, *args)))
                else:
                    for run in _runs(jobs):
                        merged = self._merged(run) if len(run) > 1 else None
                        results += merged if merged is not None else [self._one(job) for job in run]
            self.conn.key_ids.committed()
        except Exception as exc:  # noqa: BLE001 - the transaction failed: nothing was stored
            self.conn.key_ids.rolled_back()
            results = [(False, exc)] * len(jobs)
        self.indexer.notify(sum(
            len(value) for (name, _), (ok, value) in zip(jobs, results) if ok and name == "insert"
        ))
        return results

    def _one(self, job: tuple[str, tuple]) -> tuple[bool, Any]:
        name, args = job
        self.conn.execute("SAVEPOINT job")
        try:
            result = JOBS[name](self.conn, *args)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            self._roll_back("job")
            return False, exc
        self.conn.execute("RELEASE job")
        return True, result

    def _merged(self, run: list[tuple[str, tuple]]) -> list[tuple[bool, Any]] | None:
        """The run's results when it ran as one job; None when it did not (nothing of it stays)."""
        self.conn.execute("SAVEPOINT merged")
        try:
            results = MERGED[run[0][0]](self.conn, [args for _, args in run])
        except Exception:  # noqa: BLE001 - one of them is refused: they run one by one
            self._roll_back("merged")
            return None
        self.conn.execute("RELEASE merged")
        return None if results is None else [(True, result) for result in results]

    def _roll_back(self, savepoint: str) -> None:
        self.conn.execute(f"ROLLBACK TO {savepoint}")
        self.conn.execute(f"RELEASE {savepoint}")
        self.conn.key_ids.rolled_back()

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join()
        self.indexer.close()
        self.conn.close()
        os.close(self.lock_fd)


class Indexer(threading.Thread):
    """Moves statement keys into the key index (``_sqlite_db.index``), beside the writer.

    It indexes when ``INDEX_BATCH`` statements wait, or when a whole ``INDEX_IDLE``
    wait has passed without a commit; reads that find it behind catch it up themselves.
    While commits keep coming it asks the database how far behind it is only once
    its writer has stored ``INDEX_BATCH`` more statements, not after every commit.
    Indexers of several processes take turns on ``<database>.keys.lock``.
    """

    def __init__(self, path: str, *, synchronous: str) -> None:
        super().__init__(name="lrs-sqlite-indexer", daemon=True)
        self._path = path
        self._synchronous = synchronous
        self._wake = threading.Event()
        self._stopping = False
        self._written = 0  # statements the writer stored (only the writer thread adds)
        self._checked = 0  # ... when the indexer last looked at the database
        self._commits = 0  # commits of the writer (only the writer thread adds)

    def notify(self, statements: int = 0) -> None:
        """A commit, which stored ``statements`` new statements.

        The indexer is woken only when a batch is waiting: waking a thread for every
        commit cost the writer about 30 us of CPU per commit, and the indexer as much.
        Otherwise it notices commits by the count, each time its INDEX_IDLE wait ends.
        """
        self._commits += 1
        self._written += statements
        if self._written - self._checked >= INDEX_BATCH:
            self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self.join()

    def run(self) -> None:
        background_priority()
        conn = db.connect_indexer(self._path)
        try:
            seen = self._commits
            while not self._stopping:
                self._wake.wait(INDEX_IDLE)
                self._wake.clear()
                idle, seen = self._commits == seen, self._commits  # no commit for a whole INDEX_IDLE
                if not (idle or self._stopping or self._written - self._checked >= INDEX_BATCH):
                    continue  # busy, with too little new to be worth a look
                self._checked = self._written
                try:
                    lag = db.index_lag(conn, statements="m", keys="main")
                    if lag > 0 and (idle or self._stopping or lag >= INDEX_BATCH):
                        index_now(self._path, conn)
                except sqlite3.Error:
                    log.exception("indexing statements failed; filtered reads will retry it")
            index_now(self._path, conn)
        finally:
            conn.close()


def _runs(jobs: list[tuple[str, tuple]]) -> Iterator[list[tuple[str, tuple]]]:
    """The jobs in order, consecutive jobs of one ``MERGED`` kind together, every other job alone."""
    run: list[tuple[str, tuple]] = []
    for job in jobs:
        if run and (job[0] != run[0][0] or job[0] not in MERGED):
            yield run
            run = []
        run.append(job)
    if run:
        yield run


def index_now(path: str, conn: sqlite3.Connection | None = None) -> None:
    """Bring the key index up to date, taking turns with other indexers on the keys lock file."""
    own = conn is None
    conn = conn or db.connect_indexer(path)
    lock = os.open(db.keys_path(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        db.index(conn)
    finally:
        os.close(lock)  # releases the lock
        if own:
            conn.close()


def _checkpoint_loop(path: str, synchronous: str, stop: threading.Event) -> None:
    """Checkpoint the WAL twice a second: the bulk beside the writer, the rest with writers paused.

    A passive checkpoint alone never catches up with a WAL that is being written,
    and SQLite starts the WAL over only after one has; the second pass copies
    just what arrived meanwhile, so the pause is short and the WAL stays small.
    """
    conn = db.connect(path, synchronous=synchronous)
    # A file description of its own: flock excludes descriptions, not threads.
    lock_fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while not stop.wait(CHECKPOINT_EVERY):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
            except sqlite3.Error:
                log.exception("WAL checkpoint failed; retrying")
    finally:
        os.close(lock_fd)
        conn.close()


# -- in a thread -------------------------------------------------------------------------

class ThreadWriter(threading.Thread):
    def __init__(self, path: str, *, synchronous: str) -> None:
        super().__init__(name="lrs-sqlite-writer", daemon=True)
        self._path = path
        self._synchronous = synchronous
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()

    async def open(self) -> None:
        self.start()

    async def submit(self, name: str, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put(((name, args), future, loop))
        return await future

    async def close(self) -> None:
        self._jobs.put(None)
        await asyncio.to_thread(self.join)

    def run(self) -> None:
        committer = GroupCommitter(self._path, synchronous=self._synchronous)
        stopping = False
        try:
            while not stopping:
                item = self._jobs.get()
                if item is None:
                    break
                items = [item]
                while len(items) < MAX_GROUP:
                    try:
                        item = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    items.append(item)
                results = committer.commit([job for job, _, _ in items])
                for (_, future, loop), (ok, value) in zip(items, results):
                    loop.call_soon_threadsafe(_resolve, future, ok, value)
        finally:
            committer.close()


def _resolve(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
