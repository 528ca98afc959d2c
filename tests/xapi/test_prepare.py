"""prepare(): what the LRS completes and indexes in one pass over a statement."""

from lrs.xapi import keys as K
from lrs.xapi.agents import ifi_key
from lrs.xapi.statements import prepare

PLAYER = {"objectType": "Agent", "account": {"homePage": "https://example.org/players", "name": "p1"}}
TEACHER = {"mbox": "mailto:teacher@example.org"}
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "urn:lrs", "name": "key1"}}
LEVEL = {"id": "https://example.org/level/1", "definition": {"name": {"en-US": "Level 1"}}}
GAME = {"id": "https://example.org/game", "definition": {"type": "https://example.org/types/game"}}
REG = "D1B7F464-1723-4C6E-9B5E-6D1F0A2B3C4D"


def statement(**extra):
    return {
        "actor": PLAYER,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": dict(LEVEL),
        "context": {"registration": REG, "instructor": TEACHER, "contextActivities": {"parent": dict(GAME)}},
        **extra,
    }


def test_keys_activities_and_context_arrays_of_a_statement() -> None:
    p = prepare(statement(), stored="2026-01-01T00:00:00.000000Z", authority=AUTHORITY, api_version="1.0.3")
    player, teacher, authority = ifi_key(PLAYER), ifi_key(TEACHER), ifi_key(AUTHORITY)
    assert p.keys == {
        K.verb("http://adlnet.gov/expapi/verbs/completed"),
        K.agent(player), K.agent(player, related=True),
        K.activity(LEVEL["id"]), K.activity(LEVEL["id"], related=True),
        K.registration(REG),
        K.agent(teacher, related=True),
        K.activity(GAME["id"], related=True),
        K.agent(authority, related=True), K.authority(authority),
    }
    assert K.registration(REG) == "r|" + REG.lower()
    assert p.activities == [(LEVEL["id"], LEVEL["definition"]), (GAME["id"], GAME["definition"])]
    assert p.statement["context"]["contextActivities"]["parent"] == [GAME]  # a single object becomes an array


def test_a_substatement_adds_related_keys_and_its_definitions_only() -> None:
    sub = {
        "objectType": "SubStatement", "actor": TEACHER, "verb": {"id": "http://example.org/verbs/planned"},
        "object": dict(LEVEL), "context": {"contextActivities": {"grouping": dict(GAME)}},
    }
    p = prepare(
        {"actor": PLAYER, "verb": {"id": "http://example.org/verbs/accepted"}, "object": sub},
        stored="2026-01-01T00:00:00.000000Z", authority=AUTHORITY, api_version="1.0.3",
    )
    teacher = ifi_key(TEACHER)
    assert K.agent(teacher, related=True) in p.keys and K.agent(teacher) not in p.keys
    assert K.activity(LEVEL["id"], related=True) in p.keys and K.activity(LEVEL["id"]) not in p.keys
    assert K.activity(GAME["id"], related=True) in p.keys
    assert p.activities == [(LEVEL["id"], LEVEL["definition"]), (GAME["id"], GAME["definition"])]
    assert p.statement["object"]["context"]["contextActivities"]["grouping"] == [GAME]


def test_agents_as_objects_and_group_members_are_keys() -> None:
    group = {"objectType": "Group", "member": [PLAYER, TEACHER]}
    p = prepare(
        {"actor": group, "verb": {"id": "http://example.org/verbs/mentored"}, "object": {"objectType": "Agent", **TEACHER}},
        stored="2026-01-01T00:00:00.000000Z", authority=AUTHORITY, api_version="1.0.3",
    )
    assert {K.agent(ifi_key(PLAYER)), K.agent(ifi_key(TEACHER))} <= p.keys
    assert p.activities == []


def test_account_keys_are_the_same_however_often_computed() -> None:
    assert ifi_key(PLAYER) == ifi_key({"account": {"name": "p1", "homePage": "https://example.org/players"}})
    assert ifi_key(PLAYER) == 'account:["https://example.org/players","p1"]'


def test_a_writer_compares_a_resent_batch_without_keeping_every_statement_parsed() -> None:
    """A writer process gets statements as rows (JSON text); comparing a re-sent batch with what is
    stored parses each one, and must not keep them all parsed (a 20,000-statement retry held 100 MB)."""
    from lrs.xapi.statements import PreparedStatement, not_stored

    sent = [prepare(statement(), stored="2026-01-01T00:00:00.000000Z", authority=AUTHORITY, api_version="1.0.3")
            for _ in range(3)]
    in_writer = [PreparedStatement.from_row(p.to_row()) for p in sent]
    assert not_stored(in_writer, {p.id: p.data for p in sent}) == []  # all stored already: an equivalent re-send
    assert all(p.statement is None for p in in_writer)
    assert in_writer[0].document() == sent[0].document()
