"""lrs.xapi.strict_json: duplicate keys rejected (XAPI-00021) on both the fast and the exact path."""

from __future__ import annotations

import pytest

from lrs.xapi.strict_json import DuplicateKey, loads


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',  # fast path candidate
        b'{"a":1,"b":{"c":"x\\":y","c":3}}',  # backslash: exact path
        b'{"a" :1,"a":2}',  # whitespace before a colon: exact path
        b'{"a":1,"a"  :2}',  # a run of whitespace before a colon (a review: this one got through)
        b'{"b":{"a":1,"a" \t\r\n:2}}',
        b'[{"k":1},{"k":2,"k"\n\n:3}]',
        b'[{"k":1},{"k":2,"k":3}]',
    ],
)
def test_duplicate_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(DuplicateKey):
        loads(raw)


def test_equal_keys_in_different_objects_are_fine() -> None:
    assert loads(b'[{"a":1},{"a":1}]') == [{"a": 1}, {"a": 1}]
    assert loads('{"é": "ü", "url": "http://x/y"}'.encode()) == {"é": "ü", "url": "http://x/y"}
    assert loads(b'{"a": "\\/", "b": "q\\"uote"}') == {"a": "/", "b": 'q"uote'}


@pytest.mark.parametrize("raw", [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":1e999}', b'{"a":"\\u00e9","b":-1e999}'])
def test_numbers_json_cannot_carry_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        loads(raw)


def test_integers_beyond_64_bits_become_floats_on_both_paths() -> None:
    big = 123456789012345678901234567890
    assert loads(b'{"b":%d}' % big) == {"b": float(big)}
    assert loads(b'{"a":"\\/","b":%d}' % big) == {"a": "/", "b": float(big)}
    assert loads(b'{"b":18446744073709551615}') == {"b": 18446744073709551615}


def test_a_string_holding_a_spaced_colon_is_still_read_on_the_fast_path(monkeypatch) -> None:
    import lrs.xapi.strict_json as strict_json

    def no_exact_parser(text: str) -> None:
        raise AssertionError("the exact parser was used")

    monkeypatch.setattr(strict_json._DECODER, "decode", no_exact_parser)
    assert loads(b'{"a": "Niveau 1 : boucles", "b": "b :"}') == {"a": "Niveau 1 : boucles", "b": "b :"}
    with pytest.raises(AssertionError):
        loads(b'{"a": "Niveau 1 : boucles", "b" : 1}')
