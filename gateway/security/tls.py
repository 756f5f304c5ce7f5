"""TLS contexts for mutual TLS between gateways and the hub, and reading the peer's agency.

Both sides trust exactly one anchor, the provincial CA: no system roots, no partial chains (so a
leaf can never become its own trust anchor), and OpenSSL's strict X.509 checks. TLS 1.2 is the
floor; 1.3 is negotiated whenever both ends have it.

The hub asks for a client certificate but does not demand one (``CERT_OPTIONAL``): a gateway
that has not enrolled yet must reach ``/v1/enroll``. A certificate that *is* presented must
verify, or the handshake fails. The HTTP layer refuses every other endpoint unless
:func:`peer_agency` returns an agency.

Clocks: Python's ``ssl`` checks validity against the local clock, which on a gateway without a
real-time clock may be years off after boot. That is acceptable only because of the windows
chosen in :mod:`gateway.security.ca` (everything is valid from 1970 on, for 5 to 30 years).
The hub's clock is trustworthy, and it is the hub that checks client certificates.
"""

from __future__ import annotations

import ssl
from collections import deque
from pathlib import Path

from cryptography import x509

from gateway.security.ca import PkiError, agency_from_der


def _pinned_ca(ca_path: Path) -> str:
    """The CA file's PEM text, after checking it holds exactly one CA certificate."""
    pem = ca_path.read_bytes()
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise PkiError(f"{ca_path}: not a PEM certificate ({exc})") from None
    if len(certs) != 1:
        raise PkiError(f"{ca_path} must hold exactly the provincial CA, found {len(certs)} certs")
    try:
        is_ca = certs[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise PkiError(f"{ca_path} is not a CA certificate")
    return pem.decode("ascii")


def _harden(ctx: ssl.SSLContext, ca_path: Path) -> None:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cadata=_pinned_ca(ca_path))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.verify_flags &= ~ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.options |= ssl.OP_NO_COMPRESSION


def server_context(cert_path: Path, key_path: Path, ca_path: Path) -> ssl.SSLContext:
    """The hub's context: its server certificate, client certificates optional but verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(ctx, ca_path)
    ctx.load_cert_chain(certfile=cert_path, keyfile=key_path)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class ResumingContext(ssl.SSLContext):
    """A client context that offers the server's latest TLS 1.3 session ticket on every new
    connection, so a reconnect after a cut sends and receives no certificates again.

    Tickets arrive after the handshake, so the session is read from the latest connections
    when the next one starts. The server still knows the peer from the ticket (the hub reads
    the certificate and checks revocation on every request, resumed or not); an unknown or
    expired ticket just gives a full handshake.
    """

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT) -> None:
        super().__init__()
        self._recent: deque[ssl.SSLObject] = deque(maxlen=4)
        self._session: ssl.SSLSession | None = None

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 server_side: bool = False, server_hostname: str | bytes | None = None,
                 session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        obj = super().wrap_bio(incoming, outgoing, server_side, server_hostname,
                               session or self._ticket())
        self._recent.append(obj)
        return obj

    def _ticket(self) -> ssl.SSLSession | None:
        for obj in reversed(self._recent):
            try:
                held = obj.session
            except ValueError:  # a connection that failed mid-handshake: no usable session
                continue
            if held is not None and held.has_ticket:
                self._session = held
                self._recent.clear()
                break
        return self._session


def client_context(
    ca_path: Path, cert_path: Path | None = None, key_path: Path | None = None
) -> ssl.SSLContext:
    """A gateway's context: trusts only the pinned CA, checks the hub's host name.

    Without ``cert_path``/``key_path`` it is the enrollment context (no client certificate).
    """
    if (cert_path is None) != (key_path is None):
        raise ValueError("cert_path and key_path go together: give both or neither")
    ctx = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    _harden(ctx, ca_path)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cert_path is not None and key_path is not None:
        ctx.load_cert_chain(certfile=cert_path, keyfile=key_path)
    return ctx


def peer_agency(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The agency of a *verified* peer certificate, or ``None`` (no cert, not verified, no agency).

    With aiohttp: ``peer_agency(request.transport.get_extra_info("ssl_object"))``.
    """
    if ssl_object is None or ssl_object.context.verify_mode == ssl.CERT_NONE:
        return None
    try:
        # The dict form is empty unless OpenSSL verified the chain; the DER form is not.
        if not ssl_object.getpeercert():
            return None
        der = ssl_object.getpeercert(binary_form=True)
    except ValueError:  # handshake not finished
        return None
    if der is None:
        return None
    try:
        return agency_from_der(der)
    except PkiError:
        return None


def cert_serial(der: bytes) -> int:
    """The serial of a DER certificate: the key of the hub's revocation list."""
    try:
        return x509.load_der_x509_certificate(der).serial_number
    except ValueError as exc:
        raise PkiError(f"not a DER certificate: {exc}") from None
