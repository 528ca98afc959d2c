"""The LRS's own timestamps: stored values in a fixed-width UTC form."""

from datetime import datetime, timedelta, timezone

import pytest

from lrs.xapi.timestamps import format_stored, parse_timestamp, stored_sequence

MOMENT = datetime(2026, 11, 27, 1, 28, 25, 123456, tzinfo=timezone.utc)


def test_stored_is_fixed_width_utc_with_microseconds_and_z() -> None:
    assert format_stored(MOMENT) == "2026-11-27T01:28:25.123456Z"
    assert format_stored(MOMENT.replace(microsecond=0)) == "2026-11-27T01:28:25.000000Z"
    assert format_stored(datetime(999, 1, 2, tzinfo=timezone.utc)) == "0999-01-02T00:00:00.000000Z"


def test_another_offset_is_converted_to_utc() -> None:
    assert format_stored(MOMENT.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-27T01:28:25.123456Z"
    assert format_stored(MOMENT.astimezone(timezone(timedelta(hours=9, minutes=30)))) == "2026-11-27T01:28:25.123456Z"


def test_a_batch_gets_consecutive_microseconds_in_order() -> None:
    assert stored_sequence(MOMENT, 1) == ["2026-11-27T01:28:25.123456Z"]
    assert stored_sequence(MOMENT, 3) == [
        "2026-11-27T01:28:25.123456Z", "2026-11-27T01:28:25.123457Z", "2026-11-27T01:28:25.123458Z",
    ]
    end_of_second = MOMENT.replace(microsecond=999_999)
    assert stored_sequence(end_of_second, 2) == ["2026-11-27T01:28:25.999999Z", "2026-11-27T01:28:26.000000Z"]
    local = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert stored_sequence(local, 2) == stored_sequence(MOMENT, 2)
    values = stored_sequence(MOMENT, 500)
    assert values == sorted(values) and len(set(values)) == 500


@pytest.mark.parametrize("value", [
    "٢٠١٣-٠٥-١٨T٠٥:٣٢:٣٤Z",  # Arabic-Indic digits
    "２０１３-05-18T05:32:34Z",  # fullwidth
    "2013-05-18T05:32:34+٠٥:٣٠",
    "2013-05-18T05:32:34.١٢٣Z",
    "٢٠١٣٠٥١٨T٠٥٣٢٣٤Z",  # basic format
])
def test_only_ascii_digits_make_a_timestamp(value: str) -> None:
    # ISO 8601 digits are 0-9 (XAPI-00123); re's \d and int() also take other scripts' digits.
    assert parse_timestamp(value) is None
    assert parse_timestamp("2013-05-18T05:32:34.123+05:30") is not None
