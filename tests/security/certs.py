"""Certificates the hub did not issue, or issued long ago, built with ``cryptography``: foreign
CAs, twins of the provincial CA, expired and not-yet-valid leaves, rogue sub-CAs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.security.ca import AGENCY_URI_PREFIX, VALID_FROM, load_ca, private_key_pem
from tests.security.hostile import Hub


@dataclass(frozen=True)
class Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def self_signed(cls, name: str | x509.Name, *, path_length: int | None = 0) -> Issuer:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = name if isinstance(name, x509.Name) else x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(VALID_FROM).not_valid_after(datetime.now(UTC) + timedelta(days=99))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
            .add_extension(_usage(ca=True), True)
            .add_extension(ski, False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           False)
            .sign(key, hashes.SHA256()))
        return cls(cert, key)

    def issue(self, cn: str, *, uri: str | None = None, days: tuple[int, int] | None = None,
              ca: bool = False, eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A leaf (or CA) for ``cn``; ``days`` = validity window relative to now."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        start, end = (VALID_FROM, now + timedelta(days=3650)) if days is None else (
            now + timedelta(days=days[0]), now + timedelta(days=days[1]))
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None if not ca else 0),
                           True)
            .add_extension(_usage(ca=ca), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski), False))
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), False)
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.UniformResourceIdentifier(uri or AGENCY_URI_PREFIX + cn)]), False)
        return builder.sign(self.key, hashes.SHA256()), key


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                         decipher_only=False)


def write_identity(directory: Path, name: str, chain: list[x509.Certificate],
                   key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    key_path.write_bytes(private_key_pem(key))
    return cert_path, key_path


def hub_issuer(hub: Hub) -> Issuer:
    """The hub's own CA, as a thief of its key (or a forgotten backup) would hold it."""
    ca = load_ca(hub.layout.ca_dir)
    return Issuer(ca.certificate, ca.key)


async def register(hub: Hub, cert: x509.Certificate, agency: str) -> None:
    """Records ``cert`` in the hub's table as if the hub had issued it to ``agency``."""
    serial = format(cert.serial_number, "x")
    await hub.store.db.write(lambda c: c.execute(
        "INSERT INTO certificates(serial, agency, issued_ms) VALUES (?,?,?)",
        (serial, agency, hub.store.clock())))
