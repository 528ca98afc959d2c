"""xAPI versions: which a request asks for, and which the LRS answers with."""

from __future__ import annotations

import re

V1 = "1.0.3"
V2 = "2.0.0"
SUPPORTED = (V1, V2)
# The version a response carries when its request named none the LRS supports (no header, 0.9, 3.0.0, ...):
# 1.0.3. The ADL 1.0.3 conformance suite expects a 1.0.x header on the 400 such a request gets
# (XAPI-00321); its 2.0 suite accepts 1.0.x or 2.0.x there.
UNDECLARED = V1
_V1 = re.compile(r"1\.0(\.[0-9]+)?\Z")
_V2 = re.compile(r"2\.0(\.[0-9]+)?\Z")


def negotiate(header: str | None) -> str | None:
    """The version the LRS follows for a request's X-Experience-API-Version, or None if unsupported."""
    if header is None:
        return None
    header = header.strip()
    if _V1.match(header):
        return V1
    if _V2.match(header):
        return V2
    return None


def advertised(version: str | None) -> list[str]:
    """The versions GET /about lists for a request that follows ``version`` (None: no or an unknown header).

    1.0.3 §2.8 asks for the latest version of each major version; a 1.0.x client is answered with the
    1.0.x one only: the 1.0.3 conformance requirements allow "0.9", "0.95", "1.0.0" or "1.0.x" there
    (XAPI-00316), and 1.0.x client libraries (TinCanPython, TinCan.NET) fail on a version they do not know.
    """
    return [V1] if version is not None and not is_v2(version) else list(SUPPORTED)


def is_v2(version: str) -> bool:
    return version.startswith("2.")
