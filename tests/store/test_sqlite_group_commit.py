"""The SQLite writer's group commit: consecutive statement inserts run as one job when
that is exactly what running them one by one does, and one by one otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from lrs.store import _sqlite_db as db
from lrs.store._sqlite_writer import GroupCommitter
from lrs.xapi.errors import XAPIError
from lrs.xapi.statements import PreparedStatement
from tests.store.test_contract import ADA, make, void


@pytest.fixture
def committer(tmp_path: Path) -> Iterator[GroupCommitter]:
    path = str(tmp_path / "lrs.sqlite3")
    db.create(path)
    committer = GroupCommitter(path, synchronous="NORMAL")
    for key, revoked in (("good", 0), ("gone", 1)):
        committer.commit([("put_credential", ((key, "hash", "all", b"{}", "2026-01-01", revoked, None, None),))])
    yield committer
    committer.close()


def insert(*statements: PreparedStatement, define: bool = False, credential: str | None = None,
           names: tuple[tuple[str, str], ...] = ()) -> tuple[str, tuple]:
    return ("insert", ([p.to_row() for p in statements], define, credential, list(names), []))


def traced(committer: GroupCommitter) -> list[str]:
    sql: list[str] = []
    committer.conn.set_trace_callback(sql.append)
    return sql


def stored_ids(committer: GroupCommitter) -> set[str]:
    return {row[0] for row in committer.conn.execute("SELECT id FROM statements")}


def test_consecutive_inserts_run_as_one_job(committer: GroupCommitter) -> None:
    a, b, c, d = (make() for _ in range(4))
    sql = traced(committer)
    results = committer.commit([insert(a), insert(b, credential="good"), insert(c, d)])
    assert results == [(True, [a.id]), (True, [b.id]), (True, [c.id, d.id])]
    assert stored_ids(committer) == {a.id, b.id, c.id, d.id}
    assert sum("MAX(seq)" in s for s in sql) == 1  # one insert, not three
    assert [row[0] for row in committer.conn.execute("SELECT id FROM statements ORDER BY seq")] == [
        a.id, b.id, c.id, d.id]


def test_a_refused_insert_among_them_is_refused_alone(committer: GroupCommitter) -> None:
    taken = make()
    committer.commit([insert(taken)])
    a, b = make(), make()
    other = make(verb="http://example.com/verbs/other")
    other.id = taken.id  # a different statement under a stored id
    results = committer.commit([insert(a), insert(other), insert(b)])
    assert results[0] == (True, [a.id]) and results[2] == (True, [b.id])
    ok, error = results[1]
    assert not ok and isinstance(error, XAPIError) and error.status == 409
    assert stored_ids(committer) == {taken.id, a.id, b.id}


def test_a_revoked_credential_refuses_its_own_job_only(committer: GroupCommitter) -> None:
    a, b, c = make(), make(), make()
    results = committer.commit([insert(a, credential="good"), insert(b, credential="gone"), insert(c)])
    assert results[0] == (True, [a.id]) and results[2] == (True, [c.id])
    assert not results[1][0] and results[1][1].status == 401
    assert stored_ids(committer) == {a.id, c.id}


def test_one_statement_sent_twice_in_a_group_is_stored_once(committer: GroupCommitter) -> None:
    a = make()
    again = PreparedStatement.from_row(a.to_row())
    results = committer.commit([insert(a), insert(again)])
    assert results == [(True, [a.id]), (True, [])]
    assert stored_ids(committer) == {a.id}


def test_names_follow_the_order_of_the_jobs(committer: GroupCommitter) -> None:
    ifi = "mbox:mailto:ada@example.com"
    committer.commit([insert(make(), names=((ifi, "Ada"),)), insert(make(), names=((ifi, "Ada L."),))])
    assert [r[0] for r in committer.conn.execute("SELECT name FROM agent_names WHERE ifi = ?", (ifi,))] == ["Ada"]
    committer.commit([insert(make(), define=True, names=((ifi, "Ada Lovelace"),)),
                      insert(make(), define=True, names=((ifi, "Countess"),))])
    names = {r[0] for r in committer.conn.execute("SELECT name FROM agent_names WHERE ifi = ?", (ifi,))}
    assert names == {"Ada", "Ada Lovelace", "Countess"}


def test_voiding_in_a_group_runs_the_jobs_in_order(committer: GroupCommitter) -> None:
    target = make(actor=ADA)
    voiding = void(target)
    results = committer.commit([insert(target), insert(voiding), insert(void(voiding))])
    assert results[0] == (True, [target.id]) and results[1] == (True, [voiding.id])
    second = results[2]
    assert second[0] and len(second[1]) == 1  # voiding a voiding statement: stored, voids nothing (XAPI-00016)
    voided = dict(committer.conn.execute("SELECT id, voided FROM statements"))
    assert voided == {target.id: 1, voiding.id: 0, second[1][0]: 0}
    assert orjson.loads(committer.conn.execute(
        "SELECT data FROM statements WHERE id = ?", (voiding.id,)).fetchone()[0])["object"]["id"] == target.id
