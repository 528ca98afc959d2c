"""ISO 8601 timestamps: parsing, UTC normalisation and the LRS's own format.

``stored`` values are written by the LRS in one fixed-width UTC form,
``YYYY-MM-DDTHH:MM:SS.ffffffZ``, so that string order is time order (the
stores page on it).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

TIMESTAMP_EXTENDED = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?\Z",
    re.ASCII,  # \d is 0-9 only: int() reads "٢٠١٣" too, and such a timestamp was stored as sent
)
TIMESTAMP_BASIC = re.compile(
    r"^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[+-]\d{2}(?:\d{2})?)?\Z",
    re.ASCII,
)
UNKNOWN_OFFSETS = frozenset(("-00", "-0000", "-00:00"))


def parse_timestamp(value: str) -> datetime | None:
    """Parse an ISO 8601 date-time; None when it is not one.

    A missing zone is read as UTC. The RFC 3339 "unknown local offset"
    forms (``-00:00``) are refused: they name no point in time; so is a
    time that would fall outside the years 1 to 9999 in UTC.
    """
    if not isinstance(value, str):
        return None
    m = TIMESTAMP_EXTENDED.match(value) or TIMESTAMP_BASIC.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if zone in UNKNOWN_OFFSETS:
        return None
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        if zone is None or zone in ("Z", "z"):
            tz = timezone.utc
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            if hours > 23 or minutes > 59:
                return None
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        h = int(hour)
        extra = timedelta(0)
        if h == 24:  # ISO 8601 end of day: 24:00:00 only
            if int(minute) or int(second or 0) or micro:
                return None
            h, extra = 0, timedelta(days=1)
        sec = int(second or 0)
        if sec == 60:  # leap second: keep the instant valid
            sec, extra = 59, extra + timedelta(seconds=1)
        moment = datetime(int(year), int(month), int(day), h, int(minute), sec, micro, tzinfo=tz) + extra
        moment.astimezone(timezone.utc)  # an instant beyond year 1 to 9999 in UTC (9999-12-31T23:00-14:00) is none
        return moment
    except (ValueError, OverflowError):
        return None


def is_timestamp(value: object) -> bool:
    return isinstance(value, str) and parse_timestamp(value) is not None


def has_utc_zone(value: str) -> bool:
    return value.endswith(("Z", "z", "+00:00", "+0000", "+00"))


def format_stored(moment: datetime) -> str:
    """The LRS's fixed-width UTC form (microseconds, ``Z``): ``2026-11-27T01:28:25.123456Z``."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    # isoformat (C, fixed width with timespec) is several times cheaper than strftime;
    # it ends in "+00:00" for UTC, which becomes "Z".
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def stored_sequence(start: datetime, count: int) -> list[str]:
    """``count`` stored values one microsecond apart from ``start`` (a batch keeps its order)."""
    if start.tzinfo is not timezone.utc:
        start = start.astimezone(timezone.utc)
    if start.microsecond + count > 999_999:
        return [format_stored(start + timedelta(microseconds=i)) for i in range(count)]
    prefix = start.isoformat(timespec="microseconds")[:20]  # up to the seconds' "."
    first = start.microsecond
    return [f"{prefix}{first + i:06d}Z" for i in range(count)]


def to_utc(value: str) -> str:
    """Rewrite a timestamp in UTC keeping its instant and its precision (xAPI 2.0)."""
    moment = parse_timestamp(value)
    if moment is None:
        return value
    m = TIMESTAMP_EXTENDED.match(value) or TIMESTAMP_BASIC.match(value)
    frac = m.group(7) if m else None
    utc = moment.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        digits = f"{utc.microsecond:06d}"
        text += "." + (digits[: len(frac)] if len(frac) <= 6 else digits)
    return text + "Z"


def normalise_bound(value: str) -> str | None:
    """A ``since``/``until`` parameter in the stored form, for comparison with stored values."""
    moment = parse_timestamp(value)
    return None if moment is None else format_stored(moment)


def now() -> datetime:
    return datetime.now(timezone.utc)


def http_date(stored: str) -> str:
    """An RFC 7231 HTTP-date (for Last-Modified) from a stored value."""
    moment = parse_timestamp(stored) or now()
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)
