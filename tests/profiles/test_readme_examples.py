"""The README's "For game developers" examples are valid xAPI and follow the SG profile."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lrs.profiles import load_profile
from lrs.xapi.validate import validate_statement

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def examples() -> list[dict]:
    text = README.read_text()
    section = text[text.index("## For game developers"):]
    section = section[: section.index("\n## ", 10)]
    blocks = re.findall(r"```json\n(.*?)```", section, re.S)
    return [json.loads(line) for block in blocks for line in block.splitlines() if line.strip()]


def test_every_example_follows_the_profile():
    sg = load_profile("seriousgames")
    found = examples()
    assert len(found) == 11
    templates = set()
    for example in found:
        statement = {"actor": {"account": {"homePage": "https://game.example.org", "name": "player-1"}}, **example}
        validate_statement(statement, "1.0.3")
        assert sg.check(statement) == [], example
        templates |= {t.id for t in sg.matching(statement)}
    assert len(templates) == 11  # one example per game event
