"""statement_schemas/seriousgames/: generated from the templates, and in agreement with the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema_rs
import pytest

from lrs.profiles import load_profile
from lrs.profiles.schemas import schema_file_name, schema_gaps, template_schema

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMAS = ROOT / "statement_schemas" / "seriousgames"
DATA = ROOT / "tests" / "data"
STATEMENTS = (
    sorted((DATA / "sg-examples").rglob("*.json"))
    + sorted((DATA / "sg-profile-cases" / "valid").glob("*.json"))
    + sorted((DATA / "sg-profile-cases" / "profile-mistakes").glob("*.json"))
)
STATEMENTS = [p for p in STATEMENTS if p.name != "cases.json"]


@pytest.fixture(scope="module")
def sg():
    return load_profile("seriousgames")


def test_the_schema_files_are_what_the_templates_give():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "profile_schemas.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_one_schema_per_template_and_no_rule_left_out(sg):
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(schema_file_name(t) for t in sg.templates)
    assert all(schema_gaps(t) == [] for t in sg.templates)  # every companion rule has an exact schema form


@pytest.mark.parametrize("path", STATEMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_and_engine_agree(sg, path):
    statement = json.loads(path.read_text())
    engine_ok = sg.check(statement) == []
    by_verb = [t for t in sg.templates if t.verb == statement["verb"]["id"]]
    if not by_verb:  # no template: no schema either
        assert not engine_ok
        return
    [template] = by_verb
    validator = jsonschema_rs.validator_for(json.loads((SCHEMAS / schema_file_name(template)).read_text()))
    assert validator.is_valid(statement) is engine_ok
    assert template_schema(sg, template) == json.loads((SCHEMAS / schema_file_name(template)).read_text())
