"""The shipped xAPI-SG companion profile against real tracker statements and the profile mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrs.profiles import load_profile
from lrs.xapi.errors import XAPIError
from lrs.xapi.validate import validate_statement

DATA = Path(__file__).resolve().parent.parent / "data"
VALID = sorted((DATA / "sg-examples").rglob("*.json")) + sorted((DATA / "sg-profile-cases" / "valid").glob("*.json"))
MISTAKES = json.loads((DATA / "sg-profile-cases" / "profile-mistakes" / "cases.json").read_text())
INVALID = json.loads((DATA / "sg-profile-cases" / "invalid-xapi" / "cases.json").read_text())


@pytest.fixture(scope="module")
def sg():
    return load_profile("seriousgames")


def test_the_companion_profile_loads(sg):
    assert sg.id == "urn:lrs:profiles:seriousgames-companion"
    assert len(sg.templates) == 13 and any(p.primary for p in sg.patterns)
    assert {e.iri.rsplit("/", 1)[1] for e in sg.extensions} == {"progress", "health", "position"}


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_sg_statements_follow_the_profile(sg, path):
    statement = json.loads(path.read_text())
    validate_statement(statement, "1.0.3")
    assert sg.check(statement) == []
    assert len(sg.matching(statement)) == 1


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_profile_mistake_is_one_clear_violation(sg, name):
    statement = json.loads((DATA / "sg-profile-cases" / "profile-mistakes" / name).read_text())
    validate_statement(statement, "1.0.3")  # valid xAPI: only the profile objects
    [violation] = sg.check(statement)
    expected = MISTAKES[name]
    assert (violation.template, violation.location) == (expected["template"], expected["location"])
    assert violation.message


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_xapi_is_refused_before_any_profile(name):
    statement = json.loads((DATA / "sg-profile-cases" / "invalid-xapi" / name).read_text())
    with pytest.raises(XAPIError) as err:
        validate_statement(statement, "1.0.3")
    assert err.value.status == 400
    expected = INVALID[name]
    if expected.get("path") is not None:
        assert (err.value.path, err.value.extra.get("rule")) == (expected["path"], expected["rule"])
