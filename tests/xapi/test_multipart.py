"""Reading multipart/mixed bodies (lrs.xapi.attachments._sections): part by part, by position in the body."""

from __future__ import annotations

import pytest

from lrs.xapi.attachments import _sections
from lrs.xapi.errors import XAPIError


def test_every_part_of_a_body_of_many_parts_is_read_in_order() -> None:
    # A 5xx hunt found that each part copied the rest of the body (2 MB of empty parts: 28 s).
    body = b"--B\r\nContent-Type: application/json\r\n\r\n{}" + b"".join(
        b"\r\n--B\r\nX-N: %d\r\n\r\n%d" % (i, i) for i in range(20000)) + b"\r\n--B--\r\nepilogue"
    for lenient in (False, True):
        parts = list(_sections(body, "B", lenient=lenient))
        assert len(parts) == 20001
        assert parts[0] == ({"content-type": "application/json"}, b"{}")
        assert all(headers == {"x-n": str(i)} and content == str(i).encode()
                   for i, (headers, content) in enumerate(parts[1:]))


def test_folded_header_lines_are_joined_and_a_repeated_header_keeps_its_last_value() -> None:
    folded = b"--B\r\nX-A: one\r\n two\r\n\tthree\r\nX-B: first\r\nX-B: second\r\n  folded\r\n\r\ndata\r\n--B--"
    [(headers, content)] = _sections(folded, "B")
    assert headers == {"x-a": "one two three", "x-b": "second folded"} and content == b"data"


@pytest.mark.parametrize("body", [b"no boundary here", b"--B\r\n\r\nunterminated", b"--B\r\nX-A: 1\r\ndata\r\n--B--"])
def test_a_broken_body_is_a_400(body: bytes) -> None:
    with pytest.raises(XAPIError) as err:
        list(_sections(body, "B"))
    assert err.value.status == 400
