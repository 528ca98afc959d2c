"""Attachments sent and returned as multipart/mixed (xAPI 1.0.3 Communication §1.5.2, Data §2.4.11).

Pure functions: split a request body into its statements and attachment parts,
check that parts and statements match (XAPI-00128..00138), and build the
multipart response of ``GET /statements?attachments=true``. Signed statements
are checked in ``lrs.xapi.signatures``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from lrs.xapi.documents import media_type
from lrs.xapi.errors import XAPIError, bad_request

MULTIPART = "multipart/mixed"
HASH_HEADER = "x-experience-api-hash"
# sha2 is a SHA-2 digest (Data 2.4.11), told apart by the length of its hex digest: providers SHOULD
# use SHA-256, SHA-384 or SHA-512 (Communication §1.5.2.s4.b4), and SHA-224 is SHA-2 too.
DIGESTS = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}
# One "; name=value" parameter of a Content-Type, the value a token or a quoted string (RFC 2045 §5.1).
_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_CRLF = b"\r\n"


@dataclass(frozen=True)
class Part:
    """One attachment's raw data, as received or as stored."""

    sha2: str  # lower-case hex digest, as in the attachment's "sha2"
    content_type: str
    content: bytes


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart/mixed Content-Type (XAPI-00131)."""
    for name, value in _PARAMETER.findall(content_type[content_type.find(";"):] if ";" in content_type else ""):
        if name.lower() == "boundary":
            value = re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
            if value:
                return value
    raise bad_request("a multipart/mixed request needs a boundary parameter in its Content-Type",
                      path="Content-Type", error="multipart")


def parse(body: bytes, content_type: str) -> tuple[bytes, list[Part]]:
    """A multipart/mixed request body: the JSON of its first part and its attachment parts.

    400 (naming the part) when the body is not RFC 2046 multipart with that boundary
    (XAPI-00130), the first part is not application/json (XAPI-00134), or a later part
    has no X-Experience-API-Hash (XAPI-00132), a Content-Transfer-Encoding other than
    binary (XAPI-00135), or content whose digest is not that hash.

    A body whose attachment data runs straight into the next delimiter, without the CRLF that
    belongs to it (xAPIWrapper and xapi.js send several attachments so), is read that way when
    read strictly its digests do not match and read so they all do.
    """
    boundary = boundary_of(content_type)
    try:
        return _parsed(list(_sections(body, boundary)))
    except XAPIError as strict:
        try:
            return _parsed(list(_sections(body, boundary, lenient=True)))
        except XAPIError:
            raise strict from None


def _parsed(sections: list[tuple[dict[str, str], bytes]]) -> tuple[bytes, list[Part]]:
    if not sections:
        raise bad_request("the multipart/mixed body has no parts", path="", error="multipart")
    head, statements = sections[0]
    if media_type(head.get("content-type")) != "application/json":
        raise bad_request("the first part of a multipart/mixed statement request must be application/json",
                          path="part[0].Content-Type", error="multipart")
    parts: list[Part] = []
    for index, (headers, content) in enumerate(sections[1:], start=1):
        at = f"part[{index}]"
        declared = headers.get(HASH_HEADER, "").strip().lower()
        if not declared:
            raise bad_request(f"{at} has no X-Experience-API-Hash header", path=f"{at}.X-Experience-API-Hash",
                              error="multipart")
        encoding = headers.get("content-transfer-encoding")
        if encoding is not None and encoding.strip().lower() != "binary":
            raise bad_request(f"{at} has Content-Transfer-Encoding {encoding!r}: attachment parts are binary",
                              path=f"{at}.Content-Transfer-Encoding", error="multipart")
        digest = DIGESTS.get(len(declared))
        if digest is None or digest(content).hexdigest() != declared:
            raise bad_request(f"{at}: its content does not have the SHA-2 digest of its X-Experience-API-Hash",
                              path=f"{at}.X-Experience-API-Hash", error="multipart")
        parts.append(Part(declared, headers.get("content-type") or "application/octet-stream", content))
    return statements, parts


def declared(statements: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, attachment) of every Attachment object of the statements (SubStatements included)."""
    for index, statement in enumerate(statements):
        yield from _attachments_of(statement, f"[{index}]")
        obj = statement.get("object")
        if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
            yield from _attachments_of(obj, f"[{index}].object")


def match(statements: list[dict[str, Any]], parts: list[Part], *, located: bool) -> list[Part]:
    """The parts to store: one per digest, each claimed by an Attachment of the statements.

    400 when an Attachment without a fileUrl has no part (XAPI-00129; Communication
    §1.5.2.s3.b5), or a part matches no Attachment's sha2 (XAPI-00128, XAPI-00132).
    ``located``: paths name the statement's place in a batch.
    """
    by_hash = {part.sha2: part for part in parts}
    wanted: set[str] = set()
    for path, attachment in declared(statements):
        sha2 = str(attachment.get("sha2", "")).lower()
        wanted.add(sha2)
        if "fileUrl" not in attachment and sha2 not in by_hash:
            where = path if located else path.split("]", 1)[1].lstrip(".")
            raise bad_request(
                "an attachment without fileUrl needs a multipart/mixed part with its sha2 as X-Experience-API-Hash",
                path=f"{where}.sha2" if where else "sha2", error="attachments",
            )
    for index, part in enumerate(parts, start=1):
        if part.sha2 not in wanted:
            raise bad_request(f"part[{index}] is not the data of any attachment of the statements (no sha2 {part.sha2})",
                              path=f"part[{index}].X-Experience-API-Hash", error="attachments")
    return list(by_hash.values())


def wanted_hashes(statements: Iterable[dict[str, Any]]) -> set[str]:
    """The sha2 of every Attachment of the statements: what a multipart answer carries (if stored)."""
    return {str(attachment.get("sha2", "")).lower() for _, attachment in declared(statements)}


def as_declared(statements: Iterable[dict[str, Any]], found: dict[str, Part]) -> list[Part]:
    """The parts of a multipart answer: the data found for each sha2 of the statements, under the
    contentType its Attachment object declares (Communication §1.5.2.s2.b2.b7: a part's Content-Type
    and its attachment's contentType MUST match; the data may have been received under another).
    Each sha2 once, unless Attachments of these statements give one sha2 several contentTypes."""
    out: dict[tuple[str, str], Part] = {}
    for _, attachment in declared(statements):
        part = found.get(str(attachment.get("sha2", "")).lower())
        if part is not None:
            content_type = attachment.get("contentType")
            if not isinstance(content_type, str) or not content_type.isprintable() or not content_type.isascii():
                content_type = part.content_type  # (validation refuses such; stored before it did: not a header)
            out.setdefault((part.sha2, content_type), Part(part.sha2, content_type, part.content))
    return list(out.values())


def build(statements_json: bytes, parts: Iterable[Part]) -> tuple[bytes, str]:
    """A multipart/mixed response: the statements (application/json) first, then each part once.

    Returns the body and its Content-Type (with the boundary, unquoted: it is a plain token, and
    TinCanJS and TinCanJava take whatever follows "boundary=", quotes included).
    """
    boundary = "xapi-" + os.urandom(12).hex()
    marker = b"--" + boundary.encode()
    chunks = [marker, _CRLF, b"Content-Type: application/json", _CRLF, _CRLF, statements_json, _CRLF]
    for part in parts:
        chunks += [
            marker, _CRLF,
            b"Content-Type: ", part.content_type.encode("latin-1", "replace"), _CRLF,
            b"Content-Transfer-Encoding: binary", _CRLF,
            b"X-Experience-API-Hash: ", part.sha2.encode(), _CRLF, _CRLF,
            part.content, _CRLF,
        ]
    chunks += [marker, b"--", _CRLF]
    return b"".join(chunks), f"{MULTIPART}; boundary={boundary}"


def _attachments_of(statement: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    attachments = statement.get("attachments")
    if isinstance(attachments, list):
        for i, attachment in enumerate(attachments):
            if isinstance(attachment, dict):
                yield f"{path}.attachments[{i}]", attachment


def _sections(body: bytes, boundary: str, *, lenient: bool = False) -> Iterator[tuple[dict[str, str], bytes]]:
    """(headers with lower-case names, content) of each body part (RFC 2046 §5.1.1). ``lenient``: a
    delimiter need not follow a CRLF (one that does is still not part of the content)."""
    delimiter = b"--" + boundary.encode("latin-1")
    separator = delimiter if lenient else _CRLF + delimiter  # what ends a part's content
    # The first delimiter may open the body; every other one follows a CRLF. (Positions in the body,
    # never slices of what is left: a body of many small parts is read in linear time.)
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:
        start = body.find(_CRLF + delimiter)
        if start < 0:
            raise bad_request("the multipart/mixed body does not contain its boundary", path="", error="multipart")
        pos = start + 2 + len(delimiter)
    while True:
        if body.startswith(b"--", pos):
            return  # the close delimiter: what follows is the epilogue
        line_end = body.find(_CRLF, pos)
        if line_end < 0:
            raise bad_request("the multipart/mixed body ends before its closing boundary", path="", error="multipart")
        pos = line_end + 2  # past the rest of the delimiter line (transport padding)
        end = body.find(separator, pos)
        if end < 0:
            raise bad_request("the multipart/mixed body ends before its closing boundary", path="", error="multipart")
        part = body[pos:end]
        pos = end + len(separator)
        if lenient and part.endswith(_CRLF):  # a CRLF that is there still belongs to the delimiter
            part = part[:-2]
        header_end = part.find(_CRLF + _CRLF)
        if part.startswith(_CRLF):
            raw_headers, content = b"", part[2:]
        elif header_end >= 0:
            raw_headers, content = part[:header_end], part[header_end + 4:]
        else:
            raise bad_request("a part of the multipart/mixed body has no blank line after its headers",
                              path="", error="multipart")
        yield _headers(raw_headers), content


def _headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in raw.decode("latin-1").split("\r\n"):
        if not line:
            continue
        if line[0] in " \t" and last is not None:  # a folded header line (joined once, at the end)
            last.append(line.strip())
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise bad_request(f"a part header line is not 'Name: value': {line[:60]!r}", path="", error="multipart")
        last = headers[name.strip().lower()] = [value.strip()]
    return {name: " ".join(values) for name, values in headers.items()}
