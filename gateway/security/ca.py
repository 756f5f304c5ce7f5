"""The provincial certificate authority: one self-signed root that issues every TLS identity.

The hub creates the CA once, issues its own server certificate from it, and signs each
gateway's CSR at enrollment. Gateways pin this CA alone, and the hub learns a caller's agency
from the certificate it issued, never from anything the caller says.

Clock policy. A gateway is a Raspberry-Pi-class box with no real-time clock: after a power cut
it may boot believing it is 1970, or whatever ``fake-hwclock`` saved months ago, and it can only
learn the real time by talking to the hub. Python's ``ssl`` checks validity windows against that
local clock, so every certificate a gateway checks (the CA and the hub's server certificate) and
every certificate it presents starts at the Unix epoch (``VALID_FROM``) instead of "now". The
windows end generously far out (CA 30 years, client 10, server 5) because expiry is a poor
off-switch for boxes nobody visits: revocation (a serial on the hub's deny list) is what removes
a gateway, and renewing a server certificate is an operator task on a machine with a good clock.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FROM = datetime(1970, 1, 1, tzinfo=UTC)
CA_VALIDITY = timedelta(days=30 * 365)
CLIENT_VALIDITY = timedelta(days=10 * 365)
SERVER_VALIDITY = timedelta(days=5 * 365)

CA_KEY_FILE = "ca-key.pem"
CA_CERT_FILE = "ca.pem"
AGENCY_URI_PREFIX = "urn:vn-agency:"
MAX_CSR_BYTES = 16 * 1024
MIN_RSA_BITS = 2048

# fullmatch + ASCII: ``$`` would accept a trailing newline and ``\d`` any Unicode digit.
_AGENCY = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", re.ASCII)


class PkiError(ValueError):
    """A certificate, CSR, key or CA directory that must not be used; the message says why."""


def check_agency(agency: str) -> str:
    """Return ``agency`` unchanged if it has the full ``AAA.BB.CC.DDD`` shape, else raise."""
    if not _AGENCY.fullmatch(agency):
        raise PkiError(f"invalid agency code {agency[:40]!r} (expected the form 000.01.20.H35)")
    return agency


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so a power cut leaves either the old file or the new one.

    The temporary file is created 0600 (``mkstemp``), so a key is never readable by others even
    for a moment; it is fsynced, renamed over ``path``, and the directory is fsynced.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode != 0o600:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise PkiError("'now' must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _check_public_key(key: CertificatePublicKeyTypes) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise PkiError(f"EC key on curve {key.curve.name} refused: only P-256 is accepted")
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise PkiError(f"RSA key of {key.key_size} bits refused: at least 2048 required")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise PkiError(f"{type(key).__name__} refused: use EC P-256, Ed25519 or RSA >= 2048")


def default_server_names() -> list[str]:
    """Names a hub on this machine is reached by: loopback plus the host name."""
    names = ["localhost", "127.0.0.1", socket.gethostname()]
    return list(dict.fromkeys(n for n in names if n))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name or len(name) > 253 or not name.isascii() or any(c.isspace() for c in name):
        raise PkiError(f"invalid server name {name[:64]!r} (use an IP address or ASCII DNS name)")
    return x509.DNSName(name.lower())


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA's certificate and private key, as loaded from (or written to) its directory."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def _builder(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        not_after: datetime,
    ) -> x509.CertificateBuilder:
        # Strict-mode OpenSSL (VERIFY_X509_STRICT) wants SKI/AKI and critical constraints.
        ca_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(VALID_FROM)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
                critical=False,
            )
        )

    def issue_server_cert(self, names: Sequence[str], *, now: datetime) -> tuple[bytes, bytes]:
        """A fresh P-256 key and server certificate for ``names``; returns (cert PEM, key PEM).

        Entries that parse as IP addresses become IPAddress SANs, the rest DNSName SANs.
        """
        if isinstance(names, str):
            raise PkiError("names must be a sequence of names, not one string")
        unique = list(dict.fromkeys(names))
        if not unique:
            raise PkiError("a server certificate needs at least one name")
        sans = [_general_name(n) for n in unique]
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, unique[0][:64])])
        cert = (
            self._builder(subject, key.public_key(), _utc(now) + SERVER_VALIDITY)
            .add_extension(_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), private_key_pem(key)

    def sign_csr(self, csr_pem: bytes, agency: str, *, now: datetime) -> x509.Certificate:
        """Issue the client certificate for ``agency`` from a gateway's CSR.

        Only the CSR's public key is used (after checking its self-signature, key type and that
        its CN is ``agency``); its other contents, requested extensions included, are ignored.
        """
        check_agency(agency)
        not_after = _utc(now) + CLIENT_VALIDITY
        if len(csr_pem) > MAX_CSR_BYTES:
            raise PkiError(f"CSR refused: larger than {MAX_CSR_BYTES} bytes")
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise PkiError(f"CSR refused: not a PEM certificate request ({exc})") from None
        try:
            signature_ok = csr.is_signature_valid
        except (ValueError, UnsupportedAlgorithm):
            signature_ok = False
        if not signature_ok:
            raise PkiError("CSR refused: its signature is invalid (corrupted or tampered)")
        try:
            public_key = csr.public_key()
            names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise PkiError(f"CSR refused: unreadable key or subject ({exc})") from None
        _check_public_key(public_key)
        common_names = [a.value for a in names]
        if common_names != [agency]:
            shown = ", ".join(repr(v) for v in common_names) or "none"
            raise PkiError(f"CSR refused: subject CN is {shown}, expected {agency!r}")
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agency)])
        uri = x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + agency)
        return (
            self._builder(subject, public_key, not_after)
            .add_extension(_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName([uri]), critical=False)
            .sign(self.key, hashes.SHA256())
        )


def _key_usage(*, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_ca(directory: Path, province: str, *, now: datetime) -> CertificateAuthority:
    """Create the provincial CA in ``directory``; refuses to overwrite an existing one."""
    province = province.strip()
    if not 1 <= len(province) <= 48:
        raise PkiError("province name must be 1 to 48 characters")
    key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
    if key_path.exists() or cert_path.exists():
        raise PkiError(f"a CA already exists in {directory}; refusing to overwrite it")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, province),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{province} gateway CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(_utc(now) + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(key, hashes.SHA256())
    )
    # Key first: a crash in between leaves a directory that create_ca and load_ca both refuse,
    # rather than a certificate whose key is lost.
    atomic_write(key_path, private_key_pem(key), mode=0o600)
    atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return CertificateAuthority(cert, key)


def load_ca(directory: Path) -> CertificateAuthority:
    """Load the CA written by :func:`create_ca`, checking the key is private and matches."""
    key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
    try:
        key_mode = key_path.stat().st_mode & 0o777
        key_pem, cert_pem = key_path.read_bytes(), cert_path.read_bytes()
    except FileNotFoundError as exc:
        raise PkiError(f"incomplete CA directory {directory}: {exc.filename} missing") from None
    if key_mode & 0o077:
        raise PkiError(f"{key_path} is readable by other users (mode {key_mode:o}); chmod 600 it")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise PkiError(f"unreadable CA in {directory}: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{key_path} is not an EC private key")
    if not same_public_key(cert.public_key(), key.public_key()):
        raise PkiError(f"{cert_path} does not belong to the key in {key_path}")
    return CertificateAuthority(cert, key)


def same_public_key(a: CertificatePublicKeyTypes, b: CertificatePublicKeyTypes) -> bool:
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(der, spki) == b.public_bytes(der, spki)


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
