"""The MongoDB store beyond the shared contract: URLs, the HTTP API on it, operator injection, indexes.

Runs on the mongomock stand-in always and on a real server with LRS_TEST_MONGODB_URI
(the ``explain()`` checks need the real server: mongomock has no query planner).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from lrs.app import create_app
from lrs.config import Settings
from lrs.store.base import open_store
from lrs.store.mongo import MongoStore, _database_name
from lrs.xapi.query import StatementQuery
from tests.store.conftest import MONGODB_URI, _mongodb
from tests.store.mongomock_async import AsyncMongomockClient

pytestmark = pytest.mark.anyio
ADMIN = ("admin", "secret")


@pytest.mark.parametrize("url, name", [
    ("mongodb://localhost:27017", "lrs"), ("mongodb://localhost:27017/", "lrs"),
    ("mongodb://u:p@h1,h2/research?replicaSet=rs0", "research"), ("mongodb+srv://cluster.example.net/lab", "lab"),
])
def test_database_name_from_the_url(url: str, name: str) -> None:
    assert _database_name(url) == name


def test_open_store_picks_the_backend_from_the_url() -> None:
    assert isinstance(open_store("mongodb://localhost:27017/lab"), MongoStore)
    with pytest.raises(ValueError):
        open_store("postgres://localhost/lrs")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url="mongodb://mongomock/lrs_http", admin_key=ADMIN[0], admin_secret=ADMIN[1])
    store = MongoStore(settings.database_url, client=AsyncMongomockClient())
    with TestClient(create_app(settings, store=store)) as test_client:
        test_client.auth = ADMIN
        test_client.headers["X-Experience-API-Version"] = "1.0.3"
        yield test_client


def statement(n: int, **extra):
    return {
        "actor": {"name": f"Player {n % 3}", "account": {"homePage": "https://game.example.org", "name": f"p{n % 3}"}},
        "verb": {"id": f"http://example.com/verbs/v{n % 2}"},
        "object": {"id": f"http://example.com/levels/{n % 4}", "definition": {"name": {"en-US": f"Level {n % 4}"}}},
        **extra,
    }


def test_the_http_api_on_the_mongo_store(client: TestClient) -> None:
    ids = client.post("/xapi/statements", json=[statement(n) for n in range(30)]).json()
    assert len(ids) == 30
    agent = json.dumps({"account": {"homePage": "https://game.example.org", "name": "p1"}})
    seen, url, params = [], "/xapi/statements", {"agent": agent, "limit": "3"}
    while url:
        page = client.get(url, params=params).json()
        seen += [s["id"] for s in page["statements"]]
        url, params = page["more"], None
    assert sorted(seen) == sorted(ids[n] for n in range(30) if n % 3 == 1)
    # voiding
    assert client.post("/xapi/statements", json={
        "actor": {"mbox": "mailto:admin@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": ids[1]}}).status_code == 200
    assert client.get("/xapi/statements", params={"statementId": ids[1]}).status_code == 404
    assert client.get("/xapi/statements", params={"voidedStatementId": ids[1]}).json()["id"] == ids[1]
    # 409, and the batch is not stored
    clash = {**statement(99), "id": ids[0]}
    fresh = {**statement(98), "id": str(uuid.uuid4())}
    assert client.post("/xapi/statements", json=[fresh, clash]).status_code == 409
    assert client.get("/xapi/statements", params={"statementId": fresh["id"]}).status_code == 404
    # activities and agents
    assert client.get("/xapi/activities", params={"activityId": "http://example.com/levels/2"}).json()["definition"] == {
        "name": {"en-US": "Level 2"}}
    assert client.get("/xapi/agents", params={"agent": agent}).json()["name"] == ["Player 1"]


def test_documents_on_the_mongo_store(client: TestClient) -> None:
    params = {"activityId": "http://example.com/game", "agent": json.dumps({"mbox": "mailto:ada@example.com"}),
              "stateId": "$where"}
    assert client.put("/xapi/activities/state", params=params, content=b'{"a": 1}',
                      headers={"Content-Type": "application/json"}).status_code == 204
    assert client.post("/xapi/activities/state", params=params, content=b'{"b": 2}',
                       headers={"Content-Type": "application/json"}).status_code == 204
    got = client.get("/xapi/activities/state", params=params)
    assert got.json() == {"a": 1, "b": 2}
    stale = client.put("/xapi/activities/state", params=params, content=b"x", headers={"If-Match": '"0000"'})
    assert stale.status_code == 412
    ok = client.put("/xapi/activities/state", params=params, content=b"\x00\xff",
                    headers={"If-Match": got.headers["etag"], "Content-Type": "application/octet-stream"})
    assert ok.status_code == 204
    assert client.get("/xapi/activities/state", params=params).content == b"\x00\xff"
    listing = {k: v for k, v in params.items() if k != "stateId"}
    assert client.get("/xapi/activities/state", params=listing).json() == ["$where"]
    assert client.delete("/xapi/activities/state", params=listing).status_code == 204
    assert client.get("/xapi/activities/state", params=listing).json() == []


@pytest.mark.parametrize("agent", [
    {"mbox": {"$ne": None}}, {"mbox": {"$regex": ".*"}}, {"account": {"homePage": {"$gt": ""}, "name": "x"}},
    {"$where": "1"},
])
def test_operator_shaped_agents_are_refused(client: TestClient, agent) -> None:
    for path, extra in (("/xapi/statements", {}), ("/xapi/agents", {}),
                        ("/xapi/activities/state", {"activityId": "http://example.com/a"}),
                        ("/xapi/agents/profile", {})):
        response = client.get(path, params={"agent": json.dumps(agent), **extra})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["path"].startswith("agent")


# -- a real server only ---------------------------------------------------------------------

@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def mongodb(tmp_path: Path):
    if not MONGODB_URI:
        pytest.skip("explain() needs a real MongoDB (mongomock has no query planner): set LRS_TEST_MONGODB_URI")
    store = _mongodb(tmp_path)
    await store.open()
    try:
        yield store
    finally:
        await store._client.drop_database(store._db.name)
        await store.close()


def _stages(plan) -> list[str]:
    out = []
    if isinstance(plan, dict):
        if "stage" in plan:
            out.append(plan["stage"])
        for value in plan.values():
            out += _stages(value)
    elif isinstance(plan, list):
        for value in plan:
            out += _stages(value)
    return out


@pytest.mark.parametrize("fields", [
    {}, {"agent": "mbox:mailto:ada@example.com"}, {"verb": "http://example.com/v"},
    {"activity": "http://example.com/a", "related_activities": True}, {"registration": str(uuid.uuid4())},
    {"agent": "mbox:mailto:ada@example.com", "verb": "http://example.com/v", "since": "2026-01-01T00:00:00.000000Z"},
    {"verb": "http://example.com/v", "ascending": True, "cursor": "2026-01-01T00:00:00.000000Z|3b1e3c47-8d43-4c4a-9c64-5a4d6d8a0e11"},
])
async def test_every_statement_query_uses_an_index(mongodb: MongoStore, fields) -> None:
    plan = await mongodb.explain_query(StatementQuery(limit=100, **fields))
    stages = _stages(plan.get("queryPlanner", plan))
    assert "COLLSCAN" not in stages and "IXSCAN" in stages, stages
    assert "SORT" not in stages, stages  # the index gives the order


async def test_the_statement_ref_look_up_of_every_write_uses_the_ref_index(mongodb: MongoStore) -> None:
    # the index is partial ({ref: {$type: "string"}}): a query must state that filter to use it
    from lrs.store._mongo_write import _refs_to

    plan = await mongodb._c("statements").find(_refs_to([str(uuid.uuid4()), str(uuid.uuid4())])).explain()
    stages = _stages(plan.get("queryPlanner", plan))
    assert "COLLSCAN" not in stages and "IXSCAN" in stages, stages


async def test_a_batch_racing_another_writer_for_an_id_is_compared_again(anyio_backend) -> None:
    """Standalone server: the id another process stored between our check and our insert."""
    from lrs.xapi.statements import prepare

    store = MongoStore("mongodb://mongomock/lrs_race", client=AsyncMongomockClient())
    await store.open()
    authority = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "w"}}
    p = prepare({"id": str(uuid.uuid4()), "actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://e.com/v"},
                 "object": {"id": "http://e.com/a"}}, stored="2026-01-01T00:00:00.000000Z", authority=authority,
                api_version="1.0.3")
    statements = store._c("statements")
    real_insert_many = statements.insert_many
    raced = []

    async def racing_insert_many(docs, **kwargs):  # the other writer stores the same statement just before us
        if not raced:
            raced.append(1)
            await statements.insert_one(dict(docs[0]))
        return await real_insert_many(docs, **kwargs)

    statements.insert_many = racing_insert_many
    store._c = lambda name: statements if name == "statements" else store._db[name]
    assert await store.insert_statements([p], define=False) == []  # equivalent: nothing new, no error
    assert raced and await store.get_statement(p.id, voided=False) == p.statement
    await store.close()


async def test_on_a_replica_set_each_batch_is_one_transaction(anyio_backend) -> None:
    """Runs the transaction code path on the stand-in (which cannot roll back: the real check is [mongodb])."""
    from lrs.xapi.statements import prepare

    client = AsyncMongomockClient(replica_set=True)
    store = MongoStore("mongodb://mongomock/lrs_rs", client=client)
    await store.open()
    assert store.transactions
    authority = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "w"}}
    batch = [prepare({"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://e.com/v"},
                      "object": {"id": f"http://e.com/a{i}"}}, stored=f"2026-01-01T00:00:0{i}.000000Z",
                     authority=authority, api_version="1.0.3") for i in range(3)]
    assert await store.insert_statements(batch, define=False) == [p.id for p in batch]
    assert [s.transactions for s in client.sessions] == [1]
    from pymongo import ReadPreference

    assert client.sessions[0].read_preference == ReadPreference.PRIMARY  # whatever the URL asks for reads
    await store.close()


async def test_a_standalone_server_has_no_transactions(anyio_backend) -> None:
    store = MongoStore("mongodb://mongomock/lrs_standalone", client=AsyncMongomockClient())
    await store.open()
    assert not store.transactions
    await store.close()


# -- writers at the same moment (found by a review against the real driver and server) --------------------

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "w"}}


def _prepared(statement_id: str | None = None, *, by=None, **fields):
    from lrs.xapi.statements import prepare

    body = {"actor": {"mbox": "mailto:a@example.com", "name": "Ann"}, "verb": {"id": "http://e.com/v"},
            "object": {"id": "http://e.com/a", "definition": {"name": {"en-US": "A"}}}, **fields}
    if statement_id is not None:
        body["id"] = statement_id
    return prepare(body, stored=f"2026-01-01T00:00:00.{uuid.uuid4().int % 10**6:06d}Z", authority=by or AUTHORITY,
                   api_version="1.0.3")


async def _store_while_reading(first_batch, second_batch) -> MongoStore:
    """Two LRS processes on one (standalone) server: the second reads (its conflicts, referrers, targets),
    then the first stores its whole batch, then the second writes what it read it should. On a replica
    set each transaction's snapshot does the same."""
    import asyncio

    client = AsyncMongomockClient()
    first, second = (MongoStore("mongodb://mongomock/lrs_concurrent", client=client) for _ in range(2))
    await first.open()
    await second.open()
    has_read, first_done = asyncio.Event(), asyncio.Event()
    collection = second._db["statements"]
    real_insert_many = collection.insert_many

    async def insert_many(docs, **kwargs):
        has_read.set()
        await first_done.wait()
        return await real_insert_many(docs, **kwargs)

    collection.insert_many = insert_many
    second._c = lambda name: collection if name == "statements" else second._db[name]
    late = asyncio.create_task(second.insert_statements(second_batch, define=False))
    await has_read.wait()
    await first.insert_statements(first_batch, define=False)
    first_done.set()
    await late
    return first


async def test_a_voiding_statement_and_its_target_stored_at_the_same_moment(anyio_backend) -> None:
    target = _prepared()
    voiding = _prepared(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": target.id})
    store = await _store_while_reading([voiding], [target])
    assert await store.get_statement(target.id, voided=False) is None
    assert await store.get_statement(target.id, voided=True) is not None
    await store.close()


async def test_a_statement_ref_and_its_target_stored_at_the_same_moment(anyio_backend) -> None:
    target = _prepared(actor={"mbox": "mailto:ben@example.com"})
    referring = _prepared(object={"objectType": "StatementRef", "id": target.id})
    store = await _store_while_reading([referring], [target])
    page, _ = await store.query_statements(StatementQuery(agent="mbox:mailto:ben@example.com", limit=10))
    assert {s["id"] for s in page} == {target.id, referring.id}  # the StatementRef filter rule holds
    await store.close()


async def test_a_standalone_retry_finishes_what_the_statements_it_stored_imply(anyio_backend) -> None:
    """An ordered insert that met an id another writer had just stored kept the statements before it:
    the retry must not take them for someone else's and skip their definitions, names and voiding."""
    store = MongoStore("mongodb://mongomock/lrs_partial", client=AsyncMongomockClient())
    await store.open()
    earlier = _prepared()
    await store.insert_statements([earlier], define=False)
    ours = _prepared(actor={"mbox": "mailto:cy@example.com", "name": "Cy"},
                     object={"id": "http://e.com/new-activity", "definition": {"name": {"en-US": "New"}}})
    voiding = _prepared(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": earlier.id})
    raced = _prepared()
    statements = store._c("statements")
    real_insert_many = statements.insert_many

    async def racing_insert_many(docs, **kwargs):  # another writer stores `raced` just before us
        if await statements.find_one({"_id": raced.id}) is None:
            await real_insert_many([{**dict(docs[-1])}])
        return await real_insert_many(docs, **kwargs)

    statements.insert_many = racing_insert_many
    store._c = lambda name: statements if name == "statements" else store._db[name]
    ids = await store.insert_statements([ours, voiding, raced], define=False)
    assert ids == [ours.id, voiding.id]  # stored by this call (raced: by the other writer)
    assert await store.get_statement(earlier.id, voided=True) is not None
    assert "http://e.com/new-activity" in await store.activities(["http://e.com/new-activity"])
    assert await store.agent_names("mbox:mailto:cy@example.com") == ["Cy"]
    await store.close()


async def test_values_over_mongodb_s_document_limit_are_413_before_anything_is_written(
    anyio_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrs.store import _mongo_documents
    from lrs.xapi.attachments import Part
    from lrs.xapi.documents import STATE, Document, DocumentScope, Precondition
    from lrs.xapi.errors import XAPIError

    monkeypatch.setattr(_mongo_documents, "MAX_VALUE_BYTES", 2000)  # (read there by every size check)
    store = MongoStore("mongodb://mongomock/lrs_sizes", client=AsyncMongomockClient())
    await store.open()
    small, large = _prepared(), _prepared(result={"response": "x" * 3000})
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([small, large], define=False)
    assert err.value.status == 413
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([small], define=False, attachments=[Part("ab" * 32, "text/plain", b"x" * 3000)])
    assert err.value.status == 413
    assert await store.get_statement(small.id, voided=False) is None  # nothing of either batch
    scope = DocumentScope(STATE, "http://e.com/a", "mbox:mailto:a@example.com", None)
    with pytest.raises(XAPIError) as err:
        await store.save_document(scope, "s", Document.new(b"y" * 3000, "text/plain", "2026-01-01T00:00:00.000000Z"),
                                  merge=False, condition=Precondition())
    assert err.value.status == 413
    # A review: sizes were estimated in characters, and an id's bytes counted once, while the id is also
    # in two index keys: 150 emoji (600 bytes) in an object id make a 2,000-byte document of 370 characters.
    emoji = _prepared(object={"id": "http://e.com/" + "\U0001F600" * 150})
    assert len(emoji.data) < 500 and len(emoji.data.encode()) < 2000
    with pytest.raises(XAPIError) as err:
        await store.insert_statements([emoji], define=False)
    assert err.value.status == 413
    assert await store.get_statement(emoji.id, voided=False) is None
    # ... and a merge whose result is larger than a document may be, though each part fits
    put = Document.new(b'{"a":"' + b"y" * 1200 + b'"}', "application/json", "2026-01-01T00:00:00.000000Z")
    await store.save_document(scope, "m", put, merge=False, condition=Precondition())
    post = Document.new(b'{"b":"' + b"z" * 1200 + b'"}', "application/json", "2026-01-01T00:00:01.000000Z")
    with pytest.raises(XAPIError) as err:
        await store.save_document(scope, "m", post, merge=True, condition=Precondition())
    assert err.value.status == 413
    assert (await store.get_document(scope, "m")).contents == put.contents
    await store.close()


async def test_every_collection_is_made_at_open(anyio_backend) -> None:
    from lrs.store.mongo import COLLECTIONS

    store = MongoStore("mongodb://mongomock/lrs_collections", client=AsyncMongomockClient())
    await store.open()
    assert set(COLLECTIONS) <= set(await store._db.list_collection_names())
    await store.open()  # a second process opening the same database
    await store.close()


async def test_re_sending_another_credential_s_statement_does_not_void_it_for_the_sender(anyio_backend) -> None:
    """Settling reads who stored a statement from the database: a re-sent copy carries the sender's
    authority, and must not let a voiding statement of that sender void what another credential stored."""
    store = MongoStore("mongodb://mongomock/lrs_resend", client=AsyncMongomockClient())
    await store.open()
    other = {"objectType": "Agent", "account": {"homePage": "urn:test", "name": "other"}}
    target_id = str(uuid.uuid4())
    voiding = _prepared(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": target_id})
    await store.insert_statements([voiding], define=False, void_any=False)  # its target is not there yet
    target = _prepared(target_id, by=other)
    await store.insert_statements([target], define=False)  # another credential's: not voided on arrival
    assert await store.get_statement(target_id, voided=False) is not None
    copy = _prepared(target_id)  # the same statement, sent again by the voiding statement's credential
    copy.statement["stored"] = target.statement["stored"]
    assert await store.insert_statements([copy], define=False, void_any=False) == []
    assert await store.get_statement(target_id, voided=False) is not None
    await store.close()


# -- definitions merged by two requests at once (standalone server: no transactions) --------------

async def _standalone_store() -> MongoStore:
    store = MongoStore("mongodb://mongomock/lrs_define_race", client=AsyncMongomockClient())
    await store.open()
    return store


async def test_a_define_merge_that_loses_a_race_is_merged_into_the_winner(monkeypatch) -> None:
    from lrs.store._mongo_write import _digest
    from tests.store import mongomock_async
    from tests.store.test_contract import make

    aid = "http://example.com/activities/raced"
    store = await _standalone_store()
    try:
        await store.insert_statements([make(obj={"id": aid, "definition": {"name": {"en-US": "One"}}})], define=True)
        original = mongomock_async.AsyncCollection.update_one
        raced = []

        async def update_one(self, filter, update, *args, **kwargs):
            if not raced and "$or" in filter:  # another request's merge lands between our read and write
                raced.append(True)
                text = '{"name":{"en-US":"One","de":"Eins"}}'
                self._c.update_one({"_id": aid}, {"$set": {"definition": text, "sha": _digest(text.encode())}})
            return await original(self, filter, update, *args, **kwargs)

        monkeypatch.setattr(mongomock_async.AsyncCollection, "update_one", update_one)
        await store.insert_statements([make(obj={"id": aid, "definition": {"name": {"fr": "Un"}}})], define=True)
        assert raced
        assert (await store.activities([aid]))[aid] == {"name": {"en-US": "One", "de": "Eins", "fr": "Un"}}
    finally:
        await store.close()


async def test_a_define_insert_that_loses_a_race_is_merged_into_the_winner(monkeypatch) -> None:
    from tests.store import mongomock_async
    from tests.store.test_contract import make

    aid = "http://example.com/activities/raced-new"
    store = await _standalone_store()
    try:
        original = mongomock_async.AsyncCollection.insert_many
        raced = []

        async def insert_many(self, documents, *args, **kwargs):
            if not raced and any(d.get("_id") == aid for d in documents):  # another request records it first
                raced.append(True)
                self._c.insert_one({"_id": aid, "definition": '{"name":{"de":"Eins"}}'})
            return await original(self, documents, *args, **kwargs)

        monkeypatch.setattr(mongomock_async.AsyncCollection, "insert_many", insert_many)
        await store.insert_statements([make(obj={"id": aid, "definition": {"name": {"fr": "Un"}}})], define=True)
        assert raced
        assert (await store.activities([aid]))[aid] == {"name": {"de": "Eins", "fr": "Un"}}
        # without define, the definition recorded first stands
        other = "http://example.com/activities/raced-plain"
        raced.clear()
        aid = other
        await store.insert_statements([make(obj={"id": other, "definition": {"name": {"fr": "Un"}}})], define=False)
        assert raced and (await store.activities([other]))[other] == {"name": {"de": "Eins"}}
    finally:
        await store.close()


def test_a_forged_more_cursor_is_400_on_mongodb_too(client: TestClient) -> None:
    # The contract: a `more` link the LRS could not have issued is a 400 (SQLite checked its cursor's
    # sequence number; this store took any text after the stored value as a statement id).
    import base64

    assert client.post("/xapi/statements", json=[statement(n) for n in range(3)]).status_code == 200
    more = client.get("/xapi/statements", params={"limit": "1"}).json()["more"]
    token = more.split("more=", 1)[1]
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    stored, _, last_id = payload["c"].partition("|")

    def follow(cursor: str) -> int:
        raw = json.dumps({**payload, "c": cursor}, separators=(",", ":")).encode()
        forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return client.get("/xapi/statements", params={"more": forged}).status_code

    assert follow(payload["c"]) == 200
    for cursor in (f"{stored}|abc", f"{stored}|-1", f"{stored}|{last_id}\n", f"{stored}|{last_id[:-1]}"):
        assert follow(cursor) == 400, cursor


def test_in_look_ups_are_cut_to_fit_a_command() -> None:
    from lrs.store import _mongo_write

    ids = ["x" * 1_500_000 for _ in range(8)] + ["short"]
    chunks = _mongo_write._chunks(ids)
    assert [v for chunk in chunks for v in chunk] == ids
    assert all(sum(len(v) for v in chunk) <= _mongo_write.IN_BYTES for chunk in chunks) and len(chunks) == 4
    assert _mongo_write._chunks(["a", "b"]) == [["a", "b"]] and _mongo_write._chunks([]) == [[]]
    assert _mongo_write._chunks(["y" * (_mongo_write.IN_BYTES + 1)]) == [["y" * (_mongo_write.IN_BYTES + 1)]]


async def test_a_voiding_statement_sent_again_after_a_failed_request_voids_its_target(
    anyio_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the voiding statement was stored, then the request failed before its target was marked
    # (a standalone server after insert_many, or a replica set whose settling failed after the commit).
    # Sent again, it was not new, so nothing voided the target: it stayed readable for good.
    from lrs.store import _mongo_write

    store = MongoStore("mongodb://mongomock/lrs_resend_void", client=AsyncMongomockClient())
    await store.open()
    target = _prepared()
    await store.insert_statements([target], define=False)
    voiding = _prepared(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                        object={"objectType": "StatementRef", "id": target.id})

    async def fails(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the connection broke after the insert")

    real = _mongo_write._mark_voided
    monkeypatch.setattr(_mongo_write, "_mark_voided", fails)
    with pytest.raises(ConnectionError):
        await store.insert_statements([voiding], define=False)
    monkeypatch.setattr(_mongo_write, "_mark_voided", real)
    assert await store.get_statement(voiding.id, voided=False) is not None  # stored, target not voided yet
    assert await store.get_statement(target.id, voided=False) is not None
    assert await store.insert_statements([voiding], define=False) == []  # the client sends it again
    assert await store.get_statement(target.id, voided=False) is None
    assert await store.get_statement(target.id, voided=True) is not None
    await store.close()


@pytest.mark.parametrize("size", [10, 100_000])
async def test_a_definition_stored_before_digests_is_merged_into(size: int) -> None:
    """Activities written by earlier versions have no ``sha``: the compare-and-set takes them (as text
    when short), and the merge gives them one."""
    from tests.store.test_contract import make

    aid = "http://example.com/activities/legacy"
    store = await _standalone_store()
    try:
        old = {"name": {"en-US": "x" * size}}
        await store._c("activities").insert_one({"_id": aid, "definition": json.dumps(old)})
        await store.insert_statements([make(obj={"id": aid, "definition": {"name": {"fr": "Un"}}})], define=True)
        assert (await store.activities([aid]))[aid] == {"name": {"en-US": "x" * size, "fr": "Un"}}
        assert "sha" in await store._c("activities").find_one({"_id": aid})
    finally:
        await store.close()
