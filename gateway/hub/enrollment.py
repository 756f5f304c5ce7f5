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
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gateway.hub.bodies import read_limited
from gateway.hub.state import HUB
from gateway.protocol.limits import MAX_ENROLL_BODY
from gateway.security.ca import CertificateAuthority, PkiError
from gateway.security.certs import check_public_key
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
    hub = request.app[HUB]
    pem = hub.ca.cert_pem if hub.ca is not None else hub.ca_pem
    if not pem:
        raise web.HTTPServiceUnavailable(text="this hub has no CA\n")
    return web.Response(body=pem, content_type="application/x-pem-file")


async def handle_enroll(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    if hub.ca is None and not hub.ca_pem:
        raise web.HTTPServiceUnavailable(text="this hub has no CA\n")
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
    if hub.ca is None:
        return await _request_offline(hub.store, token, csr_pem, key_sha, now, hub.ca_pem)
    issue = _issuer(hub.ca, csr_pem, key_sha, now)
    cert_pem_text = await hub.store.credentials.redeem(token_digest(token), key_sha, now, issue)
    return web.json_response({"cert": cert_pem_text, "ca": hub.ca.cert_pem.decode()})


def _check_token(token: EnrollToken | None, key_sha: str,
                 now: int) -> tuple[EnrollToken, str | None]:
    """The rules every enrollment follows: the token, with the certificate already issued to
    this key or None when a new one may be issued; or a refusal."""
    if token is None:
        raise _refuse("unknown enrollment token")
    if token.used_ms is not None:
        if token.key_sha256 == key_sha and token.cert_pem:
            return token, token.cert_pem  # the same box retrying: same certificate
        raise _refuse("this enrollment token was already used")
    if token.expires_ms <= now:
        raise _refuse("this enrollment token has expired")
    return token, None


async def _request_offline(store: HubStore, token: str, csr_pem: bytes, key_sha: str,
                           now: int, ca_pem: bytes) -> web.Response:
    """No CA key here: a valid token's CSR is kept for the offline CA (``202``), and the same
    box asking again once it was signed and installed gets its certificate."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
        check_public_key(csr.public_key())
        if not csr.is_signature_valid:
            raise PkiError("its signature is invalid")
    except (PkiError, ValueError, UnsupportedAlgorithm) as exc:
        raise _refuse(f"certificate request refused: {str(exc)[:200]}") from None

    def decide(found: EnrollToken | None, requested_key: str | None) -> str | None:
        token_row, signed = _check_token(found, key_sha, now)
        if signed is not None:
            return signed
        if requested_key not in (None, key_sha):
            raise _refuse("this enrollment token was already used")
        if _cn(csr) != token_row.agency:
            raise _refuse(f"certificate request refused: subject CN is not {token_row.agency}")
        return None

    signed = await store.credentials.request(token_digest(token), key_sha, csr_pem.decode(),
                                             now, decide)
    if signed is not None:
        return web.json_response({"cert": signed, "ca": ca_pem.decode()})
    return web.json_response({"pending": True}, status=202)


def _cn(csr: x509.CertificateSigningRequest) -> str:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if len(names) == 1 else ""


def _issuer(ca: CertificateAuthority, csr_pem: bytes, key_sha: str, now: int) -> Issue:
    """The decision on one token, taken inside the transaction that spends it."""

    def issue(found: EnrollToken | None) -> Issued | str:
        token, signed = _check_token(found, key_sha, now)
        if signed is not None:
            return signed
        try:
            cert = ca.sign_csr(csr_pem, token.agency,
                               now=datetime.fromtimestamp(now / 1000, UTC))
        except PkiError as exc:
            raise _refuse(f"certificate request refused: {str(exc)[:200]}") from None
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        return Issued(format(cert.serial_number, "x"), token.agency, pem)

    return issue
