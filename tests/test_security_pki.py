"""The provincial PKI end to end: CA, CSRs, identities, tokens and real mutual TLS on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import socket
import ssl
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import DNSName
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from hypothesis import given
from hypothesis import strategies as st

from gateway.security import (
    AGENCY_URI_PREFIX,
    CLIENT_VALIDITY,
    SERVER_VALIDITY,
    VALID_FROM,
    CertificateAuthority,
    Identity,
    PkiError,
    agency_from_certificate,
    agency_from_der,
    cert_fingerprint,
    cert_serial,
    client_context,
    constant_time_equals,
    create_ca,
    default_server_names,
    format_ttl,
    generate_key_and_csr,
    identity_agency,
    load_ca,
    load_identity,
    new_admin_token,
    new_token,
    parse_ttl,
    peer_agency,
    save_identity,
    server_context,
    token_digest,
)
from gateway.security.ca import private_key_pem
from gateway.security.tokens import MAX_TTL

AGENCY = "000.01.20.H35"
OTHER = "000.02.20.H35"
NOW = datetime.now(UTC)
PEM = serialization.Encoding.PEM


@dataclass
class Pki:
    root: Path
    ca: CertificateAuthority
    ca_path: Path
    server: ssl.SSLContext
    identity: Identity


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = create_ca(tmp_path / "ca", "Bắc Ninh", now=NOW)
    cert_pem, key_pem = ca.issue_server_cert(["localhost", "127.0.0.1"], now=NOW)
    (tmp_path / "server.pem").write_bytes(cert_pem)
    (tmp_path / "server-key.pem").write_bytes(key_pem)
    ca_path = tmp_path / "ca" / "ca.pem"
    server = server_context(tmp_path / "server.pem", tmp_path / "server-key.pem", ca_path)
    key, csr = generate_key_and_csr(AGENCY)
    cert = ca.sign_csr(csr, AGENCY, now=NOW)
    identity = save_identity(tmp_path / "gw", key, cert.public_bytes(PEM), ca.cert_pem)
    return Pki(tmp_path, ca, ca_path, server, identity)


def _build_cert(
    issuer: CertificateAuthority,
    key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime = VALID_FROM,
    not_after: datetime = NOW + CLIENT_VALIDITY,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
    san: Sequence[x509.GeneralName] = (x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + AGENCY),),
) -> x509.Certificate:
    """A certificate the CA would never issue (past window, odd names), built by hand."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, AGENCY)]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), False)
    return builder.sign(issuer.key, hashes.SHA256())


def _write_client(directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    directory.mkdir()
    (directory / "cert.pem").write_bytes(cert.public_bytes(PEM))
    (directory / "key.pem").write_bytes(private_key_pem(key))


def _context_for(pki: Pki, directory: Path) -> ssl.SSLContext:
    return client_context(pki.ca_path, directory / "cert.pem", directory / "key.pem")


@dataclass
class Outcome:
    reply: bytes | None = None  # what the hub answered; b"" or None when the exchange failed
    error: BaseException | None = None
    seen: list[str | None] = field(default_factory=list)  # agencies the hub's handler saw
    hub_errors: list[str] = field(default_factory=list)  # failed handshakes on the hub's side

    def refused_by_hub(self, reason: str) -> bool:
        return not self.reply and not self.seen and any(reason in e for e in self.hub_errors)


async def exchange(
    server: ssl.SSLContext, client: ssl.SSLContext, hostname: str = "localhost"
) -> Outcome:
    """One TLS connection on loopback; the hub replies with the agency it derived."""
    outcome = Outcome()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        agency = peer_agency(writer.get_extra_info("ssl_object"))
        outcome.seen.append(agency)
        writer.write(f"{agency}\n".encode())
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    loop = asyncio.get_running_loop()
    debug, handler = loop.get_debug(), loop.get_exception_handler()
    # asyncio reports a failed server-side handshake (and so its reason) only in debug mode.
    loop.set_debug(True)
    loop.set_exception_handler(lambda _, ctx: outcome.hub_errors.append(str(ctx.get("exception"))))
    hub = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server)
    port = hub.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=hostname), 5
        )
        try:
            outcome.reply = await asyncio.wait_for(reader.readline(), 5)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    except (OSError, asyncio.IncompleteReadError) as exc:  # ssl.SSLError is an OSError
        outcome.error = exc
    finally:
        for _ in range(100):  # the hub may notice a failed handshake after the client gave up
            if outcome.seen or outcome.hub_errors:
                break
            await asyncio.sleep(0.01)
        hub.close()
        await hub.wait_closed()
        loop.set_debug(debug)
        loop.set_exception_handler(handler)
    return outcome


# --- real handshakes -------------------------------------------------------------------------


async def test_enrolled_gateway_is_identified_by_its_certificate(pki: Pki) -> None:
    ident = pki.identity
    client = client_context(ident.ca_path, ident.cert_path, ident.key_path)
    outcome = await exchange(pki.server, client)
    assert outcome.reply == f"{AGENCY}\n".encode()
    assert outcome.seen == [AGENCY]


async def test_no_client_certificate_connects_but_has_no_agency(pki: Pki) -> None:
    outcome = await exchange(pki.server, client_context(pki.ca_path))
    assert outcome.reply == b"None\n"
    assert outcome.seen == [None]


async def test_certificate_from_foreign_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    foreign = create_ca(tmp_path / "foreign", "Elsewhere", now=NOW)
    key, csr = generate_key_and_csr(AGENCY)
    cert = foreign.sign_csr(csr, AGENCY, now=NOW)
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "cert.pem").write_bytes(cert.public_bytes(PEM))
    (tmp_path / "f" / "key.pem").write_bytes(key)
    outcome = await exchange(pki.server, _context_for(pki, tmp_path / "f"))
    assert outcome.refused_by_hub("unable to get local issuer certificate")


async def test_hand_built_certificate_is_accepted(pki: Pki, tmp_path: Path) -> None:
    """Control for the two tests below: only the window or the usage makes them fail."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build_cert(pki.ca, key)
    _write_client(tmp_path / "ok", cert, key)
    outcome = await exchange(pki.server, _context_for(pki, tmp_path / "ok"))
    assert outcome.seen == [AGENCY]


async def test_expired_client_certificate_is_refused(pki: Pki, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    old = datetime(2021, 1, 1, tzinfo=UTC)
    cert = _build_cert(pki.ca, key, not_before=old, not_after=old + timedelta(days=1))
    _write_client(tmp_path / "old", cert, key)
    outcome = await exchange(pki.server, _context_for(pki, tmp_path / "old"))
    assert outcome.refused_by_hub("certificate has expired")


async def test_server_certificate_cannot_act_as_a_gateway(pki: Pki, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build_cert(pki.ca, key, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    _write_client(tmp_path / "srv", cert, key)
    outcome = await exchange(pki.server, _context_for(pki, tmp_path / "srv"))
    assert outcome.refused_by_hub("unsuitable certificate purpose")


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
async def test_server_certificate_names(pki: Pki, hostname: str) -> None:
    outcome = await exchange(pki.server, client_context(pki.ca_path), hostname)
    assert outcome.reply == b"None\n"


async def test_hostname_mismatch_is_refused(pki: Pki) -> None:
    outcome = await exchange(pki.server, client_context(pki.ca_path), "hub.example.org")
    assert isinstance(outcome.error, ssl.SSLCertVerificationError)
    assert "Hostname mismatch" in str(outcome.error)
    assert not outcome.seen


async def test_gateway_trusts_only_the_pinned_ca(pki: Pki, tmp_path: Path) -> None:
    create_ca(tmp_path / "foreign", "Elsewhere", now=NOW)
    context = client_context(tmp_path / "foreign" / "ca.pem")
    assert len(context.get_ca_certs()) == 1  # no system roots
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert not context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    outcome = await exchange(pki.server, context)
    assert isinstance(outcome.error, ssl.SSLCertVerificationError)


def test_context_arguments_are_checked(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both or neither"):
        client_context(pki.ca_path, cert_path=pki.identity.cert_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.ca.cert_pem * 2)
    with pytest.raises(PkiError, match="exactly"):
        client_context(bundle)
    assert server_context(pki.root / "server.pem", pki.root / "server-key.pem", pki.ca_path)


def test_peer_agency_without_tls() -> None:
    assert peer_agency(None) is None


# --- the CA ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clock", [datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2019, 6, 1, tzinfo=UTC), NOW]
)
def test_gateway_with_a_wrong_clock_still_trusts_the_hub(pki: Pki, clock: datetime) -> None:
    """The RTC-less policy, checked with cryptography's own strict verifier at a chosen time."""
    cert = x509.load_pem_x509_certificate((pki.root / "server.pem").read_bytes())
    store = Store([pki.ca.certificate])
    verifier = PolicyBuilder().store(store).time(clock).build_server_verifier(DNSName("localhost"))
    assert verifier.verify(cert, [])[-1] == pki.ca.certificate
    late = PolicyBuilder().store(store).time(NOW + SERVER_VALIDITY + timedelta(days=1))
    with pytest.raises(VerificationError):
        late.build_server_verifier(DNSName("localhost")).verify(cert, [])


def test_ca_files_and_reload(pki: Pki) -> None:
    key_file = pki.root / "ca" / "ca-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = load_ca(pki.root / "ca")
    assert again.certificate == pki.ca.certificate
    assert again.certificate.not_valid_before_utc == VALID_FROM
    constraints = again.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca and constraints.critical
    with pytest.raises(PkiError, match="already exists"):
        create_ca(pki.root / "ca", "Bắc Ninh", now=NOW)
    key_file.chmod(0o644)
    with pytest.raises(PkiError, match="chmod 600"):
        load_ca(pki.root / "ca")
    assert not list((pki.root / "ca").glob(".*.tmp"))


def test_issued_client_certificate(pki: Pki) -> None:
    _, csr = generate_key_and_csr(AGENCY)
    cert = pki.ca.sign_csr(csr, AGENCY, now=NOW)
    second = pki.ca.sign_csr(csr, AGENCY, now=NOW)
    assert cert.serial_number != second.serial_number and cert.serial_number > 0
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == AGENCY
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:vn-agency:{AGENCY}"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_before_utc == VALID_FROM
    assert abs(cert.not_valid_after_utc - (NOW + CLIENT_VALIDITY)) < timedelta(seconds=2)
    cert.verify_directly_issued_by(pki.ca.certificate)
    assert agency_from_certificate(cert) == AGENCY
    der = cert.public_bytes(serialization.Encoding.DER)
    assert agency_from_der(der) == AGENCY
    assert cert_serial(der) == cert.serial_number


def test_csr_with_other_cn_is_refused(pki: Pki) -> None:
    _, csr = generate_key_and_csr(OTHER)
    with pytest.raises(PkiError, match="CN"):
        pki.ca.sign_csr(csr, AGENCY, now=NOW)


def test_tampered_csr_is_refused(pki: Pki) -> None:
    _, csr = generate_key_and_csr(OTHER)
    der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
    forged = der.replace(OTHER.encode(), AGENCY.encode())
    assert forged != der
    pem = x509.load_der_x509_csr(forged).public_bytes(PEM)
    with pytest.raises(PkiError, match="signature"):
        pki.ca.sign_csr(pem, AGENCY, now=NOW)
    with pytest.raises(PkiError, match="not a PEM"):
        pki.ca.sign_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", AGENCY, now=NOW)


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, AGENCY)])
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(PEM)


def test_csr_key_types(pki: Pki) -> None:
    pki.ca.sign_csr(_csr(ed25519.Ed25519PrivateKey.generate()), AGENCY, now=NOW)
    pki.ca.sign_csr(_csr(rsa.generate_private_key(65537, 2048)), AGENCY, now=NOW)
    with pytest.raises(PkiError, match="RSA key of 1024 bits"):
        pki.ca.sign_csr(_csr(rsa.generate_private_key(65537, 1024)), AGENCY, now=NOW)
    with pytest.raises(PkiError, match="secp384r1"):
        pki.ca.sign_csr(_csr(ec.generate_private_key(ec.SECP384R1())), AGENCY, now=NOW)


def test_csr_extensions_are_never_copied(pki: Pki) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    claim = x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + OTHER)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, AGENCY)]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([claim]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert = pki.ca.sign_csr(csr.public_bytes(PEM), AGENCY, now=NOW)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert agency_from_certificate(cert) == AGENCY


@pytest.mark.parametrize("agency", [f"{AGENCY}\n", "000.01.20.h35", "00.01.20.H35", "٠٠٠.1.2.H35"])
def test_malformed_agency_is_refused(pki: Pki, agency: str) -> None:
    _, csr = generate_key_and_csr(AGENCY)
    with pytest.raises(PkiError, match="invalid agency"):
        pki.ca.sign_csr(csr, agency, now=NOW)


def test_naive_now_is_refused(pki: Pki) -> None:
    _, csr = generate_key_and_csr(AGENCY)
    with pytest.raises(PkiError, match="timezone"):
        pki.ca.sign_csr(csr, AGENCY, now=datetime(2026, 1, 1))


def test_agency_from_certificate_edge_cases(pki: Pki) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert agency_from_certificate(_build_cert(pki.ca, key, san=())) == AGENCY
    two = (x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + AGENCY),) * 2
    with pytest.raises(PkiError, match="more than one"):
        agency_from_certificate(_build_cert(pki.ca, key, san=two))
    other = (x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + OTHER),)
    with pytest.raises(PkiError, match="disagree"):
        agency_from_certificate(_build_cert(pki.ca, key, san=other))
    with pytest.raises(PkiError, match="invalid agency"):
        agency_from_certificate(pki.ca.certificate)
    with pytest.raises(PkiError, match="DER"):
        agency_from_der(b"junk")


def test_server_certificate_sans(pki: Pki) -> None:
    cert_pem, key_pem = pki.ca.issue_server_cert(["hub.local", "10.0.0.1", "::1"], now=NOW)
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hub.local"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert abs(cert.not_valid_after_utc - (NOW + SERVER_VALIDITY)) < timedelta(seconds=2)
    assert b"PRIVATE KEY" in key_pem
    with pytest.raises(PkiError):
        pki.ca.issue_server_cert([], now=NOW)
    with pytest.raises(PkiError):
        pki.ca.issue_server_cert(["bad name"], now=NOW)
    with pytest.raises(PkiError, match="not one string"):
        pki.ca.issue_server_cert("localhost", now=NOW)
    assert default_server_names()[:2] == ["localhost", "127.0.0.1"]
    assert socket.gethostname() in default_server_names()


# --- the gateway's identity ------------------------------------------------------------------


def test_identity_round_trip(pki: Pki, tmp_path: Path) -> None:
    assert load_identity(tmp_path / "fresh") is None
    loaded = load_identity(tmp_path / "gw")
    assert loaded == pki.identity
    assert loaded.key_path.parent == tmp_path / "gw" / "identity"
    assert stat.S_IMODE(loaded.key_path.stat().st_mode) == 0o600
    assert identity_agency(loaded) == AGENCY
    cert_pem = loaded.cert_path.read_bytes()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    assert cert_fingerprint(cert_pem) == hashlib.sha256(der).hexdigest()


def test_save_identity_refuses_incoherent_material(pki: Pki, tmp_path: Path) -> None:
    cert_pem = pki.identity.cert_path.read_bytes()
    other_key, _ = generate_key_and_csr(AGENCY)
    with pytest.raises(PkiError, match="does not belong"):
        save_identity(tmp_path / "x", other_key, cert_pem, pki.ca.cert_pem)
    foreign = create_ca(tmp_path / "foreign", "Elsewhere", now=NOW)
    key = pki.identity.key_path.read_bytes()
    with pytest.raises(PkiError, match="not issued"):
        save_identity(tmp_path / "x", key, cert_pem, foreign.cert_pem)
    assert load_identity(tmp_path / "x") is None


# --- tokens ----------------------------------------------------------------------------------


def test_tokens() -> None:
    first, second = new_token(), new_token()
    assert first.startswith("enr_") and len(first) == 4 + 43
    assert new_admin_token().startswith("adm_")
    assert first != second and token_digest(first) != token_digest(second)
    assert len(token_digest(first)) == 64 and token_digest(f" {first}\n") == token_digest(first)
    assert new_token(lambda n: b"\x00" * n) == "enr_" + "A" * 43
    with pytest.raises(ValueError, match="random source"):
        new_token(lambda n: b"\x00" * 8)
    assert constant_time_equals(token_digest(first), token_digest(first))
    assert not constant_time_equals(first, second)
    assert not constant_time_equals("đ", "d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", timedelta(hours=72)),
        ("30m", timedelta(minutes=30)),
        ("7d", timedelta(days=7)),
        ("3600s", timedelta(hours=1)),
        (" 1d ", timedelta(days=1)),
    ],
)
def test_parse_ttl(text: str, expected: timedelta) -> None:
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["", "72", "h", "1.5h", "-1h", "0s", "366d", "1w", "1 h", "٣h"])
def test_parse_ttl_errors(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_ttl(text)


@given(st.integers(1, MAX_TTL // timedelta(seconds=1)))
def test_ttl_round_trip(seconds: int) -> None:
    ttl = timedelta(seconds=seconds)
    assert parse_ttl(format_ttl(ttl)) == ttl


@given(st.integers(1, 10_000), st.sampled_from(["s", "m", "h", "d"]))
def test_ttl_units(count: int, unit: str) -> None:
    size = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if count * size > MAX_TTL // timedelta(seconds=1):
        with pytest.raises(ValueError, match="at most"):
            parse_ttl(f"{count}{unit}")
    else:
        assert parse_ttl(f"{count}{unit}") == timedelta(seconds=count * size)


@given(st.text(max_size=20))
def test_parse_ttl_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert timedelta(0) < parse_ttl(text) <= MAX_TTL
