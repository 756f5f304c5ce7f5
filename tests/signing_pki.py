"""A throwaway certificate hierarchy for the signing tests, made fresh with ``cryptography``.

root → intermediate → {signer (a person), agency (the commune), revoked signer};
a TSA certificate under the root; an unrelated second root with its own signer; a CRL from
the intermediate that revokes the revoked signer. Everything is written as PEM/PKCS#12 files in
a directory so tests can hand real files to the code and to poppler/NSS/SoftHSM tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

P12_PASSWORD = "mật-khẩu-thử"
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Party:
    name: str
    key: Key
    cert: x509.Certificate
    p12: Path  # key + cert + chain, encrypted with P12_PASSWORD
    key_pem: Path
    cert_pem: Path


@dataclass(frozen=True)
class Pki:
    dir: Path
    roots_pem: Path  # the trusted bundle: root only
    other_root_pem: Path
    crl: Path  # DER, from the intermediate, revokes `revoked`
    root: Party
    intermediate: Party
    signer: Party
    agency: Party
    revoked: Party
    stranger: Party  # chains to the other root
    tsa: Party


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: x509.Name, key: Key, issuer: x509.Name, issuer_key: Key, *, ca: bool,
          serial: int, eku: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = datetime.now(UTC)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(now - timedelta(days=30)).not_valid_after(now + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                          False), critical=True)
    elif eku is not None:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                          False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                          False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _party(d: Path, tag: str, name: str, key: Key, cert: x509.Certificate,
           chain: list[x509.Certificate]) -> Party:
    p12 = d / f"{tag}.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        tag.encode(), key, cert, chain,
        serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
    key_pem = d / f"{tag}.key.pem"
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    cert_pem = d / f"{tag}.pem"
    cert_pem.write_bytes(_pem(cert))
    return Party(name, key, cert, p12, key_pem, cert_pem)


def make_pki(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    def rsa_key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    root_k, inter_k, other_k = rsa_key(), rsa_key(), rsa_key()
    root_n = _name("Thử nghiệm Root CA", "Ban Thử nghiệm")
    inter_n = _name("Thử nghiệm CA cấp 2", "Ban Thử nghiệm")
    other_n = _name("Unrelated Root", "Elsewhere Ltd")
    root_c = _cert(root_n, root_k, root_n, root_k, ca=True, serial=1)
    inter_c = _cert(inter_n, inter_k, root_n, root_k, ca=True, serial=2)
    other_c = _cert(other_n, other_k, other_n, other_k, ca=True, serial=3)

    def leaf(tag: str, cn: str, org: str, serial: int, issuer: tuple[x509.Name, Key],
             chain: list[x509.Certificate], eku: x509.ObjectIdentifier | None = None) -> Party:
        k = rsa_key()
        c = _cert(_name(cn, org), k, issuer[0], issuer[1], ca=False, serial=serial, eku=eku)
        return _party(d, tag, cn, k, c, chain)

    inter = (inter_n, inter_k)
    signer = leaf("signer", "Nguyễn Văn An", "UBND xã Tân Phong", 0x5101, inter, [inter_c])
    agency = leaf("agency", "UBND xã Tân Phong", "UBND xã Tân Phong", 0x5102, inter, [inter_c])
    revoked = leaf("revoked", "Trần Thị Bình", "UBND xã Tân Phong", 0x5103, inter, [inter_c])
    stranger = leaf("stranger", "Kẻ Lạ", "Elsewhere Ltd", 0x5104, (other_n, other_k), [other_c])
    tsa = leaf("tsa", "Thử nghiệm TSA", "Ban Thử nghiệm", 0x5105, (root_n, root_k), [],
               eku=ExtendedKeyUsageOID.TIME_STAMPING)
    now = datetime.now(UTC)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(inter_n)
           .last_update(now - timedelta(days=1)).next_update(now + timedelta(days=30))
           .add_revoked_certificate(x509.RevokedCertificateBuilder()
                                    .serial_number(revoked.cert.serial_number)
                                    .revocation_date(now - timedelta(hours=1)).build())
           .add_extension(x509.CRLNumber(1), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
               inter_k.public_key()), critical=False)
           .sign(inter_k, hashes.SHA256()))
    (d / "roots.pem").write_bytes(_pem(root_c))
    (d / "other-root.pem").write_bytes(_pem(other_c))
    (d / "inter.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return Pki(d, d / "roots.pem", d / "other-root.pem", d / "inter.crl",
               _party(d, "root", "root", root_k, root_c, []),
               _party(d, "inter", "inter", inter_k, inter_c, [root_c]),
               signer, agency, revoked, stranger, tsa)


_made: dict[str, Pki] = {}


def shared_pki() -> Pki:
    """One hierarchy per test process (RSA key generation is the slow part), removed at exit."""
    if "pki" not in _made:
        import atexit
        import shutil
        import tempfile

        d = Path(tempfile.mkdtemp(prefix="gw-signing-pki-"))
        atexit.register(shutil.rmtree, d, True)
        _made["pki"] = make_pki(d)
    return _made["pki"]
