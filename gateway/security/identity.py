"""The gateway's own TLS identity: its private key, its client certificate and the pinned CA.

The key is generated on the box and never leaves it; only a CSR travels to the hub. Everything
lives under ``DATA_DIR/identity/``. The certificate is written last, so its presence means the
enrollment finished: :func:`load_identity` treats a missing certificate as "not enrolled yet".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.security.ca import (
    PkiError,
    agency_from_certificate,
    atomic_write,
    check_agency,
    private_key_pem,
    same_public_key,
)

IDENTITY_DIR = "identity"
KEY_FILE = "key.pem"
CERT_FILE = "cert.pem"
CA_FILE = "ca.pem"


@dataclass(frozen=True)
class Identity:
    """Where an enrolled gateway keeps its files; feed them to ``tls.client_context``."""

    key_path: Path
    cert_path: Path
    ca_path: Path

    @classmethod
    def under(cls, data_dir: Path) -> Identity:
        base = data_dir / IDENTITY_DIR
        return cls(base / KEY_FILE, base / CERT_FILE, base / CA_FILE)


def generate_key_and_csr(agency: str) -> tuple[bytes, bytes]:
    """A new P-256 key and a CSR with CN=``agency``; returns (key PEM, CSR PEM)."""
    key_pem = private_key_pem(ec.generate_private_key(ec.SECP256R1()))
    return key_pem, csr_for(key_pem, agency)


def csr_for(key_pem: bytes, agency: str) -> bytes:
    """A CSR with CN=``agency`` for an existing key (an enrollment retried after a crash)."""
    check_agency(agency)
    key = _load_key(key_pem)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agency)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def load_or_create_key(data_dir: Path) -> bytes:
    """The box's private key, made once and kept (0600) before any CSR leaves the box, so an
    enrollment interrupted after the hub signed can be repeated with the same key."""
    path = Identity.under(data_dir).key_path
    if path.exists():
        try:
            key_pem = path.read_bytes()
        except OSError as exc:
            raise PkiError(f"{path}: {exc.strerror}") from None
        _load_key(key_pem)
        return key_pem
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_pem = private_key_pem(ec.generate_private_key(ec.SECP256R1()))
    atomic_write(path, key_pem, mode=0o600)
    return key_pem


def _load_key(key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise PkiError(f"{KEY_FILE} is damaged: not a readable private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{KEY_FILE} is not an EC P-256 key")
    return key


def _parse(key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> x509.Certificate:
    """Check the three files form one identity; returns the client certificate."""
    key = _load_key(key_pem)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca_certs = x509.load_pem_x509_certificates(ca_pem)
    except ValueError as exc:
        raise PkiError(f"unreadable identity material: {str(exc)[:120]}") from None
    if len(ca_certs) != 1:
        raise PkiError(f"the CA file must hold exactly one certificate, not {len(ca_certs)}")
    if not same_public_key(cert.public_key(), key.public_key()):
        raise PkiError("the certificate does not belong to this gateway's key")
    try:
        cert.verify_directly_issued_by(ca_certs[0])
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError("the certificate was not issued by the pinned CA") from None
    agency_from_certificate(cert)
    return cert


def save_identity(data_dir: Path, key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> Identity:
    """Store an enrollment result after checking it is coherent; the key file is 0600."""
    _parse(key_pem, cert_pem, ca_pem)
    identity = Identity.under(data_dir)
    identity.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(identity.key_path, key_pem, mode=0o600)
    atomic_write(identity.ca_path, ca_pem, mode=0o644)
    atomic_write(identity.cert_path, cert_pem, mode=0o644)
    return identity


def load_identity(data_dir: Path) -> Identity | None:
    """The stored identity, or ``None`` when this gateway has not finished enrolling."""
    identity = Identity.under(data_dir)
    if not identity.cert_path.exists():
        return None
    try:
        key_pem = identity.key_path.read_bytes()
        cert_pem = identity.cert_path.read_bytes()
        ca_pem = identity.ca_path.read_bytes()
    except FileNotFoundError as exc:
        raise PkiError(f"incomplete identity: {exc.filename} is missing") from None
    except OSError as exc:
        raise PkiError(f"unreadable identity: {exc.filename}: {exc.strerror}") from None
    _parse(key_pem, cert_pem, ca_pem)
    return identity


def identity_agency(identity: Identity) -> str:
    cert = x509.load_pem_x509_certificate(identity.cert_path.read_bytes())
    return agency_from_certificate(cert)


def cert_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the DER certificate, lower-case hex: what operators compare by phone."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
