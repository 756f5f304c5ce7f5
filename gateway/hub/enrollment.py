"""Enrollment and its administration: one-time tokens, issuing, revoking.

A token is bound to one agency, expires, and is spent by the first CSR; only its digest is
stored. If the box dies after the hub signed but before it saved the certificate, it retries
with the same key (kept on disk before the CSR left) and receives the same certificate.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.hub.bodies import read_limited
from gateway.hub.state import HUB
from gateway.protocol.limits import MAX_ENROLL_BODY
from gateway.security.ca import CertificateAuthority, PkiError
from gateway.security.tokens import new_admin_token, new_token, token_digest
from gateway.store.hub.credentials import ENROLL, EnrollToken, Issue, Issued
from gateway.store.hub.documents import HubStore

ENROLL_BODY_S = 60.0  # no certificate yet: a whole body within a minute, however it trickles


async def create_token(store: HubStore, agency: str, ttl: timedelta, kind: str = ENROLL) -> str:
    """A new one-time enrollment token, or an admin token; only its digest is kept."""
    token = new_token() if kind == ENROLL else new_admin_token()
    expires = store.clock() + int(ttl.total_seconds() * 1000)
    await store.credentials.add_token(token_digest(token), agency, kind, expires)
    return token


async def revoke(store: HubStore, agency: str) -> int:
    """Revokes every live certificate of ``agency`` as of now; returns how many."""
    return await store.credentials.revoke(agency, store.clock())


async def certificate_count(store: HubStore, agency: str) -> int:
    """How many certificates were ever issued to ``agency``, revoked or not."""
    return await store.credentials.certificate_count(agency)


def _spki_sha256(csr: x509.CertificateSigningRequest) -> str:
    spki = csr.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _refuse(reason: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=f"{reason}\n")


async def handle_ca(request: web.Request) -> web.Response:
    """The CA certificate is public; boxes check it against the fingerprint in their token."""
    ca = request.app[HUB].ca
    if ca is None:
        raise web.HTTPServiceUnavailable(text="this hub has no CA\n")
    return web.Response(body=ca.cert_pem, content_type="application/x-pem-file")


async def handle_enroll(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    if hub.ca is None:
        raise web.HTTPServiceUnavailable(text="this hub has no CA\n")
    ca = hub.ca
    body = await read_limited(request, MAX_ENROLL_BODY, ENROLL_BODY_S)
    try:
        data = json.loads(body)  # deep nesting raises RecursionError, not ValueError
        token, csr_pem = str(data["token"])[:200], str(data["csr"]).encode()
        token.encode()  # a lone surrogate ("\ud800") cannot be hashed: refuse it here
        csr = x509.load_pem_x509_csr(csr_pem)
    except (ValueError, KeyError, TypeError, RecursionError):
        raise web.HTTPBadRequest(text="expected JSON with 'token' and 'csr' (PEM)\n") from None
    key_sha = _spki_sha256(csr)
    now = hub.store.clock()
    issue = _issuer(ca, csr_pem, key_sha, now)
    cert_pem_text = await hub.store.credentials.redeem(token_digest(token), key_sha, now, issue)
    return web.json_response({"cert": cert_pem_text, "ca": ca.cert_pem.decode()})


def _issuer(ca: CertificateAuthority, csr_pem: bytes, key_sha: str, now: int) -> Issue:
    """The decision on one token, taken inside the transaction that spends it."""

    def issue(token: EnrollToken | None) -> Issued | str:
        if token is None:
            raise _refuse("unknown enrollment token")
        if token.used_ms is not None:
            if token.key_sha256 == key_sha and token.cert_pem:
                return token.cert_pem  # the same box retrying: same certificate
            raise _refuse("this enrollment token was already used")
        if token.expires_ms <= now:
            raise _refuse("this enrollment token has expired")
        try:
            cert = ca.sign_csr(csr_pem, token.agency,
                               now=datetime.fromtimestamp(now / 1000, UTC))
        except PkiError as exc:
            raise _refuse(f"certificate request refused: {str(exc)[:200]}") from None
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        return Issued(format(cert.serial_number, "x"), token.agency, pem)

    return issue
