"""Enrollment abuse (tokens, CSRs, bodies) and the admin endpoints (``/v1/fleet``,
``/metrics``) reached with everything except a valid admin token, by any spelling of the path.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from functools import partial

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.security.identity import generate_key_and_csr
from tests.security.hostile import (
    A,
    Hub,
    Peer,
    Reply,
    neutral,
    refused,
)
from tests.security.raw import raw_refused

pytestmark = pytest.mark.asyncio(loop_scope="module")
E = "000.00.42.H35"  # the box being enrolled
F = "000.00.43.H35"


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
         names: list[x509.NameAttribute[str]]) -> str:
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))\
        .sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _cn(agency: str) -> list[x509.NameAttribute[str]]:
    return [x509.NameAttribute(NameOID.COMMON_NAME, agency)]


def _tampered(csr_pem: str) -> str:
    der = bytearray(x509.load_pem_x509_csr(csr_pem.encode())
                    .public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature
    b64 = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{b64}-----END CERTIFICATE REQUEST-----\n"


def _good_csr(agency: str = E) -> str:
    return generate_key_and_csr(agency)[1].decode()


async def _enroll(hub: Hub, body: bytes) -> Reply:
    return await hub.anonymous.request("POST", "/v1/enroll", body=body,
                                       headers={"Content-Type": "application/json"})


def _json(token: object, csr: object) -> bytes:
    return json.dumps({"token": token, "csr": csr}).encode()


MALFORMED = {
    "not-json": b"garbage",
    "json-list": b"[]",
    "json-string": b'"token"',
    "json-empty": b"{}",
    "missing-csr": b'{"token": "enr_x"}',
    "csr-not-pem": _json("enr_x", "hello"),
    "csr-garbage-pem": _json("enr_x", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                      "-----END CERTIFICATE REQUEST-----\n"),
    "not-utf8": b"\xff\xfe\xfa{",
    "deep-array": b"[" * 30_000,
    "deep-in-token": b'{"token": ' + b"[" * 30_000 + b"}",
    "lone-surrogate-token": b'{"token": "\\ud800", "csr": ' + json.dumps(_good_csr()).encode()
                            + b"}",
    "nul-token": _json("enr_\u0000", _good_csr()),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_enrollment_is_refused(hub: Hub, name: str) -> None:
    await refused(hub, "enroll.malformed", partial(_enroll, hub, MALFORMED[name]),
                  allowed={400, 403})


async def test_oversized_enrollment_body_is_refused(hub: Hub) -> None:
    body = _json("enr_x", "A" * 40_000)
    await refused(hub, "enroll.malformed", partial(_enroll, hub, body), allowed={413})


async def test_token_and_csr_abuse(hub: Hub) -> None:
    token = await hub.token(E)
    rsa_small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cases = {
        "unknown-token": _json("enr_" + "A" * 43, _good_csr()),
        "huge-token": _json("enr_" + "A" * 10_000, _good_csr()),
        "numeric-token": _json(12345, _good_csr()),
        "admin-token": _json(await hub.token("admin", kind="admin"), _good_csr()),
        "expired-token": _json(await hub.token(E, timedelta(seconds=-1)), _good_csr()),
        "csr-for-other-agency": _json(token, _good_csr(F)),
        "csr-no-cn": _json(token, _csr(ec.generate_private_key(ec.SECP256R1()), [])),
        "csr-two-cns": _json(token, _csr(ec.generate_private_key(ec.SECP256R1()),
                                         _cn(E) + _cn(E))),
        "csr-bad-signature": _json(token, _tampered(_good_csr())),
        "csr-rsa-1024": _json(token, _csr(rsa_small, _cn(E))),
        "csr-p384": _json(token, _csr(ec.generate_private_key(ec.SECP384R1()), _cn(E))),
    }
    for body in cases.values():
        await refused(hub, "enroll.token", partial(_enroll, hub, body), allowed={400, 403})


async def test_a_token_is_spent_by_its_first_key(hub: Hub) -> None:
    token = await hub.token(F)
    _, csr_pem = generate_key_and_csr(F)
    first = await _enroll(hub, _json(token, csr_pem.decode()))
    assert first.status == 200
    cert = json.loads(first.body)["cert"]
    # Another key with the spent token: refused, whatever it asks for.
    for other in (_good_csr(F), _good_csr(E)):
        await refused(hub, "enroll.reuse", partial(_enroll, hub, _json(token, other)),
                      allowed={403})
    # The same key again (a box that crashed before saving): the same certificate, no change.
    again = await neutral(hub, "enroll.reuse", partial(
        _enroll, hub, _json(" " + token + "\n", csr_pem.decode())))
    assert json.loads(again.body)["cert"] == cert


ADMIN_PATHS = ["/v1/fleet", "/metrics"]


async def _admin_headers(hub: Hub) -> dict[str, dict[str, str]]:
    admin = await hub.token("admin", kind="admin")
    return {
        "none": {},
        "enroll-token": {"Authorization": f"Bearer {await hub.token(A)}"},
        "expired-admin": {"Authorization": "Bearer " + await hub.token(
            "admin", timedelta(seconds=-1), kind="admin")},
        "empty-bearer": {"Authorization": "Bearer "},
        "basic": {"Authorization": f"Basic {admin}"},
        "no-scheme": {"Authorization": admin},
        "lowercase-scheme": {"Authorization": f"bearer {admin}"},
        "too-long": {"Authorization": f"Bearer {admin}{'x' * 200}"},
        "wrong-token": {"Authorization": "Bearer adm_" + "A" * 43},
    }


@pytest.mark.parametrize("path", ADMIN_PATHS)
async def test_admin_endpoints_refuse_everything_but_an_admin_token(
        hub: Hub, a: Peer, path: str) -> None:
    for headers in (await _admin_headers(hub)).values():
        await refused(hub, "admin.auth", partial(hub.anonymous.request, "GET", path,
                                                 headers=headers), allowed={401})
    # A gateway certificate is never an admin credential.
    await refused(hub, "admin.auth", partial(a.request, "GET", path), allowed={401})
    admin = await hub.token("admin", kind="admin")
    for peer in (hub.anonymous, a):  # with or without a gateway certificate
        ok = await peer.request("GET", path, headers={"Authorization": f"Bearer {admin}"})
        assert ok.status == 200, ok
        assert (b"000.00.31.H35" if path == "/v1/fleet" else b"# TYPE gateway_") in ok.body


TRICKY_PATHS = ["/v1/fleet/", "//v1/fleet", "/v1//fleet", "/v1/./fleet", "/healthz/../v1/fleet",
                "/v1/%66leet", "/metrics/", "/metrics%2f", "/v1/fleet%00", "/V1/FLEET",
                "/v1/fleet?admin=1", "/healthz/../metrics", "/v1/enroll/../fleet",
                "/healthz%2f..%2fmetrics", "/v1/ca/../../metrics"]


@pytest.mark.parametrize("path", TRICKY_PATHS)
async def test_no_spelling_of_an_admin_path_skips_the_token(hub: Hub, a: Peer,
                                                            path: str) -> None:
    data = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").encode()
    await raw_refused(hub, "admin.path", a.ctx, data)


async def test_admin_token_cannot_write(hub: Hub) -> None:
    admin = await hub.token("admin", kind="admin")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        await refused(hub, "admin.auth", partial(
            hub.anonymous.request, method, "/v1/fleet", body=b"{}",
            headers={"Authorization": f"Bearer {admin}"}), allowed={405})
