"""The provincial CA kept offline, and the hub's server certificate renewed: the use cases
behind ``gateway hub init --ca-offline``, ``hub ca export|import|requests|sign|install`` and
``hub renew-cert``. The procedure they make up is in docs/appliance.md."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.hub.runtime import HubLayout, open_hub
from gateway.model import Problem, Refused
from gateway.security.ca import (
    CA_KEY_FILE,
    CertificateAuthority,
    PkiError,
    atomic_write,
    load_ca,
)
from gateway.security.offline_ca import (
    SignRequest,
    load_ca_certificate,
    move_key,
    parse_signed,
    requests_file,
    sign_requests,
)
from gateway.store.hub.credentials import Issued


def _pki(exc: PkiError) -> Refused:
    return Refused(Problem("ca.refused", f"Không thực hiện được: {exc}", f"Not done: {exc}"))


def check_outside(data: Path, other: Path) -> None:
    """Refuses a CA key folder inside the hub's data folder."""
    if other.resolve().is_relative_to(data.resolve()):
        raise Refused(Problem(
            "ca.inside_data", f"{other} nằm trong thư mục dữ liệu của máy chủ: khoá CA phải ở "
            "nơi khác (USB cất trong két, máy không nối mạng).",
            f"{other} is inside the hub's data folder: the CA key must live elsewhere (a USB "
            "stick in a safe, a machine that is never online)."))


def _write_new(path: Path, data: bytes) -> None:
    if path.exists():
        raise Refused(Problem("file.exists", f"{path} đã có: không ghi đè.",
                              f"{path} exists: not overwritten."))
    atomic_write(path, data, mode=0o644)


def export_key(data: Path, dest: Path) -> Path:
    """Moves the CA key out of the hub's data folder into ``dest``; returns its new path."""
    check_outside(data, dest)
    try:
        move_key(HubLayout(data).ca_dir, dest)
    except PkiError as exc:
        raise _pki(exc) from None
    return dest / CA_KEY_FILE


def import_key(data: Path, source: Path) -> Path:
    """Copies the CA key from ``source`` back into the hub (the CA online again)."""
    layout = HubLayout(data)
    try:
        ca = load_ca(source)
        if ca.cert_pem != load_ca_certificate(layout.ca_dir):
            raise PkiError(f"{source} holds another CA than this hub's")
    except PkiError as exc:
        raise _pki(exc) from None
    atomic_write(layout.ca_dir / CA_KEY_FILE, (source / CA_KEY_FILE).read_bytes(), mode=0o600)
    return layout.ca_dir / CA_KEY_FILE


async def write_requests(data: str, target: str) -> int:
    """The enrollments waiting for the offline CA, as a file to carry to it; returns how many."""
    state = await open_hub(Path(data))
    try:
        pending = [SignRequest(d, a, c) for d, a, c in await state.store.credentials.pending()]
    finally:
        await state.store.db.close()
    await asyncio.to_thread(_write_new, Path(target), requests_file(pending, state.ca_pem))
    return len(pending)


def sign_file(ca_dir: Path, requests: Path, out: Path) -> int:
    """At the CA: signs a requests file into ``out``; returns how many were signed."""
    try:
        ca = load_ca(ca_dir)
        signed, count = sign_requests(ca, requests.read_bytes(), now=datetime.now(UTC))
    except PkiError as exc:
        raise _pki(exc) from None
    _write_new(out, signed)
    return count


def _key_sha256(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


async def install_signed(data: str, signed: str) -> tuple[int, int]:
    """Files the certificates the offline CA signed; returns (installed, not matching any
    waiting request: already installed, or not this hub's)."""
    state = await open_hub(Path(data))
    try:
        raw = await asyncio.to_thread(Path(signed).read_bytes)
        try:
            entries = parse_signed(raw, state.ca_pem)
        except PkiError as exc:
            raise _pki(exc) from None
        done = 0
        now = state.store.clock()
        for entry, cert in entries:
            issued = Issued(format(cert.serial_number, "x"), entry.agency, entry.cert_pem)
            done += await state.store.credentials.install(entry.id, _key_sha256(cert), issued,
                                                          now)
        return done, len(entries) - done
    finally:
        await state.store.db.close()


@dataclass(frozen=True)
class Renewed:
    names: tuple[str, ...]
    not_after: datetime


def _current_names(cert_path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*san.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def renew_certificate(data: Path, names: Sequence[str], ca_dir: Path | None) -> Renewed:
    """A new server key and certificate from the same CA, for ``names`` (default: the names
    of the current one). The old pair is kept as ``*.old``; the running hub uses the new one
    from its next start."""
    layout = HubLayout(data)
    try:
        ca: CertificateAuthority = load_ca(ca_dir or layout.ca_dir)
        if ca.cert_pem != load_ca_certificate(layout.ca_dir):
            raise PkiError(f"{ca_dir} holds another CA than this hub's")
        wanted = list(names) or _current_names(layout.server_cert)
        cert_pem, key_pem = ca.issue_server_cert(wanted, now=datetime.now(UTC))
    except PkiError as exc:
        raise _pki(exc) from None
    for path in (layout.server_key, layout.server_cert):
        if path.exists():
            atomic_write(path.with_name(path.name + ".old"), path.read_bytes(),
                         mode=path.stat().st_mode & 0o777)
    atomic_write(layout.server_key, key_pem, mode=0o600)
    atomic_write(layout.server_cert, cert_pem, mode=0o644)
    cert = x509.load_pem_x509_certificate(cert_pem)
    return Renewed(tuple(dict.fromkeys(wanted)), cert.not_valid_after_utc)
