"""The provincial certificate authority: one self-signed root that issues every TLS identity.

The hub creates the CA once, issues its own server certificate from it, and signs each
gateway's CSR at enrollment. Gateways pin this CA alone, and the hub learns a caller's agency
from the certificate it issued, never from anything the caller says. Helpers that read
certificates or write key files without the CA key (agency extraction, SAN names, key checks,
``atomic_write``) live in :mod:`gateway.security.certs` and are re-exported here.

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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.security.certs import (
    AGENCY_URI_PREFIX,
    MIN_RSA_BITS,
    PkiError,
    agency_from_certificate,
    agency_from_der,
    atomic_write,
    check_agency,
    check_public_key,
    default_server_names,
    general_name,
    private_key_pem,
    same_public_key,
)

__all__ = [
    "AGENCY_URI_PREFIX", "CA_CERT_FILE", "CA_KEY_FILE", "CA_VALIDITY", "CLIENT_VALIDITY",
    "MAX_CSR_BYTES", "MIN_RSA_BITS", "SERVER_VALIDITY", "VALID_FROM",
    "CertificateAuthority", "PkiError",
    "agency_from_certificate", "agency_from_der", "atomic_write", "check_agency", "create_ca",
    "default_server_names", "load_ca", "private_key_pem", "same_public_key",
]

VALID_FROM = datetime(1970, 1, 1, tzinfo=UTC)
CA_VALIDITY = timedelta(days=30 * 365)
CLIENT_VALIDITY = timedelta(days=10 * 365)
SERVER_VALIDITY = timedelta(days=5 * 365)

CA_KEY_FILE = "ca-key.pem"
CA_CERT_FILE = "ca.pem"
MAX_CSR_BYTES = 16 * 1024


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise PkiError("'now' must be a timezone-aware datetime")
    return now.astimezone(UTC)


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
        sans = [general_name(n) for n in unique]
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
        check_public_key(public_key)
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
