"""GET /statements: single statements, StatementResult, filters, StatementRef filtering, formats, paging.

Spec: xAPI 1.0.3 Communication §2.1.3 (incl. "Filter Conditions for StatementRefs" and
"Language Filtering Requirements for Canonical Format Statements"); Data §2.5; 9274.1.1 §4.1.6.1.
"""

from __future__ import annotations

import json
from datetime import timedelta, timezone

import pytest

from tests.conftest import new_id
from tests.http.helpers import (
    STATEMENTS,
    activity,
    activity_id,
    agent,
    assert_error,
    each,
    follow_all,
    get_statement,
    ids_of,
    ifi,
    parse_ts,
    query,
    result,
    statement_ref,
    store,
    store_each,
    verb,
)

V2 = {"X-Experience-API-Version": "2.0.0"}


def stored_of(client, sid: str) -> str:
    return get_statement(client, sid)["stored"]


def numbered(statement, n: int, **overrides):
    """n statements that differ by object activity, posted one request each; ids oldest first."""
    return [statement(object=activity(f"a{i}"), **overrides) for i in range(n)]


# -- single statements -------------------------------------------------------------------

def test_get_by_statement_id_returns_that_statement(client, statement):  # XAPI-00156, XAPI-00158
    sid = new_id()
    store(client, statement(id=sid))
    response = client.get(STATEMENTS, params={"statementId": sid})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["id"] == sid and "statements" not in body


def test_get_unknown_statement_id_returns_404(client):
    assert_error(client.get(STATEMENTS, params={"statementId": new_id()}), 404)


def test_get_single_with_non_uuid_id_returns_400(client):
    assert_error(client.get(STATEMENTS, params={"statementId": "not-a-uuid"}), 400)
    assert_error(client.get(STATEMENTS, params={"voidedStatementId": "not-a-uuid"}), 400)


OTHER_PARAMS = {
    "agent": '{"mbox": "mailto:ada@example.com"}',
    "verb": "http://adlnet.gov/expapi/verbs/experienced",
    "activity": "http://example.com/activities/level-1",
    "registration": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    "related_activities": "false",
    "related_agents": "false",
    "since": "2000-01-01T00:00:00Z",
    "until": "2100-01-01T00:00:00Z",
    "limit": "1",
    "ascending": "false",
}


def test_get_single_with_another_filter_param_returns_400(client, statement):  # XAPI-00150, XAPI-00151
    sid = new_id()
    store(client, statement(id=sid))

    def check(case):
        id_param, (name, value) = case
        assert_error(client.get(STATEMENTS, params={id_param: sid, name: value}), 400)

    each([(p, item) for p in ("statementId", "voidedStatementId") for item in OTHER_PARAMS.items()], check)


def test_get_single_with_format_and_attachments_is_allowed(client, statement):  # XAPI-00151
    sid = new_id()
    store(client, statement(id=sid))
    for params in ({"format": "ids"}, {"attachments": "false"}, {"format": "exact", "attachments": "false"}):
        response = client.get(STATEMENTS, params={"statementId": sid, **params})
        assert response.status_code == 200, (params, response.text)
        assert response.json()["id"] == sid


def test_statement_id_and_voided_statement_id_together_return_400(client, statement):
    sid = new_id()
    store(client, statement(id=sid))
    assert_error(client.get(STATEMENTS, params={"statementId": sid, "voidedStatementId": sid}), 400)


# -- StatementResult -----------------------------------------------------------------------

def test_get_without_params_returns_statement_result_newest_first(client, statement):  # XAPI-00154, XAPI-00110
    ids = store_each(client, *numbered(statement, 3))
    response = query(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) <= {"statements", "more"}
    assert [s["id"] for s in body["statements"]] == ids[::-1]


def test_empty_result_is_200_with_an_empty_statements_array(client):  # XAPI-00149, XAPI-00112, XAPI-00109
    body = result(client, verb="http://example.com/verbs/never")
    assert body["statements"] == []
    assert body.get("more", "") == ""


def test_ascending_returns_oldest_first(client, statement):  # XAPI-00166
    ids = store_each(client, *numbered(statement, 3))
    assert ids_of(client, ascending=True) == ids
    assert ids_of(client, ascending=False) == ids[::-1]


def test_contextactivities_are_returned_as_arrays(client, statement):  # XAPI-00096
    sid = new_id()
    store(client, statement(id=sid, context={"contextActivities": {"parent": activity("course"),
                                                                      "grouping": [activity("program")]}}))
    context = get_statement(client, sid)["context"]["contextActivities"]
    assert context["parent"] == [activity("course")]
    assert context["grouping"] == [activity("program")]


# -- limit and paging (Data §2.5) -------------------------------------------------------------

def test_limit_returns_at_most_that_many_with_a_more_link(client, statement):  # XAPI-00173, XAPI-00113
    ids = store_each(client, *numbered(statement, 3))
    body = result(client, limit=2)
    assert [s["id"] for s in body["statements"]] == ids[:0:-1]
    assert body.get("more"), body


def test_limit_zero_returns_everything_up_to_the_server_maximum(client, statement):  # XAPI-00173
    ids = store_each(client, *numbered(statement, 4))
    assert ids_of(client, limit=0) == ids[::-1]


def test_invalid_limit_returns_400(client):
    each(["-1", "abc", "1.5", ""], lambda value: assert_error(query(client, limit=value), 400))


def test_following_more_returns_every_statement_once_in_order(client, statement):  # XAPI-00108, XAPI-00111, XAPI-00114
    ids = store_each(client, *numbered(statement, 7))
    pages = follow_all(client, result(client, limit=2))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [sid for page in pages for sid in page] == ids[::-1]


def test_following_more_in_ascending_order(client, statement):
    ids = store_each(client, *numbered(statement, 5))
    pages = follow_all(client, result(client, limit=2, ascending=True))
    assert [sid for page in pages for sid in page] == ids


def test_more_link_keeps_the_filters(client, statement):
    wanted = []
    for i in range(6):
        sid = store(client, statement(verb=verb("picked" if i % 2 else "skipped")))[0]
        if i % 2:
            wanted.append(sid)
    pages = follow_all(client, result(client, verb="http://example.com/verbs/picked", limit=1))
    assert [sid for page in pages for sid in page] == wanted[::-1]


def test_more_link_is_a_relative_path_into_the_api(client, statement):  # Data §2.5 "more"
    store_each(client, *numbered(statement, 2))
    more = result(client, limit=1)["more"]
    assert more.startswith("/xapi/statements"), more
    assert "://" not in more


def test_statement_inserted_between_page_fetches_does_not_disturb_descending_paging(client, statement):
    ids = store_each(client, *numbered(statement, 5))
    first = result(client, limit=2)
    assert [s["id"] for s in first["statements"]] == ids[:2:-1]
    newcomer = store(client, statement(object=activity("late")))[0]
    pages = follow_all(client, first)
    seen = [sid for page in pages for sid in page]
    assert seen == ids[::-1]
    assert newcomer not in seen


def test_statement_inserted_between_page_fetches_in_ascending_paging_keeps_every_original_once(client, statement):
    ids = store_each(client, *numbered(statement, 5))
    first = result(client, limit=2, ascending=True)
    newcomer = store(client, statement(object=activity("late")))[0]
    seen = [sid for page in follow_all(client, first) for sid in page]
    assert [sid for sid in seen if sid != newcomer] == ids
    assert seen.count(newcomer) <= 1


def test_more_link_needs_credentials(client, statement):
    store_each(client, *numbered(statement, 2))
    more = result(client, limit=1)["more"]
    assert client.get(more, auth=None).status_code == 401


def test_garbage_more_token_returns_400(client, statement):
    store_each(client, *numbered(statement, 2))
    more = result(client, limit=1)["more"]
    base, _, _ = more.partition("?")
    assert_error(client.get(base, params={"more": "not-a-token"}), 400)


class TestServerMaximum:
    """With a server maximum of 3 statements per page (Settings.max_limit)."""

    @pytest.fixture
    def settings(self, settings):
        return settings.with_(max_limit=3)

    def test_no_limit_or_limit_zero_or_a_larger_limit_return_the_server_maximum(self, client, statement):  # XAPI-00173
        ids = store_each(client, *numbered(statement, 5))
        for params in ({}, {"limit": 0}, {"limit": 10}):
            body = result(client, **params)
            assert [s["id"] for s in body["statements"]] == ids[:1:-1], params
            assert body.get("more"), params

    def test_following_more_past_the_server_maximum_returns_everything(self, client, statement):
        ids = store_each(client, *numbered(statement, 8))
        pages = follow_all(client, result(client, limit=0))
        assert [len(p) for p in pages] == [3, 3, 2]
        assert [sid for page in pages for sid in page] == ids[::-1]


# -- since / until ------------------------------------------------------------------------------

def test_since_is_exclusive_and_until_is_inclusive(client, statement):  # XAPI-00174, XAPI-00175
    s1, s2, s3 = store_each(client, *numbered(statement, 3))
    t1, t2, t3 = (stored_of(client, s) for s in (s1, s2, s3))
    assert parse_ts(t1) < parse_ts(t2) < parse_ts(t3), "precondition: distinct stored times"
    assert ids_of(client, since=t1) == [s3, s2]
    assert ids_of(client, until=t2) == [s2, s1]
    assert ids_of(client, since=t1, until=t2) == [s2]
    assert ids_of(client, since=t3) == []


def test_since_and_until_accept_other_timezones(client, statement):
    s1, s2 = store_each(client, *numbered(statement, 2))
    t1 = parse_ts(stored_of(client, s1))
    plus_two = t1.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="microseconds")
    assert ids_of(client, since=plus_two) == [s2]
    assert ids_of(client, until=plus_two) == [s1]


def test_invalid_since_or_until_returns_400(client):
    for name in ("since", "until"):
        each(["yesterday", "2024-13-01T00:00:00Z", ""], lambda value: assert_error(query(client, **{name: value}), 400))


# -- agent / verb / activity / registration filters -----------------------------------------------

def test_agent_filter_matches_the_actor(client, statement):  # XAPI-00181
    ann, _ = store(client, statement(actor=agent("ann")), statement(actor=agent("bob")))
    assert ids_of(client, agent=ifi("ann")) == [ann]
    assert ids_of(client, agent=agent("ann")) == [ann]


def test_agent_filter_matches_an_agent_as_object(client, statement):
    sid = store(client, statement(object=agent("ann")))[0]
    store(client, statement(object=agent("bob")))
    assert ids_of(client, agent=ifi("ann")) == [sid]


def test_agent_filter_matches_group_members(client, statement):
    anonymous = {"objectType": "Group", "member": [agent("bob"), agent("ann")]}
    identified = {"objectType": "Group", "mbox": "mailto:team@example.com", "member": [agent("ann")]}
    s1, s2, s3 = store_each(client, statement(actor=anonymous), statement(actor=identified),
                            statement(object={"objectType": "Group", "member": [agent("ann")]}))
    store(client, statement(actor={"objectType": "Group", "member": [agent("cat")]}))
    assert sorted(ids_of(client, agent=ifi("ann"))) == sorted([s1, s2, s3])
    assert ids_of(client, agent={"objectType": "Group", "mbox": "mailto:team@example.com"}) == [s2]


def test_agent_filter_matches_every_kind_of_ifi(client, statement):
    account = {"account": {"homePage": "http://example.com/lms", "name": "u-17"}}
    openid = {"openid": "http://example.com/openid/u-17"}
    sha1 = {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}
    sids = store(client, statement(actor=account), statement(actor=openid), statement(actor=sha1))
    store(client, statement(actor={"account": {"homePage": "http://example.com/lms", "name": "u-18"}}))
    store(client, statement(actor={"account": {"homePage": "http://example.com/other", "name": "u-17"}}))
    for sid, who in zip(sids, (account, openid, sha1)):
        assert ids_of(client, agent=who) == [sid], who


def test_agent_filter_without_related_agents_ignores_other_places(client, statement):
    store(client, *_related_agent_statements(statement, "ann"))
    assert ids_of(client, agent=ifi("ann")) == []


def _related_agent_statements(statement, who):
    sub = {"objectType": "SubStatement", "actor": agent("cat"), "verb": verb("saw"), "object": activity("x")}
    return [
        statement(context={"instructor": agent(who)}),
        statement(context={"team": {"objectType": "Group", "member": [agent(who), agent("bob")]}}),
        statement(context={"team": {"objectType": "Group", "mbox": f"mailto:{who}-team@example.com", "member": [agent(who)]}}),
        statement(object={**sub, "actor": agent(who)}),
        statement(object={**sub, "object": agent(who)}),
        statement(object={**sub, "actor": {"objectType": "Group", "member": [agent(who)]}}),
        statement(object={**sub, "context": {"instructor": agent(who)}}),
        statement(object={**sub, "context": {"team": {"objectType": "Group", "member": [agent(who)]}}}),
    ]


def test_related_agents_matches_instructor_team_and_substatement(client, statement):  # XAPI-00176
    related = store(client, *_related_agent_statements(statement, "ann"))
    unrelated = store(client, statement(context={"instructor": agent("bob")}))
    assert sorted(ids_of(client, agent=ifi("ann"), related_agents=True)) == sorted(related)
    assert unrelated[0] not in ids_of(client, agent=ifi("ann"), related_agents=True)
    # related_agents=false behaves like the plain filter
    assert ids_of(client, agent=ifi("ann"), related_agents=False) == []


def test_related_agents_matches_the_authority(client, statement, credential):  # XAPI-00176
    writer = credential("statements/write")
    mine = store(client, statement(), auth=writer)[0]
    store(client, statement())  # by the admin
    authority = get_statement(client, mine)["authority"]
    assert ids_of(client, agent=authority, related_agents=True) == [mine]
    assert ids_of(client, agent=authority) == []


def test_v2_related_agents_matches_context_agents_and_groups(client, statement):  # 9274.1.1 §4.1.6.1
    context = {
        "contextAgents": [{"objectType": "contextAgent", "agent": agent("ann")}],
        "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [agent("bob")]}}],
    }
    sid = store(client, statement(context=context), headers=V2)[0]
    store(client, statement(), headers=V2)
    for who in ("ann", "bob"):
        response = client.get(STATEMENTS, params={"agent": f'{{"mbox": "mailto:{who}@example.com"}}',
                                                  "related_agents": "true"}, headers=V2)
        assert response.status_code == 200, response.text
        assert [s["id"] for s in response.json()["statements"]] == [sid], who


def test_verb_filter(client, statement):  # XAPI-00180
    sid, _ = store(client, statement(verb=verb("passed")), statement(verb=verb("failed")))
    assert ids_of(client, verb="http://example.com/verbs/passed") == [sid]


def _related_activity_statements(statement, name):
    sub = {"objectType": "SubStatement", "actor": agent("cat"), "verb": verb("saw"), "object": activity("x")}
    return [
        statement(object=activity("other"), context={"contextActivities": {"parent": [activity(name)]}}),
        statement(object=activity("other"), context={"contextActivities": {"grouping": [activity(name)]}}),
        statement(object=activity("other"), context={"contextActivities": {"category": [activity(name)]}}),
        statement(object=activity("other"), context={"contextActivities": {"other": [activity(name)]}}),
        statement(object={**sub, "object": activity(name)}),
        statement(object={**sub, "context": {"contextActivities": {"parent": [activity(name)]}}}),
    ]


def test_activity_filter_matches_the_object_activity_only(client, statement):  # XAPI-00179
    direct = store(client, statement(object=activity("target")))[0]
    store(client, *_related_activity_statements(statement, "target"))
    assert ids_of(client, activity=activity_id("target")) == [direct]


def test_related_activities_matches_context_activities_and_substatement(client, statement):  # XAPI-00177
    direct = store(client, statement(object=activity("target")))[0]
    related = store(client, *_related_activity_statements(statement, "target"))
    store(client, statement(object=activity("elsewhere")))
    found = ids_of(client, activity=activity_id("target"), related_activities=True)
    assert sorted(found) == sorted([direct, *related])


def test_registration_filter(client, statement):  # XAPI-00178
    r1, r2 = new_id(), new_id()
    s1, _, _ = store(client, statement(context={"registration": r1}), statement(context={"registration": r2}), statement())
    assert ids_of(client, registration=r1) == [s1]


def test_uuids_are_matched_case_insensitively(client, statement):  # RFC 4122: case-insensitive on input
    reg, sid = new_id(), new_id()
    store(client, statement(id=sid.upper(), context={"registration": reg}))
    assert get_statement(client, sid)["id"].lower() == sid
    assert get_statement(client, sid.upper())["id"].lower() == sid
    assert [i.lower() for i in ids_of(client, registration=reg.upper())] == [sid]


def test_related_agents_matches_an_identified_team_by_its_own_ifi(client, statement):
    team = {"objectType": "Group", "mbox": "mailto:red-team@example.com", "member": [agent("ann")]}
    sid = store(client, statement(context={"team": team}))[0]
    assert ids_of(client, agent={"objectType": "Group", "mbox": "mailto:red-team@example.com"}, related_agents=True) == [sid]


def test_filters_combine(client, statement):  # XAPI-00164
    reg = new_id()
    match = store(client, statement(actor=agent("ann"), verb=verb("passed"), context={"registration": reg}))[0]
    store(client,
          statement(actor=agent("bob"), verb=verb("passed"), context={"registration": reg}),
          statement(actor=agent("ann"), verb=verb("failed"), context={"registration": reg}),
          statement(actor=agent("ann"), verb=verb("passed")))
    assert ids_of(client, agent=ifi("ann"), verb="http://example.com/verbs/passed", registration=reg) == [match]


def test_invalid_filter_values_return_400(client):
    cases = [
        ("agent", "not json"),
        ("agent", '{"name": "no ifi"}'),
        ("agent", '{"mbox": "ann@example.com"}'),
        ("agent", '{"objectType": "Group", "member": [{"mbox": "mailto:ann@example.com"}]}'),
        ("agent", "[]"),
        ("verb", "not an iri"),
        ("activity", "not an iri"),
        ("registration", "not-a-uuid"),
        ("ascending", "yes"),
        ("related_agents", "1"),
        ("related_activities", "tru"),
        ("format", "full"),
        ("attachments", "maybe"),
    ]
    each(cases, lambda case: assert_error(client.get(STATEMENTS, params=dict([case])), 400))


# -- Filter Conditions for StatementRefs (Communication §2.1.3) -------------------------------------

def ben_passed(statement, **extra):
    return statement(actor=agent("ben"), verb=verb("passed"), object=activity("explosives"), **extra)


def andrew_confirmed(statement, target_id, **extra):
    return statement(actor=agent("andrew"), verb=verb("confirmed"), object=statement_ref(target_id), **extra)


def test_statements_targeting_a_match_are_returned_by_filters(client, statement):
    original, confirmation = new_id(), new_id()
    store_each(client, ben_passed(statement, id=original), andrew_confirmed(statement, original, id=confirmation))
    store(client, statement(actor=agent("cat")))
    expected = [confirmation, original]
    assert ids_of(client, agent=ifi("ben")) == expected
    assert ids_of(client, activity=activity_id("explosives")) == expected
    assert ids_of(client, verb="http://example.com/verbs/passed") == expected
    assert ids_of(client, agent=ifi("andrew")) == [confirmation]


def test_statement_ref_filtering_is_recursive(client, statement):
    c, b, a = new_id(), new_id(), new_id()
    store_each(client, ben_passed(statement, id=c), andrew_confirmed(statement, c, id=b),
               statement(actor=agent("cat"), verb=verb("noted"), object=statement_ref(b), id=a))
    assert ids_of(client, agent=ifi("ben")) == [a, b, c]
    assert ids_of(client, activity=activity_id("explosives")) == [a, b, c]
    assert ids_of(client, agent=ifi("andrew")) == [a, b]


def test_statement_ref_filtering_applies_when_the_target_arrives_later(client, statement):
    original, confirmation = new_id(), new_id()
    store_each(client, andrew_confirmed(statement, original, id=confirmation), ben_passed(statement, id=original))
    assert sorted(ids_of(client, agent=ifi("ben"))) == sorted([original, confirmation])
    assert sorted(ids_of(client, activity=activity_id("explosives"))) == sorted([original, confirmation])


def test_statement_ref_filtering_applies_to_registration(client, statement):
    reg = new_id()
    original, confirmation = new_id(), new_id()
    store_each(client, ben_passed(statement, id=original, context={"registration": reg}),
               andrew_confirmed(statement, original, id=confirmation))
    assert ids_of(client, registration=reg) == [confirmation, original]


def test_time_filters_apply_to_the_targeting_statement(client, statement):
    original, confirmation = new_id(), new_id()
    store_each(client, ben_passed(statement, id=original), andrew_confirmed(statement, original, id=confirmation))
    t_original = stored_of(client, original)
    assert ids_of(client, agent=ifi("ben"), since=t_original) == [confirmation]
    assert ids_of(client, agent=ifi("ben"), until=t_original) == [original]
    body = result(client, agent=ifi("ben"), limit=1)
    assert [s["id"] for s in body["statements"]] == [confirmation]


def test_context_statement_refs_do_not_affect_filtering(client, statement):
    original = new_id()
    store(client, ben_passed(statement, id=original))
    store(client, statement(actor=agent("andrew"), context={"statement": statement_ref(original)}))
    assert ids_of(client, agent=ifi("ben")) == [original]


def test_statement_ref_rules_do_not_apply_to_single_gets(client, statement):
    original, confirmation = new_id(), new_id()
    store_each(client, ben_passed(statement, id=original), andrew_confirmed(statement, original, id=confirmation))
    assert get_statement(client, confirmation)["object"] == statement_ref(original)


# -- format (XAPI-00168..00172) ------------------------------------------------------------------------

def rich(statement, sid):
    return statement(
        id=sid,
        actor=agent("ann"),
        verb={"id": "http://example.com/verbs/answered", "display": {"en-US": "answered", "fr": "a répondu", "de": "beantwortete"}},
        object={
            "objectType": "Activity",
            "id": "http://example.com/activities/q1",
            "definition": {
                "name": {"en-US": "Question 1", "fr": "Question une", "de": "Frage 1"},
                "description": {"en-US": "Pick one", "fr": "Choisissez", "de": "Wähle"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "choices": [
                    {"id": "a", "description": {"en-US": "Yes", "fr": "Oui", "de": "Ja"}},
                    {"id": "b", "description": {"en-US": "No", "fr": "Non", "de": "Nein"}},
                ],
            },
        },
        result={"response": "a", "success": True},
        context={
            "instructor": agent("ian"),
            "contextActivities": {"parent": [{"id": "http://example.com/activities/quiz", "objectType": "Activity",
                                              "definition": {"name": {"en-US": "Quiz", "fr": "Quiz FR"}}}]},
        },
    )


def test_format_exact_is_the_default(client, statement):  # XAPI-00168, XAPI-00170
    sid = new_id()
    sent = rich(statement, sid)
    store(client, sent)
    default = get_statement(client, sid)
    assert get_statement(client, sid, format="exact") == default
    for key in ("actor", "verb", "object", "result", "context"):
        assert default[key] == sent[key], key
    [listed] = result(client, format="exact")["statements"]
    assert listed == default


def test_format_ids_reduces_agents_activities_and_verbs(client, statement):  # XAPI-00171
    sid = new_id()
    store(client, rich(statement, sid))
    for got in (get_statement(client, sid, format="ids"), result(client, format="ids")["statements"][0]):
        assert got["actor"].get("mbox") == "mailto:ann@example.com" and "name" not in got["actor"]
        assert got["verb"] == {"id": "http://example.com/verbs/answered"}
        assert got["object"]["id"] == "http://example.com/activities/q1"
        assert got["object"] == {"id": "http://example.com/activities/q1"}  # objectType Activity is the default
        assert "name" not in got["context"]["instructor"]
        parent = got["context"]["contextActivities"]["parent"][0]
        assert parent == {"id": "http://example.com/activities/quiz"}
        assert got["result"] == {"response": "a", "success": True}
        assert "name" not in got["authority"]


def test_format_ids_keeps_members_of_anonymous_groups_by_ifi(client, statement):  # XAPI-00171
    sid = new_id()
    group = {"objectType": "Group", "name": "Pair", "member": [agent("ann"), agent("bob")]}
    store(client, statement(id=sid, actor=group, object={"objectType": "Group", "name": "Named",
                                                          "mbox": "mailto:t@example.com", "member": [agent("cat")]}))
    got = get_statement(client, sid, format="ids")
    assert "name" not in got["actor"]
    assert sorted(m["mbox"] for m in got["actor"]["member"]) == ["mailto:ann@example.com", "mailto:bob@example.com"]
    assert all("name" not in m for m in got["actor"]["member"])
    assert got["object"]["mbox"] == "mailto:t@example.com" and "name" not in got["object"]


def test_format_ids_reduces_substatements(client, statement):
    sid = new_id()
    sub = {"objectType": "SubStatement", "actor": agent("bob"), "verb": verb("saw"),
           "object": activity("film", name={"en-US": "Film"})}
    store(client, statement(id=sid, object=sub))
    got = get_statement(client, sid, format="ids")["object"]
    assert got["objectType"] == "SubStatement"
    assert "name" not in got["actor"]
    assert got["verb"] == {"id": "http://example.com/verbs/saw"}
    assert got["object"] == {"id": "http://example.com/activities/film"}


def canonical(client, sid, accept_language=None):
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    response = client.get(STATEMENTS, params={"statementId": sid, "format": "canonical"}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def activity_maps(got):
    definition = got["object"]["definition"]
    maps = [definition["name"], definition["description"]]
    maps += [choice["description"] for choice in definition["choices"]]
    return maps


@pytest.mark.parametrize(
    "accept_language, expected",
    [("fr", "fr"), ("de", "de"), ("de;q=0.5, fr;q=0.9", "fr"), ("en", "en-US"), ("ja, fr;q=0.1", "fr"), ("FR", "fr"),
     ("fr;q=0.2, *;q=0.1", "fr"), ("*", None), ("ja", None), (None, None)],
)
def test_format_canonical_returns_one_language_per_activity_map(client, statement, accept_language, expected):
    # XAPI-00169, XAPI-00172; Communication §2.1.3 "Language Filtering Requirements"
    sid = new_id()
    store(client, rich(statement, sid))
    got = canonical(client, sid, accept_language)
    for language_map in activity_maps(got):
        assert len(language_map) == 1, language_map
        if expected is not None:
            assert list(language_map) == [expected], language_map
    parent = got["context"]["contextActivities"]["parent"][0]
    if "definition" in parent:
        assert len(parent["definition"]["name"]) == 1, parent


def test_format_canonical_never_picks_a_language_the_client_refused(client, statement):
    # RFC 2616 §14.4 / §3.9: a quality of 0 means "not acceptable".
    sid = new_id()
    store(client, rich(statement, sid))
    for header in ("ja, en-US;q=0", "en-US;q=0, de;q=0"):
        got = canonical(client, sid, header)
        for language_map in activity_maps(got):
            assert len(language_map) == 1 and "en-US" not in language_map, (header, language_map)
    got = canonical(client, sid, "en-US;q=0, de;q=0")
    assert got["object"]["definition"]["name"] == {"fr": "Question une"}


@pytest.mark.parametrize(
    "accept_language, expected",
    [("en;q=0.8, en-US;q=0.1", "en-GB"), ("en-US;q=0.1, en", "en-GB"), ("en, en-GB;q=0", "en-US"),
     ("en-GB;q=0.9, en", "en-US"), ("*, en-US;q=0.5", "en-GB"), ("en-US;q=0.5, *;q=0.6", "en-GB")],
)
def test_format_canonical_gives_a_language_the_quality_of_the_longest_range_matching_it(
    client, statement, accept_language, expected
):
    # RFC 2616 §14.4 (Communication §2.1.3.s4.b5): "the quality value of the longest language-range in
    # the field that matches the language-tag". Found by a review: with "en;q=0.8, en-US;q=0.1" the
    # first tag the "en" range matched (en-US, which the client rates 0.1) was returned.
    sid = new_id()
    store(client, statement(
        id=sid, verb={"id": "http://example.com/verbs/coloured", "display": {"en-US": "colored", "en-GB": "coloured"}},
        object={"objectType": "Activity", "id": "http://example.com/activities/colour",
                "definition": {"name": {"en-US": "Color", "en-GB": "Colour"}}},
    ))
    got = canonical(client, sid, accept_language)
    assert list(got["verb"]["display"]) == [expected]
    assert list(got["object"]["definition"]["name"]) == [expected]


def test_format_canonical_reads_the_first_32_distinct_ranges_of_accept_language(client, statement):
    # Found by a 5xx hunt: 100,000 ranges ("a,a,a,...") took 50 s a request, the event loop blocked.
    sid = new_id()
    store(client, rich(statement, sid))
    filler = ",".join(f"x{i}" for i in range(32))
    assert canonical(client, sid, "ja," * 50000 + "fr")["object"]["definition"]["name"] == {"fr": "Question une"}
    got = canonical(client, sid, f"ja,{filler},fr")  # fr is the 34th distinct range: not read
    assert got["object"]["definition"]["name"] != {"fr": "Question une"}
    got = canonical(client, sid, f"{filler[:-4]},fr")  # the 32nd
    assert got["object"]["definition"]["name"] == {"fr": "Question une"}


def test_format_canonical_applies_accept_language_to_the_list_as_well(client, statement):
    sid = new_id()
    store(client, rich(statement, sid))
    response = client.get(STATEMENTS, params={"format": "canonical"}, headers={"Accept-Language": "de"})
    assert response.status_code == 200
    [got] = response.json()["statements"]
    assert got["object"]["definition"]["name"] == {"de": "Frage 1"}


def test_format_canonical_returns_one_language_of_verb_display(client, statement):  # Communication §2.1.3
    sid = new_id()
    store(client, rich(statement, sid))
    got = canonical(client, sid, "fr")
    if "display" in got["verb"]:
        assert got["verb"]["display"] == {"fr": "a répondu"}


def test_format_canonical_keeps_agents_exact(client, statement):
    sid = new_id()
    sent = rich(statement, sid)
    store(client, sent)
    got = canonical(client, sid, "fr")
    assert got["actor"] == sent["actor"]
    assert got["context"]["instructor"] == sent["context"]["instructor"]


def test_definitions_sent_without_the_define_scope_do_not_change_the_canonical_one(client, statement, credential):
    # Communication §4.2 "define": without it the LRS SHOULD NOT update its canonical representation.
    writer = credential("statements/write")
    first, second = new_id(), new_id()
    store(client, statement(id=first, object=activity("course", name={"en-US": "Original"})))
    store(client, statement(id=second, object=activity("course", name={"en-US": "Hijacked"})), auth=writer)
    for sid in (first, second):
        assert canonical(client, sid, "en-US")["object"]["definition"]["name"] == {"en-US": "Original"}
    assert get_statement(client, second)["object"]["definition"]["name"] == {"en-US": "Hijacked"}


def test_format_canonical_uses_one_definition_per_activity_but_exact_keeps_what_was_sent(client, statement):
    # Data §2.3.1: Activity Definitions are not part of the statement; exact keeps what was received.
    bare, old, new = new_id(), new_id(), new_id()
    store_each(
        client,
        statement(id=old, object=activity("course", name={"en-US": "Old name"})),
        statement(id=new, object=activity("course", name={"en-US": "New name"}, description={"en-US": "Desc"})),
        statement(id=bare, object=activity("course")),
    )
    assert get_statement(client, old)["object"]["definition"] == {"name": {"en-US": "Old name"}}
    assert "definition" not in get_statement(client, bare)["object"]
    definitions = [canonical(client, sid, "en-US")["object"].get("definition") for sid in (old, new, bare)]
    assert definitions[0] == definitions[1] == definitions[2]
    assert definitions[0] is not None


# -- attachments parameter -------------------------------------------------------------------------------

def test_attachments_false_answers_json(client, statement):  # XAPI-00161
    sid = new_id()
    store(client, statement(id=sid))
    for params in ({"attachments": "false"}, {"attachments": "false", "statementId": sid}):
        response = client.get(STATEMENTS, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")


def test_attachments_true_answers_multipart_also_without_attachments(client, statement):  # XAPI-00167
    sid = new_id()
    store(client, statement(id=sid))
    response = client.get(STATEMENTS, params={"attachments": "true"})
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/mixed")
    boundary = content_type.split("boundary=", 1)[1].strip('"')
    first, end = response.content.split(b"--" + boundary.encode())[1:3]
    assert end.startswith(b"--")  # one part: the StatementResult
    head, _, body = first.partition(b"\r\n\r\n")
    assert b"application/json" in head
    assert [s["id"] for s in json.loads(body)["statements"]] == [sid]


# -- what real client libraries send beside the spec ------------------------------------------

def test_boolean_parameters_in_any_case(client, statement):  # TinCanPython sends str(True) == "True"
    ids = store_each(client, *numbered(statement, 3))
    assert [s["id"] for s in client.get(STATEMENTS, params={"ascending": "True"}).json()["statements"]] == ids
    assert [s["id"] for s in client.get(STATEMENTS, params={"ascending": "FALSE"}).json()["statements"]] == ids[::-1]
    response = client.get(STATEMENTS, params={"related_activities": "True", "related_agents": "False",
                                              "attachments": "False"})
    assert response.status_code == 200, response.text
    each(["yes", "1", "t", ""], lambda value: assert_error(query(client, ascending=value), 400))


def test_cachebuster_is_ignored_and_other_unknown_parameters_are_not(client, statement):
    # xapi.js's useCacheBuster adds cachebuster=<milliseconds> to every GET.
    sid = store(client, statement())[0]
    response = client.get(STATEMENTS, params={"statementId": sid, "cachebuster": "1700000000000"})
    assert response.status_code == 200, response.text
    response = client.get(STATEMENTS, params={"limit": 1, "cachebuster": "1"})
    assert [s["id"] for s in response.json()["statements"]] == [sid]
    response = client.get("/xapi/activities/state", params={
        "activityId": "http://example.com/activities/a", "agent": '{"mbox": "mailto:a@example.com"}',
        "cachebuster": "1"})
    assert response.status_code == 200, response.text
    assert_error(client.get(STATEMENTS, params={"limit": 1, "cachebuster2": "1"}), 400)
    assert_error(client.get(STATEMENTS, params={"limit": 1, "Cachebuster": "1"}), 400)


def test_more_followed_with_a_doubled_slash(client, statement):
    # TinCan.NET builds <scheme://host> + "/" + more, and more starts with "/".
    ids = store_each(client, *numbered(statement, 3))
    more = result(client, limit=2)["more"]
    root = str(client.base_url).rstrip("/")  # (a bare "//x" would be read as a host by the test client)
    response = client.get(root + "/" + more)
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["statements"]] == ids[:1]
    assert client.get(root + "//xapi//about").status_code == 200
