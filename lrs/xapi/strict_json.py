"""JSON parsing as xAPI needs it: duplicate keys and NaN/Infinity are errors.

orjson silently keeps the last of two equal keys, and the spec requires the
LRS to reject a statement "that contains a JSON object with a duplicate key"
(XAPI-00021). The exact parser is the standard library's C decoder with a
pairs hook (about 8 µs per typical statement). The fast path parses with
orjson and proves that no key was lost: a compact body that orjson writes back
byte for byte (about 3 µs); otherwise, in a body with no backslash, every
``":`` ends a key, so the body has as many keys as orjson's compact output of
the result has ``":`` exactly when none was lost. Anything else (a backslash,
whitespace right before a colon, a count that differs, a value orjson refuses) goes
to the exact parser.

What is accepted can also be written back, inside the LRS's own answers: at most
``MAX_DEPTH`` nested levels (orjson writes 254, and a StatementResult puts a
statement two levels down), and no unpaired UTF-16 surrogate (``"\\ud800"`` is
valid JSON syntax but no Unicode text; the standard library's parser lets it
through, orjson cannot write it). Both are checked by writing the value two
levels down, as the fast path writes it anyway, and the exact parser's result
is written so too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r} in a JSON object")
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _int(text: str) -> int | float:
    value = int(text)
    # Like orjson (the fast path): integers beyond 64 bits become floats rather than fail later.
    return value if -(2**63) <= value < 2**64 else _float(text)


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_float=_float, parse_int=_int)


# A key written `"k"  :` (whitespace, any run of it, before its colon) is not counted among the `":`
# below, and would hide a key lost to a duplicate (found by a review: two spaces got through). Such a
# body goes to the exact parser. In a body without backslashes no string holds a quote, so `"`, then
# whitespace, then `:` is always a key; the regex runs only when whitespace precedes some colon
# (cheap scans first: text such as "Niveau 1 : boucles" does have it).
_SPACED_COLONS = (b' :', b'\t:', b'\n:', b'\r:')
_SPACED_KEY = re.compile(rb'"[ \t\n\r]+:')


def _spaced_key(data: bytes) -> bool:
    return any(spaced in data for spaced in _SPACED_COLONS) and _SPACED_KEY.search(data) is not None


_WRAPPING = 2  # lists around a value when it is written back: [[value]]
MAX_DEPTH = 254 - _WRAPPING  # nested levels of a parsed document (orjson writes 254)


def loads(raw: bytes | str) -> Any:
    """Parse a JSON document; ValueError (with a message) when it is not strict JSON."""
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if b"\\" not in data:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            value = _UNPARSED
        if value is not _UNPARSED:
            compact = dumps(value)
            if compact == data:  # a compact body orjson writes back byte for byte: nothing was lost
                return value
            # as many keys as written (none lost to a duplicate), and no number turned into null (infinity)
            if (
                not _spaced_key(data)
                and data.count(b'":') == compact.count(b'":')
                and data.count(b"null") == compact.count(b"null")
            ):
                return value
    value = _DECODER.decode(data.decode("utf-8"))
    dumps(value)
    return value


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON, which the LRS can also write ``_WRAPPING`` levels down (in a
    StatementResult); ValueError naming why not (too deep, an unpaired surrogate)."""
    try:
        return orjson.dumps([[value]])[_WRAPPING:-_WRAPPING]
    except orjson.JSONEncodeError as exc:
        reason = str(exc)
        if "ecursion" in reason:
            raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
        if "surrogate" in reason:
            raise ValueError("a string holds an unpaired UTF-16 surrogate (\\ud800 to \\udfff)") from None
        raise ValueError(f"JSON that cannot be written back: {reason}") from None


_UNPARSED = object()
