"""Enrolling a box: trust the hub first, then spend the token.

The printed token carries the provincial CA's fingerprint (``TOKEN@FINGERPRINT``). The box
fetches the CA certificate, checks that fingerprint, and only then opens a verified TLS
connection to send its CSR and the token; a network attacker can neither impersonate the hub
nor steal the token. The key is written before the CSR leaves, so a retry after a crash
reuses it and the hub answers with the same certificate.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.model import Problem, Refused
from gateway.security.identity import (
    Identity,
    csr_for,
    load_or_create_key,
    save_identity,
)
from gateway.security.tls import client_context
from gateway.store.layout import check_hub_url
from gateway.sync.link import HubRefused, HubUnavailable
from gateway.sync.transport import HubClient

FINGERPRINT_HEX = 32


def ca_fingerprint(ca_pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()[:FINGERPRINT_HEX]


def _fingerprint_or_none(ca_pem: bytes) -> str | None:
    """An unreadable CA is simply not the provincial one: the token stays unsent."""
    try:
        return ca_fingerprint(ca_pem)
    except ValueError:
        return None


UNREACHABLE = "enroll.unreachable"  # worth trying again later: `gateway init` exits 75 on it


def _bad(vi: str, en: str) -> Refused:
    return Refused(Problem("enroll.failed", vi, en))


async def _fetch_ca(hub_url: str) -> bytes:
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE  # only to read the CA, which is checked just below
    client = HubClient(hub_url, insecure, sndbuf=None)
    try:
        return (await client.get_text("/v1/ca")).encode()
    finally:
        await client.close()


async def enroll(data: Path, agency: str, hub_url: str, token_text: str) -> Identity:
    check_hub_url(hub_url)  # before any byte leaves: the token must never travel in clear
    token, sep, fingerprint = token_text.strip().partition("@")
    if not sep or len(fingerprint) != FINGERPRINT_HEX:
        raise _bad("Mã đăng ký không đúng dạng (thiếu phần '@...').",
                   "Malformed enrollment token (the '@…' part is missing).")
    key_pem = load_or_create_key(data)  # a damaged key.pem is refused before the network
    try:
        ca_pem = await _fetch_ca(hub_url)
        if _fingerprint_or_none(ca_pem) != fingerprint.lower():
            raise _bad("Máy chủ không phải máy chủ của tỉnh (sai dấu vân tay CA). Không gửi mã.",
                       "The server is not the provincial hub (CA fingerprint mismatch).")
        ca_path = data / "identity" / "ca-pending.pem"
        ca_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        ca_path.write_bytes(ca_pem)
        client = HubClient(hub_url, client_context(ca_path), sndbuf=None)
        try:
            reply = await client.post_json("/v1/enroll", {
                "token": token, "csr": csr_for(key_pem, agency).decode()})
        finally:
            await client.close()
    except HubUnavailable as exc:
        raise Refused(Problem(
            UNREACHABLE, f"Không kết nối được máy chủ tỉnh: {exc}. Hãy thử lại khi có mạng.",
            f"Cannot reach the hub: {exc}. Try again when the link is up.")) from None
    except HubRefused as exc:
        raise _bad(f"Máy chủ tỉnh từ chối đăng ký: {exc.reason}",
                   f"The hub refused enrollment: {exc.reason}") from None
    except ValueError:  # the reply is not JSON (our own refusals are never ValueErrors)
        raise _bad("Máy chủ trả lời sai định dạng.", "Malformed answer from the hub.") from None
    if isinstance(reply, dict) and reply.get("pending") is True:  # the CA key is offline
        raise Refused(Problem(
            "enroll.pending", "Máy chủ tỉnh đã nhận yêu cầu đăng ký và đang chờ tỉnh ký chứng "
            "thư. Khi tỉnh báo đã ký, chạy lại đúng lệnh này (cùng mã đăng ký).",
            "The hub has the enrollment request; the province still has to sign it. When they "
            "say it is signed, run this same command again (same token)."))
    if not isinstance(reply, dict) or not isinstance(reply.get("cert"), str):
        raise _bad("Máy chủ trả lời sai định dạng.", "Malformed answer from the hub.")
    identity = save_identity(data, key_pem, str(reply["cert"]).encode(), ca_pem)
    ca_path.unlink(missing_ok=True)
    return identity
