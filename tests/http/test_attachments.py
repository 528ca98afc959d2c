"""Attachments as multipart/mixed (Communication §1.5.2, §2.1.3; Data §2.4.11) and signed statements (Data §2.6).

XAPI-00127..00138, XAPI-00115..00117, XAPI-00161, XAPI-00167. The multipart bodies are
built here by hand, from RFC 2046, independently of the LRS's own code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import HTTP

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import new_id
from tests.http.helpers import STATEMENTS, assert_error, get_statement, ids_of

BOUNDARY = "abcABC0123'()+_,-./:=?"
SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment(data: bytes, content_type: str = "text/plain", **extra) -> dict:
    return {"usageType": "http://example.com/attachment-usage/essay", "display": {"en-US": "An essay"},
            "contentType": content_type, "length": len(data), "sha2": sha256(data), **extra}


def multipart(statements, *parts, first_type: str = "application/json", boundary: str = BOUNDARY) -> bytes:
    """RFC 2046 body: the statements, then (data, headers) parts."""
    out = [f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode(), json.dumps(statements).encode(), b"\r\n"]
    for data, headers in parts:
        out.append(f"--{boundary}\r\n".encode())
        out += [f"{name}: {value}\r\n".encode() for name, value in headers.items()]
        out += [b"\r\n", data, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def part(data: bytes, content_type: str = "text/plain", **headers) -> tuple[bytes, dict]:
    return data, {"Content-Type": content_type, "Content-Transfer-Encoding": "binary",
                  "X-Experience-API-Hash": sha256(data), **headers}


def send(client, body: bytes, *, method: str = "POST", statement_id: str | None = None,
         content_type: str = f'multipart/mixed; boundary="{BOUNDARY}"'):
    params = {"statementId": statement_id} if statement_id else None
    return client.request(method, STATEMENTS, params=params, content=body, headers={"Content-Type": content_type})


def parts_of(response) -> list[tuple[dict, bytes]]:
    """The parts of a multipart/mixed response: (headers, content) each."""
    assert response.headers["content-type"].startswith("multipart/mixed"), response.headers["content-type"]
    raw = b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n" + response.content
    message = message_from_bytes(raw, policy=HTTP)
    assert message.is_multipart()
    return [(dict(p.items()), p.get_payload(decode=True)) for p in message.iter_parts()]


ESSAY = b"My essay about loops in Java.\n"
IMAGE = bytes(range(256)) * 8 + b"\r\n--another-boundary\r\n\r\n"  # binary, CRLFs, a delimiter-like line


def test_statement_with_an_attachment_is_stored_and_returned_with_it(client, statement):  # XAPI-00167
    sid = new_id()
    body = multipart(statement(id=sid, attachments=[attachment(ESSAY)]), part(ESSAY))
    response = send(client, body)
    assert response.status_code == 200, response.text
    assert response.json() == [sid]
    got = client.get(STATEMENTS, params={"statementId": sid, "attachments": "true"})
    assert got.status_code == 200
    assert "X-Experience-API-Consistent-Through" in got.headers and "Last-Modified" in got.headers
    [(head, content), (data_head, data)] = parts_of(got)
    assert head["Content-Type"].startswith("application/json")
    assert json.loads(content)["id"] == sid
    assert data == ESSAY
    assert data_head["X-Experience-API-Hash"] == sha256(ESSAY)
    assert data_head["Content-Transfer-Encoding"] == "binary"
    assert data_head["Content-Type"] == "text/plain"
    # attachments=false (the default): JSON only, no raw data (XAPI-00161)
    for params in ({"statementId": sid}, {"statementId": sid, "attachments": "false"}):
        plain = client.get(STATEMENTS, params=params)
        assert plain.headers["content-type"].startswith("application/json")
        assert plain.json()["attachments"] == [attachment(ESSAY)]


def test_binary_data_and_a_batch_sharing_one_part(client, statement):  # §1.5.2.s2.b2.b5: one copy per data
    first, second = new_id(), new_id()
    batch = [statement(id=first, attachments=[attachment(IMAGE, "image/png")]),
             statement(id=second, attachments=[attachment(IMAGE, "image/png"), attachment(ESSAY)])]
    response = send(client, multipart(batch, part(IMAGE, "image/png"), part(ESSAY)))
    assert response.status_code == 200, response.text
    page = client.get(STATEMENTS, params={"attachments": "true"})
    [(_, content), *data] = parts_of(page)
    assert [s["id"] for s in json.loads(content)["statements"]] == [second, first]
    assert sorted(d for _, d in data) == sorted([IMAGE, ESSAY])  # each data once


def test_put_with_an_attachment(client, statement):
    sid = new_id()
    response = send(client, multipart(statement(attachments=[attachment(ESSAY)]), part(ESSAY)),
                    method="PUT", statement_id=sid)
    assert response.status_code == 204, response.text
    assert get_statement(client, sid)["attachments"][0]["sha2"] == sha256(ESSAY)


def test_multipart_without_attachment_data_is_accepted(client, statement):  # §1.5.2.s3.b8, b9
    plain = statement()
    by_url = statement(attachments=[attachment(ESSAY, fileUrl="http://example.com/essay.txt")])
    assert send(client, multipart([plain, by_url])).status_code == 200
    assert len(ids_of(client)) == 2


def test_a_missing_part_is_400_and_stores_nothing(client, statement):  # XAPI-00129
    batch = [statement(), statement(attachments=[attachment(ESSAY)])]
    assert_error(send(client, multipart(batch)), 400)
    assert_error(send(client, multipart(batch, part(IMAGE))), 400)
    assert ids_of(client) == []


def test_a_part_no_attachment_claims_is_400(client, statement):  # XAPI-00128, XAPI-00132
    assert_error(send(client, multipart(statement(), part(ESSAY))), 400)
    body = multipart(statement(attachments=[attachment(ESSAY)]), part(ESSAY), part(IMAGE))
    assert_error(send(client, body), 400)
    assert ids_of(client) == []


@pytest.mark.parametrize("headers", [
    {"X-Experience-API-Hash": None},  # XAPI-00132
    {"Content-Transfer-Encoding": "base64"},  # XAPI-00135
    {"X-Experience-API-Hash": sha256(b"other data")},  # the data is not what the hash says
    {"X-Experience-API-Hash": "abc"},
])
def test_malformed_attachment_parts_are_400(client, statement, headers):
    data, part_headers = part(ESSAY)
    part_headers = {k: v for k, v in {**part_headers, **headers}.items() if v is not None}
    body = multipart(statement(attachments=[attachment(ESSAY)]), (data, part_headers))
    assert_error(send(client, body), 400)
    assert ids_of(client) == []


def test_malformed_multipart_bodies_are_400(client, statement):
    good = multipart(statement(attachments=[attachment(ESSAY)]), part(ESSAY))
    assert_error(send(client, good, content_type="multipart/mixed"), 400)  # no boundary: XAPI-00131
    assert_error(send(client, good, content_type="multipart/mixed; boundary=other"), 400)  # XAPI-00130
    wrong_first = multipart(statement(attachments=[attachment(ESSAY)]), part(ESSAY), first_type="text/plain")
    assert_error(send(client, wrong_first), 400)  # XAPI-00134
    assert_error(send(client, good[: len(good) // 2]), 400)  # cut short
    not_json = good.replace(b'"actor"', b'actor', 1)
    assert_error(send(client, not_json), 400)
    assert ids_of(client) == []


def test_a_json_statement_with_an_attachment_without_file_url_is_400(client, statement):  # §1.5.2.s2.b1
    response = client.post(STATEMENTS, json=statement(attachments=[attachment(ESSAY)]))
    assert_error(response, 400)
    assert "multipart" in response.json()["message"]


def test_query_with_attachments_pages_carry_their_data(client, statement):
    ids = []
    for i in range(3):
        data = f"essay {i}".encode()
        sid = new_id()
        assert send(client, multipart(statement(id=sid, attachments=[attachment(data)]), part(data))).status_code == 200
        ids.append(sid)
    page = client.get(STATEMENTS, params={"attachments": "true", "limit": 2})
    [(_, content), *data] = parts_of(page)
    result = json.loads(content)
    assert [s["id"] for s in result["statements"]] == ids[:0:-1]
    assert sorted(d for _, d in data) == [b"essay 1", b"essay 2"]
    more = client.get(result["more"])
    [(_, content), *data] = parts_of(more)  # the more link keeps attachments=true
    assert [d for _, d in data] == [b"essay 0"]


# -- signed statements (Data §2.6) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lrs test signer")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    return key, base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jws(payload: dict, key, *, alg: str = "RS256", x5c: str | None = None, header: dict | None = None) -> bytes:
    head = header or {"alg": alg, **({"x5c": [x5c]} if x5c else {})}
    signed = b64url(json.dumps(head).encode()) + b"." + b64url(json.dumps(payload).encode())
    digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}.get(alg, hashes.SHA256())
    return signed + b"." + b64url(key.sign(signed, padding.PKCS1v15(), digest))


def signed(statement: dict, signature: bytes) -> tuple[dict, bytes]:
    """The statement with its signature attachment, and the multipart body carrying it."""
    out = {**statement, "attachments": [*statement.get("attachments", []), {
        "usageType": SIGNATURE, "display": {"en-US": "Signature"}, "contentType": "application/octet-stream",
        "length": len(signature), "sha2": sha256(signature)}]}
    return out, multipart(out, part(signature, "application/octet-stream"))


def test_a_well_formed_signed_statement_is_accepted(client, statement, signer):  # XAPI-00115..00117
    key, certificate = signer
    for alg, x5c in (("RS256", certificate), ("RS384", certificate), ("RS512", None)):
        original = statement(id=new_id())
        _, body = signed(original, jws(original, key, alg=alg, x5c=x5c))
        response = send(client, body)
        assert response.status_code == 200, (alg, response.text)
    # the payload may be the statement in another serialization (key order, timestamp zone)
    original = statement(id=new_id(), timestamp="2026-01-01T12:00:00+02:00")
    payload = dict(reversed(list({**original, "timestamp": "2026-01-01T10:00:00Z"}.items())))
    assert send(client, signed(original, jws(payload, key, x5c=certificate))[1]).status_code == 200


def test_a_signature_payload_s_timestamp_is_not_compared(client, statement, signer):
    # xAPI 2.0 §4.2: the LRS "shall specifically not consider ... Timestamp ... for equivalence";
    # 1.0.3 Data 2.3.1.b1: timestamp is a property the LRS may assign
    key, certificate = signer
    original = statement(id=new_id(), timestamp="2026-01-01T10:00:00Z")
    _, body = signed(original, jws({**original, "timestamp": "2026-01-01T11:00:00Z"}, key, x5c=certificate))
    for version, status in (("1.0.3", 200), ("2.0.0", 204)):  # (the second time, the LRS has it: 204)
        response = client.post(STATEMENTS, content=body, headers={
            "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"', "X-Experience-API-Version": version})
        assert response.status_code == status, (version, response.text)
    # what is compared still is: another verb is another statement
    other = {**original, "id": new_id()}
    _, body = signed(other, jws({**other, "verb": {"id": "http://example.com/verbs/other"}}, key, x5c=certificate))
    assert_error(send(client, body), 400)


def test_2_0_compares_a_signature_payload_s_durations_to_the_hundredth(client, statement, signer):
    # xAPI 2.0 §4.2.7: comparisons of statements containing durations ignore precision past 0.01 s
    key, certificate = signer
    original = statement(id=new_id(), result={"duration": "P1DT12H36M0.1237S"})
    payload = {**original, "result": {"duration": "P1DT12H36M0.12S"}}
    _, body = signed(original, jws(payload, key, x5c=certificate))
    assert_error(send(client, body), 400)  # 1.0.3: durations are compared as strings
    response = client.post(STATEMENTS, content=body, headers={
        "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"', "X-Experience-API-Version": "2.0.0"})
    assert response.status_code == 200, response.text


def test_malformed_signatures_are_400(client, statement, signer):  # Data §2.6.s5.b1
    key, certificate = signer
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    original = statement(id=new_id())
    cases = {
        "not a JWS": b"this is not a JWS",
        "HS256": jws(original, key, header={"alg": "HS256"}),
        "none": jws(original, key, header={"alg": "none"}),
        "another statement": jws({**original, "verb": {"id": "http://example.com/verbs/other"}}, key),
        "signed by another key than x5c's": jws(original, other_key, x5c=certificate),
        "x5c not a certificate": jws(original, key, header={"alg": "RS256", "x5c": ["bm90IGEgY2VydA=="]}),
    }
    for name, signature in cases.items():
        assert_error(send(client, signed(original, signature)[1]), 400), name
    # the signature usageType with another contentType is a malformed signature (XAPI-00115)
    good = jws(original, key, x5c=certificate)
    text, _ = signed(original, good)
    text["attachments"][-1]["contentType"] = "text/plain; charset=ascii"
    assert_error(send(client, multipart(text, part(good, "text/plain; charset=ascii"))), 400)
    # a signature attachment must come with its data, even with a fileUrl (XAPI-00115)
    with_url, _ = signed(original, jws(original, key))
    with_url["attachments"][-1]["fileUrl"] = "http://example.com/signature"
    assert_error(client.post(STATEMENTS, json=with_url), 400)
    assert ids_of(client) == []


def test_a_certificate_whose_key_makes_verifying_slow_is_400(client, statement, signer):
    # A player could sign with a key whose public exponent is as long as its modulus: each verification
    # took 8 ms instead of 0.05 (on the event loop), and a 20 MiB batch of some 5,700 such statements
    # stopped every other request for most of a minute. Such keys are refused before verifying.
    import math
    import random

    base = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = base.private_numbers()
    p, q = numbers.p, numbers.q
    phi = (p - 1) * (q - 1)
    d = next(c for c in (random.getrandbits(256) | 1 for _ in range(1000)) if math.gcd(c, phi) == 1)
    e = pow(d, -1, phi)  # (as long as the modulus)
    slow = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
                                 ).private_key(unsafe_skip_rsa_key_validation=True)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slow key")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(slow.public_key())
                   .serial_number(1).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1)).sign(base, hashes.SHA256()))
    x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    original = statement(id=new_id())
    body = assert_error(send(client, signed(original, jws(original, slow, x5c=x5c))[1]), 400)
    assert body["error"] == "signature" and "exponent" in body["message"], body
    key, usual = signer  # e = 65537, 2048 bits: verified as before
    assert send(client, signed(original, jws(original, key, x5c=usual))[1]).status_code == 200


def test_a_signature_payload_nested_deeper_than_a_statement_may_be_is_400_not_500(client, statement, signer):
    # Found by a 5xx hunt: a payload of 500 nested lists made comparing it with the statement recurse
    # until Python gave up (500). The payload is now read as a statement is: at most 252 levels.
    key, _ = signer
    original = statement(id=new_id())
    for depth, status in ((500, 400), (900, 400), (240, 400)):  # 240 levels: read, then simply not this statement
        payload = {**original, "result": {"extensions": {}}, "context": {"x": _nested_lists(depth)}}
        response = send(client, signed(original, jws(payload, key))[1])
        assert response.status_code == status, (depth, response.text)
        assert response.json()["path"].endswith("attachments[0]"), response.text


def _nested_lists(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_unsigned_or_truncated_rsa_signatures_are_400_without_x5c(client, statement, signer):
    # Data §2.6.s5.b1: without a certificate the LRS cannot verify, but an empty or 3-byte signature is
    # no RSA signature at all (it is as long as the key's modulus)
    key, _ = signer
    original = statement(id=new_id())
    head_and_payload = jws(original, key).rsplit(b".", 1)[0]
    for signature in (head_and_payload + b".", head_and_payload + b".AAAA"):
        body = assert_error(send(client, signed(original, signature)[1]), 400)
        assert "bytes" in body["message"], body
    assert send(client, signed(original, jws(original, key))[1]).status_code == 200  # no x5c: accepted


def test_a_signature_of_a_statement_with_another_id_is_400(client, statement, signer):
    # an id the LRS could have assigned is not compared, but two ids that were both sent are two statements
    key, certificate = signer
    original = statement(id=new_id())
    body = assert_error(send(client, signed(original, jws({**original, "id": new_id()}, key, x5c=certificate))[1]),
                        400)
    assert "payload" in body["message"], body
    without_id = {k: v for k, v in original.items() if k != "id"}
    assert send(client, signed(original, jws(without_id, key, x5c=certificate))[1]).status_code == 200
    upper = {**original, "id": original["id"].upper()}
    assert send(client, signed(original, jws(upper, key, x5c=certificate))[1]).status_code == 204  # (stored now)


def test_the_answer_s_boundary_is_what_follows_boundary_equals(client, statement):
    # TinCanJS and TinCanJava read the boundary as content_type.split("boundary=")[1]: no quotes around it
    sid = new_id()
    assert send(client, multipart(statement(id=sid, attachments=[attachment(ESSAY)]), part(ESSAY))).status_code == 200
    response = client.get(STATEMENTS, params={"statementId": sid, "attachments": "true"})
    boundary = response.headers["content-type"].split("boundary=")[1]
    assert response.content.startswith(b"--" + boundary.encode() + b"\r\n"), response.headers["content-type"]
    assert response.content.rstrip().endswith(b"--" + boundary.encode() + b"--")


def test_attachments_sent_without_the_crlf_before_each_delimiter_are_read(client, statement):
    # xAPIWrapper (buildMultipartPost) and xapi.js (createMultiPart) write "--boundary" right after an
    # attachment's bytes; RFC 2046 puts a CRLF there. Read so, the digests match.
    essay2 = b"A second essay, about recursion."
    sid = new_id()
    sent = statement(id=sid, attachments=[attachment(ESSAY), attachment(essay2)])
    body = (f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(sent).encode()
            + b"\r\n")
    for data in (ESSAY, essay2):
        body += (f"--{BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
                 f"X-Experience-API-Hash: {sha256(data)}\r\n\r\n").encode() + data  # no CRLF after the data
    body += f"--{BOUNDARY}--".encode()
    response = send(client, body)
    assert response.status_code == 200, response.text
    [_, *data] = parts_of(client.get(STATEMENTS, params={"statementId": sid, "attachments": "true"}))
    assert sorted(d for _, d in data) == sorted([ESSAY, essay2])
    # data that does not match its digest either way is still refused
    wrong = body.replace(essay2, essay2.upper())
    assert_error(send(client, wrong), 400)


def test_a_sha224_attachment_is_accepted(client, statement):
    # Data 2.4.11: sha2 is a SHA-2 digest; providers SHOULD use 256/384/512 (§1.5.2.s4.b4), SHA-224 is one too
    digest = hashlib.sha224(ESSAY).hexdigest()
    sid = new_id()
    body = multipart(statement(id=sid, attachments=[{**attachment(ESSAY), "sha2": digest}]),
                     (ESSAY, {"Content-Type": "text/plain", "Content-Transfer-Encoding": "binary",
                              "X-Experience-API-Hash": digest}))
    response = send(client, body)
    assert response.status_code == 200, response.text
    [_, (headers, content)] = parts_of(client.get(STATEMENTS, params={"statementId": sid, "attachments": "true"}))
    assert content == ESSAY and headers["X-Experience-API-Hash"] == digest


def test_a_returned_part_has_its_attachments_content_type(client, statement):
    # Communication §1.5.2.s2.b2.b7 (statement results too): a part's Content-Type and its attachment's
    # contentType MUST match, though the LRS keeps the data once, as first received
    first, second = new_id(), new_id()
    assert send(client, multipart(statement(id=first, attachments=[attachment(ESSAY)]), part(ESSAY))).status_code == 200
    body = multipart(statement(id=second, attachments=[attachment(ESSAY, "text/markdown")]), part(ESSAY, "text/markdown"))
    assert send(client, body).status_code == 200
    for sid, expected in ((first, ["text/plain"]), (second, ["text/markdown"])):
        [_, *data] = parts_of(client.get(STATEMENTS, params={"statementId": sid, "attachments": "true"}))
        assert [h["Content-Type"] for h, _ in data] == expected
    # a page with both: the data under each contentType its attachments give it
    [_, *data] = parts_of(client.get(STATEMENTS, params={"attachments": "true"}))
    assert sorted(h["Content-Type"] for h, _ in data) == ["text/markdown", "text/plain"]
    assert [d for _, d in data] == [ESSAY, ESSAY]


def test_a_quoted_parameter_that_mentions_boundary_is_not_the_boundary(client, statement):
    sid = new_id()
    body = multipart(statement(id=sid, attachments=[attachment(ESSAY)]), part(ESSAY), boundary="xapi")
    response = send(client, body, content_type='multipart/mixed; foo="boundary=zzz; x"; boundary=xapi')
    assert response.status_code == 200, response.text
    response = send(client, body, content_type='multipart/mixed; Boundary="xapi"')
    assert response.status_code == 204, response.text  # read as well: the statement it holds is stored already


def test_a_read_mine_credential_gets_no_data_another_credential_sent(client, statement, credential):
    # Data is kept once per SHA-2; declaring someone else's digest (with a fileUrl, no part) in one's own
    # statement must not hand out their data to a credential that may read only its own statements.
    victim = new_id()
    assert send(client, multipart(statement(id=victim, attachments=[attachment(ESSAY)]), part(ESSAY))).status_code == 200
    mine = credential("statements/write", "statements/read/mine")
    probe = statement(attachments=[attachment(ESSAY, fileUrl="http://example.com/essay.txt")])
    response = client.post(STATEMENTS, json=probe, auth=mine)
    assert response.status_code == 200, response.text
    [probe_id] = response.json()
    for params in ({"statementId": probe_id, "attachments": "true"}, {"attachments": "true"}):
        got = client.get(STATEMENTS, params=params, auth=mine)
        assert got.status_code == 200
        [(head, content)] = parts_of(got)  # the statements, and no data part
        assert probe_id in content.decode()
    # What it sent itself it gets back; a reader of every statement gets everything.
    own = new_id()
    body = multipart(statement(id=own, attachments=[attachment(IMAGE, "image/png")]), part(IMAGE, "image/png"))
    assert client.post(STATEMENTS, content=body, auth=mine, headers={
        "Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"'}).status_code == 200
    [_, (_, data)] = parts_of(client.get(STATEMENTS, params={"statementId": own, "attachments": "true"}, auth=mine))
    assert data == IMAGE
    [_, (_, data)] = parts_of(client.get(STATEMENTS, params={"statementId": probe_id, "attachments": "true"}))
    assert data == ESSAY


def test_a_signature_of_another_id_is_400_also_on_put(client, statement, signer):
    # PUT ?statementId=Y with a body without id, signed as statement X: the payload's id is not Y's
    key, certificate = signer
    original = statement()
    target = new_id()
    body = signed(original, jws({**original, "id": new_id()}, key, x5c=certificate))[1]
    assert_error(send(client, body, method="PUT", statement_id=target), 400)
    assert_error(client.get(STATEMENTS, params={"statementId": target}), 404)


def test_a_content_type_with_a_line_break_is_400(client, statement):
    # a contentType is written into a multipart answer's part headers: no line may end inside it
    for content_type in ("text/plain\r\n\r\n;x", "text/plain\n", "text/plain;\nX-Experience-API-Hash: 00"):
        sent = statement(attachments=[attachment(ESSAY, content_type, fileUrl="http://example.com/e.txt")])
        body = assert_error(client.post(STATEMENTS, json=sent), 400)
        assert body["path"] == "attachments[0].contentType", body


def test_signature_attachments_naming_one_part_check_it_once(client, statement, signer, monkeypatch):
    # A slow-path hunt: 4,000 signature attachments naming one JWS, on a statement with a 1 MB
    # extension, decoded the JWS and compared the whole statement 4,000 times (33 s).
    from lrs.xapi import signatures

    key, certificate = signer
    original = statement(id=new_id())
    good = jws(original, key, x5c=certificate)
    one, _ = signed(original, good)
    many = {**one, "attachments": one["attachments"] * 50}
    checks = []
    real = signatures._check_jws
    monkeypatch.setattr(signatures, "_check_jws", lambda *a: checks.append(1) or real(*a))
    response = send(client, multipart(many, part(good, "application/octet-stream")))
    assert response.status_code == 200, response.text
    assert len(checks) == 1
    # a second part is still checked: a bad JWS among good ones is a 400
    second = statement(id=new_id())
    good = jws(second, key, x5c=certificate)
    bad = jws({**second, "verb": {"id": "http://example.com/verbs/other"}}, key)
    one, _ = signed(second, good)
    worse, _ = signed({**one, "attachments": one["attachments"] * 50}, bad)
    body = assert_error(send(client, multipart(worse, part(good, "application/octet-stream"),
                                               part(bad, "application/octet-stream"))), 400)
    assert body["path"].endswith("attachments[50]"), body
