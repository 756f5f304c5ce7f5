"""Keeping the provincial CA's key off the hub, and signing by hand what the hub cannot.

The CA key signs two things: each gateway's client certificate (at enrollment) and the hub's
server certificate. With the key online, whoever takes the hub's disk can mint identities the
boxes trust; with it offline (a USB stick in a safe, or a laptop that never goes online) the
hub keeps only ``ca.pem`` and:

- enrollment still starts at the box as always; the hub checks the token and keeps the CSR as
  a *request* (the box hears "waiting for the province to sign");
- the IT team carries the request file to the CA (``gateway hub ca requests``), signs it there
  (``gateway hub ca sign``, this module's :func:`sign_requests`) and brings the certificates
  back (``gateway hub ca install``); the box's next ``gateway enroll`` gets its certificate;
- the server certificate is renewed with the key brought along (``renew-cert --ca DIR``).

Both files are plain JSON that a person can read. Neither holds a secret (a token is
represented by its digest), and both are untrusted input where they are read: sizes, shapes and
every certificate are checked; the hub installs only certificates its CA signed for exactly
the key and agency of a request it holds.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from gateway.security.ca import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    MAX_CSR_BYTES,
    CertificateAuthority,
    PkiError,
    agency_from_certificate,
    check_agency,
    load_ca,
)

REQUESTS_FORMAT = "commune-enroll-requests/1"
SIGNED_FORMAT = "commune-enroll-signed/1"
MAX_FILE_BYTES = 8 * 2**20
MAX_ENTRIES = 2000
_DIGEST_LEN = 64


@dataclass(frozen=True)
class SignRequest:
    """One enrollment the hub accepted but could not sign (no CA key)."""

    id: str  # the enrollment token's digest: names the request, reveals nothing
    agency: str
    csr_pem: str


@dataclass(frozen=True)
class SignedCert:
    id: str
    agency: str
    cert_pem: str


def load_ca_certificate(directory: Path) -> bytes:
    """The CA certificate (PEM) of a hub whose key may be elsewhere."""
    try:
        pem = (directory / CA_CERT_FILE).read_bytes()
        x509.load_pem_x509_certificate(pem)
    except FileNotFoundError:
        raise PkiError(f"no CA certificate in {directory}") from None
    except ValueError as exc:
        raise PkiError(f"unreadable CA certificate in {directory}: {exc}") from None
    return pem


def hub_ca(directory: Path) -> tuple[CertificateAuthority | None, bytes]:
    """The hub's CA: whole when its key is here, else ``None`` with the public certificate."""
    if (directory / CA_KEY_FILE).exists():
        ca = load_ca(directory)
        return ca, ca.cert_pem
    return None, load_ca_certificate(directory)


def _copy_private(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with src.open("rb") as inp, dest.open("xb") as out:
        dest.chmod(0o600)
        shutil.copyfileobj(inp, out)
        out.flush()
        os.fsync(out.fileno())


def move_key(source: Path, dest: Path) -> CertificateAuthority:
    """Moves the CA key (and a copy of its certificate) from ``source`` to ``dest``, checking
    the copy loads and matches before the original is removed."""
    ca = load_ca(source)
    if (dest / CA_KEY_FILE).exists():
        there = load_ca(dest)
        if there.cert_pem != ca.cert_pem:
            raise PkiError(f"{dest} already holds another CA; refusing to overwrite it")
    else:
        _copy_private(source / CA_KEY_FILE, dest / CA_KEY_FILE)
        if not (dest / CA_CERT_FILE).exists():
            (dest / CA_CERT_FILE).write_bytes(ca.cert_pem)
    moved = load_ca(dest)
    if moved.cert_pem != ca.cert_pem:
        raise PkiError(f"{dest / CA_CERT_FILE} is not this hub's CA certificate")
    (source / CA_KEY_FILE).unlink()
    return moved


def _load_json(raw: bytes, fmt: str, key: str) -> list[dict[str, object]]:
    if len(raw) > MAX_FILE_BYTES:
        raise PkiError(f"file larger than {MAX_FILE_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise PkiError("not a JSON file") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise PkiError(f"not a {fmt} file")
    entries = data.get(key)
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise PkiError(f"'{key}' must be a list of at most {MAX_ENTRIES}")
    if not all(isinstance(e, dict) for e in entries):
        raise PkiError(f"'{key}' entries must be objects")
    return entries


def _text(entry: dict[str, object], key: str, limit: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise PkiError(f"entry field '{key}' missing or too long")
    return value


def _id(entry: dict[str, object]) -> str:
    value = _text(entry, "id", _DIGEST_LEN)
    if len(value) != _DIGEST_LEN or any(c not in "0123456789abcdef" for c in value):
        raise PkiError("entry 'id' is not a token digest")
    return value


def requests_file(requests: list[SignRequest], ca_pem: bytes) -> bytes:
    return json.dumps({"format": REQUESTS_FORMAT, "ca": ca_pem.decode(), "requests": [
        {"id": r.id, "agency": r.agency, "csr": r.csr_pem} for r in requests]},
        indent=1).encode()


def parse_requests(raw: bytes) -> list[SignRequest]:
    out = []
    for e in _load_json(raw, REQUESTS_FORMAT, "requests"):
        out.append(SignRequest(_id(e), check_agency(_text(e, "agency", 20)),
                               _text(e, "csr", MAX_CSR_BYTES)))
    return out


def sign_requests(ca: CertificateAuthority, raw: bytes, *,
                  now: datetime) -> tuple[bytes, int]:
    """At the CA: signs every request of a requests file; returns the signed file and how
    many it holds. A bad CSR refuses the whole file (nothing half-signed travels back)."""
    signed = []
    for r in parse_requests(raw):
        cert = ca.sign_csr(r.csr_pem.encode(), r.agency, now=now)
        signed.append({"id": r.id, "agency": r.agency,
                       "cert": cert.public_bytes(serialization.Encoding.PEM).decode()})
    out = json.dumps({"format": SIGNED_FORMAT, "certificates": signed}, indent=1).encode()
    return out, len(signed)


def parse_signed(raw: bytes, ca_pem: bytes) -> list[tuple[SignedCert, x509.Certificate]]:
    """At the hub: the certificates of a signed file, each checked to be issued by this CA to
    the agency it is filed under."""
    ca_cert = x509.load_pem_x509_certificate(ca_pem)
    out = []
    for e in _load_json(raw, SIGNED_FORMAT, "certificates"):
        entry = SignedCert(_id(e), check_agency(_text(e, "agency", 20)),
                           _text(e, "cert", MAX_CSR_BYTES))
        try:
            cert = x509.load_pem_x509_certificate(entry.cert_pem.encode())
            cert.verify_directly_issued_by(ca_cert)
        except (ValueError, TypeError, InvalidSignature):
            raise PkiError(f"a certificate for {entry.agency} was not issued by this hub's "
                           "CA") from None
        if agency_from_certificate(cert) != entry.agency:
            raise PkiError(f"a certificate filed under {entry.agency} names another agency")
        out.append((entry, cert))
    return out
