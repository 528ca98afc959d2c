"""The format helpers of lrs.xapi.rules / lrs.xapi.validate, and the two schemas staying in step."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import isodate
import pytest

from lrs.xapi.rules import IRI_PATTERN, duration_problem, timestamp_problem
from lrs.xapi.validate import is_iri, is_language_tag, is_uuid, load_schema, schema_dir

# RFC 5646 tags from the RFC's examples and the ADL conformance suite (XAPI-00013).
VALID_TAGS = [
    "en", "de", "tlh", "ine", "cmn", "en-US", "EN-us", "es-419", "es-MX", "de-DE", "zh-Hant", "sr-Latn", "sr-Cyrl",
    "zh-cmn-Hans-CN", "sr-Latn-RS", "sl-rozaj-biske", "de-CH-1901", "sl-nedis", "hy-Latn-IT-arevela",
    "az-Arab-x-AZE-derbend", "x-whatever", "qaa-Qaaa-QM-x-southern", "de-Qaaa", "sr-Latn-QM", "en-US-u-islamcal",
    "zh-CN-a-myext-x-private", "en-a-myext-b-another", "i-enochian", "i-klingon", "en-GB-oed", "sgn-BE-FR",
    "zh-min-nan", "art-lojban", "ar-a-aaa-b-bbb", "abcd", "abcdefgh",
]
INVALID_TAGS = [
    "", "en_US", "de-419-DE", "a-DE", "ar-a-aaa-b-bbb-a-ccc", "zh-z-aaa-z-bbb-c-ccc", "something", "abcdefghi",
    "en-", "-en", "en--US", "de-DE-1901-1901", "en-US-x", "x", "en-a", "en-x-toolongsubtag", "12", "en US", "a12345",
    "supercalifragilisticexpialidociouswhatabouthhhhhhh", "de-\u212aa", "\u017fl-SI-rozaj",
]


@pytest.mark.parametrize("tag", VALID_TAGS)
def test_valid_language_tags(tag: str) -> None:
    assert is_language_tag(tag)


@pytest.mark.parametrize("tag", INVALID_TAGS)
def test_invalid_language_tags(tag: str) -> None:
    assert not is_language_tag(tag)


VALID_IRIS = [
    "http://example.com", "https://www.youtube.com/watch?v=xh4kIiH3Sm8", "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "mailto:a@example.com", "tag:example.com,2025:x", "mygame://coins", "http://example.com/فعل/خواندن",
    "http://example.com/a%20b?q=1#frag", "http://[::1]:8080/x", "verb:verb/url", "act:activity14",
]
INVALID_IRIS = [
    "", "example.com/path", "not.a.valid.iri.com/verb", "ab=c://should.fail.com", "1http://example.com", "http:",
    "http://example.com/a b", "http://example.com/\n", "http://example.com/<x>", "http://example.com/{id}",
    ":no-scheme", "http://example.com/a\tb", None, 12,
]


@pytest.mark.parametrize("iri", VALID_IRIS)
def test_valid_iris(iri: str) -> None:
    assert is_iri(iri)


@pytest.mark.parametrize("iri", INVALID_IRIS)
def test_invalid_iris(iri: object) -> None:
    assert not is_iri(iri)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fd41c918-b88b-4b20-a0a5-a4c32391aaa0", True),
        ("FD41C918-B88B-4B20-A0A5-A4C32391AAA0", True),
        ("12345678-1234-5678-1234-567812345678", True),  # Data 2.4 example: not variant 2, still standard form
        ("00000000-0000-0000-0000-000000000000", True),
        ("fd41c918b88b4b20a0a5a4c32391aaa0", False),
        ("{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}", False),
        ("urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0", False),
        ("AA97B177-9383-4934-8543-0F91A7A028368", False),
        ("MA97B177-9383-4934-8543-0F91A7A02836", False),
        ("fd41c918-b88b-4b20-a0a5-a4c32391aaa0\n", False),
        ("", False),
        (None, False),
    ],
)
def test_uuids(value: object, expected: bool) -> None:
    assert is_uuid(value) is expected


VALID_TIMESTAMPS = [
    "2013-05-18T05:32:34.804Z", "2015-11-18T12:17:00+00:00", "2013-05-18T05:32:34.804+05:30", "2013-05-18T05:32:34+0530",
    "2013-05-18T05:32:34-07", "2013-05-18T05:32Z", "2013-05-18T05:32:34", "2013-05-18T05:32:34.123456789Z",
    "2013-05-18T05:32:34,5Z", "20130518T053234Z", "20130518T053234.804+0100", "2008-09-15 15:53:00.601+00:00",
    "2013-05-18t05:32:34z", "2016-12-31T23:59:60Z", "2013-05-18T24:00:00Z", "2012-02-29T00:00:00Z", "0001-01-01T00:00:00Z",
]
INVALID_TIMESTAMPS = [
    "", "should fail", "01/011/2015", "2015-01-11", "2013-13-01T00:00:00Z", "2013-02-29T00:00:00Z", "2013-05-18T25:00:00Z",
    "2013-05-18T24:00:01Z", "2013-05-18T05:60:00Z", "2013-05-18T05:32:61Z", "2008-09-15T15:53:00.601-00:00",
    "2008-09-15T15:53:00.601-0000", "2008-09-15T15:53:00.601-00", "2013-05-18T05:32:34+24:00", "2013-05-18T05:32:34+05:60",
    "2013-05-18T05:32:34.Z", "2013-05-18T053234Z", "20130518T05:32:34Z", "2013-05-18 T05:32:34Z", "0000-01-01T00:00:00Z",
    "2013-05-18T05:32:34Z\n", "+02013-05-18T05:32:34Z", "2013-5-18T05:32:34Z",
]


@pytest.mark.parametrize("value", VALID_TIMESTAMPS)
def test_valid_timestamps(value: str) -> None:
    assert timestamp_problem(value) is None


@pytest.mark.parametrize("value", INVALID_TIMESTAMPS)
def test_invalid_timestamps(value: str) -> None:
    assert timestamp_problem(value)


VALID_DURATIONS = [
    "PT4H35M59.14S", "PT16559.14S", "P3Y1M29DT4H35M59.14S", "P3Y", "P4W", "PT1H0M0.1S", "PT1234S", "PT1H0M0S", "P1D",
    "P0DT0H1M5.5S", "PT0S", "P1M", "PT1M", "PT1.5H", "P0.5Y", "PT1,5S", "P1DT12H", "PT36H", "P1.5W", "PT0.0001S",
]
INVALID_DURATIONS = [
    "", "P", "PT", "P1DT", "PT1H30", "P1W1D", "P4W1D", "-P1D", "-PT1H", "P0003-02-01T04:05:06", "P0003-02-01",
    "PA1H0M0S", "PT1.5H30M", "P1.5Y2M", "pt1h", "1H", "P1H", "PT1D", "P1S", "P 1D", "PT1H\n", "P1Y1Y", "PT1M1H",
    "P.5Y", "P1.Y", "should fail",
]


@pytest.mark.parametrize("value", VALID_DURATIONS)
def test_valid_durations_and_isodate_agrees(value: str) -> None:
    assert duration_problem(value) is None
    if "," not in value:  # isodate reads "." fractions only
        parsed = isodate.parse_duration(value)
        assert isinstance(parsed, (timedelta, isodate.Duration))


@pytest.mark.parametrize("value", INVALID_DURATIONS)
def test_invalid_durations(value: str) -> None:
    assert duration_problem(value)


# --- the schemas ---------------------------------------------------------------------


def test_schema_files_are_found_next_to_the_package() -> None:
    assert (schema_dir() / "statement-1.0.3.schema.json").is_file()
    assert (schema_dir() / "statement-2.0.schema.json").is_file()
    assert (schema_dir() / "README.md").is_file()


def test_schemas_are_draft_07_and_share_the_iri_pattern_with_the_code() -> None:
    for key in ("1.0.3", "2.0"):
        schema = load_schema(key)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert schema["definitions"]["iri"]["pattern"] == IRI_PATTERN
        assert schema["definitions"]["irl"]["pattern"] == IRI_PATTERN
        assert re.compile(IRI_PATTERN)


def test_2_0_schema_differs_from_1_0_3_only_where_2_0_changed() -> None:
    old, new = load_schema("1.0.3"), load_schema("2.0")
    added = set(new["definitions"]) - set(old["definitions"])
    assert added == {"contextAgent", "contextGroup", "relevantTypes"}
    changed = {k for k in old["definitions"] if old["definitions"][k] != new["definitions"][k]}
    assert changed == {"context", "statement"}
    old_ctx, new_ctx = old["definitions"]["context"]["properties"], new["definitions"]["context"]["properties"]
    assert set(new_ctx) - set(old_ctx) == {"contextAgents", "contextGroups"}
    old_st, new_st = old["definitions"]["statement"], new["definitions"]["statement"]
    assert {k for k in old_st["properties"] if old_st["properties"][k] != new_st["properties"][k]} == {"version"}


def test_every_object_in_the_schemas_rejects_additional_properties() -> None:
    """Data 2.2 / 2.0 4.2.1: every object outside extensions and language maps is closed
    (the objectType dispatchers close their objects in the branch they choose)."""
    for key in ("1.0.3", "2.0"):
        definitions = load_schema(key)["definitions"]
        for name, definition in definitions.items():
            if definition.get("type") == "object" and "properties" in definition and "if" not in definition:
                assert definition.get("additionalProperties") is False, (key, name)


def test_every_definition_names_its_spec_section() -> None:
    for key in ("1.0.3", "2.0"):
        schema = load_schema(key)
        for name, definition in schema["definitions"].items():
            assert "$comment" in definition, (key, name)
        assert json.dumps(schema).count("XAPI-") > 20
