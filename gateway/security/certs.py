"""Certificate and key helpers that need no CA: agency names, SAN names, key checks, PEM files.

Both sides use these. The hub reads a caller's agency from the certificate its CA issued
(:func:`agency_from_certificate`; ambiguity is an error, never a guess), the gateway checks
the certificate it is handed back and writes its key, and the CA builds its SANs and vets CSR
keys with them. Nothing here holds or loads the CA key; that is :mod:`gateway.security.ca`.
Callers import these names from :mod:`gateway.security.ca` or :mod:`gateway.security`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from gateway.errors import GatewayError
from gateway.store.layout import write_atomic

AGENCY_URI_PREFIX = "urn:vn-agency:"
MIN_RSA_BITS = 2048

# fullmatch + ASCII: ``$`` would accept a trailing newline and ``\d`` any Unicode digit.
_AGENCY = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", re.ASCII)


class PkiError(GatewayError):
    """A certificate, CSR, key or CA directory that must not be used; the message says why."""


# ---------------------------------------------------------------- agencies


def check_agency(agency: str) -> str:
    """Return ``agency`` unchanged if it has the full ``AAA.BB.CC.DDD`` shape, else raise."""
    if not _AGENCY.fullmatch(agency):
        raise PkiError(f"invalid agency code {agency[:40]!r} (expected the form 000.01.20.H35)")
    return agency


def agency_from_certificate(cert: x509.Certificate) -> str:
    """The agency a client certificate speaks for: its ``urn:vn-agency:`` SAN, else its CN.

    Ambiguity is an error: several agency URIs, or a URI that contradicts the CN.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    except x509.ExtensionNotFound:
        uris = []
    agencies = [u[len(AGENCY_URI_PREFIX) :] for u in uris if u.startswith(AGENCY_URI_PREFIX)]
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if len(agencies) > 1 or len(cns) > 1:
        raise PkiError("certificate names more than one agency")
    cn = cns[0] if cns and isinstance(cns[0], str) else None
    if agencies:
        if cn is not None and cn != agencies[0]:
            raise PkiError("certificate agency URI and CN disagree")
        return check_agency(agencies[0])
    if cn is None:
        raise PkiError("certificate names no agency")
    return check_agency(cn)


def agency_from_der(der: bytes) -> str:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise PkiError(f"not a DER certificate: {exc}") from None
    return agency_from_certificate(cert)


# ---------------------------------------------------------------- keys


def check_public_key(key: CertificatePublicKeyTypes) -> None:
    """Raise unless ``key`` is EC P-256, Ed25519 or RSA of at least ``MIN_RSA_BITS``."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise PkiError(f"EC key on curve {key.curve.name} refused: only P-256 is accepted")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise PkiError(f"RSA key of {key.key_size} bits refused: at least 2048 required")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise PkiError(f"{type(key).__name__} refused: use EC P-256, Ed25519 or RSA >= 2048")


def same_public_key(a: CertificatePublicKeyTypes, b: CertificatePublicKeyTypes) -> bool:
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(der, spki) == b.public_bytes(der, spki)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# ---------------------------------------------------------------- server names


def default_server_names() -> list[str]:
    """Names a hub on this machine is reached by: loopback plus the host name."""
    names = ["localhost", "127.0.0.1", socket.gethostname()]
    return list(dict.fromkeys(n for n in names if n))


def general_name(name: str) -> x509.GeneralName:
    """The SAN entry for a server name: an IPAddress if it parses as one, else a DNSName."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name or len(name) > 253 or not name.isascii() or any(c.isspace() for c in name):
        raise PkiError(f"invalid server name {name[:64]!r} (use an IP address or ASCII DNS name)")
    return x509.DNSName(name.lower())


# ---------------------------------------------------------------- files


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Key material defaults to 0600; the mechanism is :func:`gateway.store.layout.write_atomic`."""
    write_atomic(path, data, mode)


def not_after_s(cert_pem: bytes) -> int:
    """When a PEM certificate expires, in Unix seconds (for the hub's expiry metrics)."""
    return int(x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc.timestamp())
