"""Signed statements (xAPI 1.0.3 Data §2.6; XAPI-00115..00117): malformed signatures are refused.

A signature is an Attachment with usageType ``.../attachments/signature``; its
contentType must be ``application/octet-stream`` and its part a JWS (RFC 7515) in
compact serialization. The LRS checks that it is well formed (§2.6.s5.b3):
its algorithm is RS256, RS384 or RS512, its payload is the statement as it was
before the signature was added (by the comparison rules of Data §2.3.1), and,
when its header carries an X.509 certificate (``x5c``), that the signature
verifies against that certificate. This is a check for mistakes, not an
authentication of the signer (§2.6, note).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping

import orjson

from lrs.xapi import strict_json
from lrs.xapi.attachments import Part
from lrs.xapi.errors import bad_request
from lrs.xapi.statements import comparable

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
OCTET_STREAM = "application/octet-stream"
ALGORITHMS = ("RS256", "RS384", "RS512")
# An RSA signature is as long as its key's modulus: 64 bytes for the smallest key a JWS library makes
# (512 bits). RFC 7518 §3.3 asks for 2048 bits or more, but signed statements made with 1024-bit keys
# exist (the ADL conformance suite's own), so anything shorter than 64 bytes is what is malformed.
MIN_SIGNATURE_BYTES = 64
# A verification costs what the key asks: a certificate whose public exponent is as long as its 3072-bit
# modulus made each one 8 ms instead of 0.05, on the event loop, and a 20 MiB batch holds some 5,700
# signed statements: one request stopped the server for most of a minute. Keys people sign with have
# e = 65537 and 2048 to 4096 bits (OpenSSL itself refuses exponents over 64 bits above 3072 bits).
MAX_KEY_BITS = 8192
MAX_EXPONENT_BITS = 64


def is_signature(attachment: Mapping[str, Any]) -> bool:
    return attachment.get("usageType") == SIGNATURE


def check(statement: dict[str, Any], parts: Mapping[str, Part], *, path: str, centiseconds: bool = False) -> None:
    """400 when a signature attachment of ``statement`` is not application/octet-stream, has no part,
    or has a malformed JWS. ``centiseconds``: durations compare to 0.01 s (2.0 §4.2.7), else as strings.

    The statement's comparable form is made once, and a part that several signature attachments
    name is checked once: 4,000 signatures of one statement with a 1 MB extension took 33 s.
    """
    expected: dict[str, Any] | None = None
    checked: set[str] = set()
    for index, attachment in enumerate(statement.get("attachments") or ()):
        if not is_signature(attachment):
            continue
        at = f"{path}attachments[{index}]"
        if attachment.get("contentType") != OCTET_STREAM:
            raise bad_request(f"a signature attachment's contentType must be {OCTET_STREAM}",
                              path=f"{at}.contentType", error="signature")
        sha2 = str(attachment.get("sha2", "")).lower()
        part = parts.get(sha2)
        if part is None:
            raise bad_request("a signature attachment must be sent with its JWS as a multipart/mixed part",
                              path=f"{at}.sha2", error="signature")
        if sha2 in checked:
            continue
        if expected is None:
            expected = comparable(statement, centiseconds)
        _check_jws(part.content, statement, expected, at, centiseconds)
        checked.add(sha2)


def _check_jws(jws: bytes, statement: dict[str, Any], expected: dict[str, Any], at: str, centiseconds: bool) -> None:
    segments = jws.strip().split(b".")
    if len(segments) != 3 or not all(segments[:2]):
        raise bad_request("the signature is not a JWS in compact serialization (header.payload.signature)",
                          path=at, error="signature")
    try:
        header = orjson.loads(_b64url(segments[0]))
        payload = strict_json.loads(_b64url(segments[1]))  # as a statement is read: nesting bounded, keys once
        signature = _b64url(segments[2])
    except (ValueError, binascii.Error) as exc:
        raise bad_request(f"the signature's JWS does not decode: {exc}", path=at, error="signature")
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
        alg = header.get("alg") if isinstance(header, dict) else None
        raise bad_request(f"the signature's algorithm is {alg!r}; xAPI allows RS256, RS384 and RS512 only",
                          path=at, error="signature")
    if len(signature) < MIN_SIGNATURE_BYTES:
        raise bad_request(f"the signature's JWS signature is {len(signature)} bytes long: an RSA signature is as"
                          " long as its key (64 bytes or more)", path=at, error="signature")
    # Attachments (the signature among them) are not compared: see lrs.xapi.statements.same_content.
    # (``expected`` is ``comparable(statement)``.)
    if not isinstance(payload, dict) or comparable(payload, centiseconds) != expected:
        raise bad_request("the signature's payload is not this statement (before its signature was added)",
                          path=at, error="signature")
    # An id the LRS assigns is not compared (Data 2.3.1.b1), but two ids that were both sent are two statements.
    signed_id, sent_id = payload.get("id"), statement.get("id")
    if isinstance(signed_id, str) and isinstance(sent_id, str) and signed_id.lower() != sent_id.lower():
        raise bad_request(f"the signature's payload is statement {signed_id}, not {sent_id}", path=at,
                          error="signature")
    if "x5c" in header:
        _verify(header, segments[0] + b"." + segments[1], signature, at)


def _verify(header: dict[str, Any], signed: bytes, signature: bytes, at: str) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    chain = header["x5c"]
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
        key = certificate.public_key()
    except (TypeError, IndexError, KeyError, ValueError, binascii.Error):
        raise bad_request("the signature's x5c is not an X.509 certificate chain", path=at, error="signature")
    if not isinstance(key, rsa.RSAPublicKey):
        raise bad_request("the signature's certificate has no RSA key (RS256/384/512 need one)", path=at,
                          error="signature")
    if key.key_size > MAX_KEY_BITS or key.public_numbers().e.bit_length() > MAX_EXPONENT_BITS:
        raise bad_request(f"the signature's certificate has an RSA key this LRS does not verify: at most {MAX_KEY_BITS}"
                          f" bits, with a public exponent of at most {MAX_EXPONENT_BITS} bits (65537 is usual)",
                          path=at, error="signature")
    digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[header["alg"]]
    try:
        key.verify(signature, signed, padding.PKCS1v15(), digest)
    except InvalidSignature:
        raise bad_request("the signature does not verify against the certificate in its x5c", path=at,
                          error="signature")


def _b64url(segment: bytes) -> bytes:
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
