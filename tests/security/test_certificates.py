"""Who may speak: no certificate, foreign, expired, chained, unknown, mismatched and revoked
certificates. The hub either refuses the TLS handshake (the certificate does not verify
against the provincial CA at the hub's clock) or answers 401 (it verifies, but the hub's own
records do not vouch for it); in both cases nothing changes.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.hub.enrollment import revoke
from gateway.security.ca import AGENCY_URI_PREFIX
from tests.security.certs import Issuer, hub_issuer, register, write_identity
from tests.security.hostile import (
    FRAMES_TYPE,
    SYNC_TYPE,
    A,
    B,
    Hub,
    Peer,
    refused,
    sync_request,
    tls_refused,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
DIGEST = "ab" * 32
REQUESTS = {
    "sync": ("POST", "/v1/sync", {"Content-Type": SYNC_TYPE, "X-Sync-Dict": "0"}),
    "patch": ("PATCH", f"/v1/blobs/{DIGEST}", {"Upload-Offset": "0", "Upload-Length": "1",
                                                "Content-Type": FRAMES_TYPE}),
    "head": ("HEAD", f"/v1/blobs/{DIGEST}", {}),
    "get": ("GET", f"/v1/blobs/{DIGEST}", {}),
}


async def _unauthorised(hub: Hub, peer: Peer, category: str, which: str = "sync") -> None:
    method, path, headers = REQUESTS[which]
    body = sync_request() if which == "sync" else b""
    await refused(hub, category, partial(peer.request, method, path, body=body,
                                         headers=headers), allowed={401})


@pytest.mark.parametrize("which", sorted(REQUESTS))
async def test_no_client_certificate(hub: Hub, which: str) -> None:
    await _unauthorised(hub, hub.anonymous, "cert.none", which)


def _peer(hub: Hub, tmp_path: Path, name: str, issuer: Issuer, cn: str = A, *,
          uri: str | None = None, days: tuple[int, int] | None = None,
          eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
          ) -> tuple[Peer, x509.Certificate]:
    cert, key = issuer.issue(cn, uri=uri, days=days, eku=eku)
    label = f"{name}:{cert.serial_number:x}"
    return hub.peer_with(*write_identity(tmp_path, name, [cert], key), label=label), cert


async def test_certificate_from_a_foreign_ca(hub: Hub, tmp_path: Path) -> None:
    peer, _ = _peer(hub, tmp_path, "foreign", Issuer.self_signed("Other province gateway CA"))
    await tls_refused(hub, "cert.tls", peer)


async def test_foreign_ca_with_the_same_name_as_ours(hub: Hub, tmp_path: Path) -> None:
    twin = Issuer.self_signed(hub_issuer(hub).cert.subject)
    peer, _ = _peer(hub, tmp_path, "twin", twin)
    await tls_refused(hub, "cert.tls", peer)


@pytest.mark.parametrize(("name", "days"), [("expired", (-30, -1)),
                                            ("not-yet-valid", (1, 30))])
async def test_certificate_outside_its_validity_window(hub: Hub, tmp_path: Path, name: str,
                                                       days: tuple[int, int]) -> None:
    peer, cert = _peer(hub, tmp_path, name, hub_issuer(hub), days=days)
    await register(hub, cert, A)  # even the hub's own records cannot save it
    await tls_refused(hub, "cert.tls", peer)


async def test_leaf_under_an_intermediate_ca(hub: Hub, tmp_path: Path) -> None:
    """The provincial CA has pathlen 0: a sub-CA made with its key issues nothing usable."""
    root = hub_issuer(hub)
    sub_cert, sub_key = root.issue("Rogue sub-CA", ca=True)
    leaf, key = Issuer(sub_cert, sub_key).issue(A)
    peer = hub.peer_with(*write_identity(tmp_path, "chained", [leaf, sub_cert], key), label="chain")
    await tls_refused(hub, "cert.tls", peer)


async def test_self_signed_leaf(hub: Hub, tmp_path: Path) -> None:
    own = Issuer.self_signed(A, path_length=None)
    peer = hub.peer_with(*write_identity(tmp_path, "self", [own.cert], own.key), label="self")
    await tls_refused(hub, "cert.tls", peer)


async def test_server_certificate_used_as_a_client_certificate(hub: Hub) -> None:
    """The hub's own certificate (serverAuth only, a host name for CN) opens nothing."""
    layout = hub.layout
    peer = hub.peer_with(layout.server_cert, layout.server_key, label="server-cert")
    await tls_refused(hub, "cert.tls", peer)


async def test_server_auth_only_certificate(hub: Hub, tmp_path: Path) -> None:
    peer, cert = _peer(hub, tmp_path, "eku", hub_issuer(hub), eku=ExtendedKeyUsageOID.SERVER_AUTH)
    await register(hub, cert, A)
    await tls_refused(hub, "cert.tls", peer)


@pytest.mark.parametrize("which", sorted(REQUESTS))
async def test_valid_signature_but_serial_unknown_to_the_hub(hub: Hub, tmp_path: Path,
                                                             which: str) -> None:
    """Signed with the CA key (a stolen backup, a restored hub) but never issued by this hub."""
    peer, _ = _peer(hub, tmp_path, "unknown", hub_issuer(hub))
    await _unauthorised(hub, peer, "cert.unknown", which)
    await peer.close()


async def test_serial_registered_to_another_agency(hub: Hub, tmp_path: Path) -> None:
    peer, cert = _peer(hub, tmp_path, "swapped", hub_issuer(hub), cn=A)
    await register(hub, cert, B)
    await _unauthorised(hub, peer, "cert.unknown")
    await peer.close()


@pytest.mark.parametrize("uri", [AGENCY_URI_PREFIX + B, AGENCY_URI_PREFIX + "bad",
                                 "urn:other:" + A])
async def test_certificate_names_disagree(hub: Hub, tmp_path: Path, uri: str) -> None:
    peer, cert = _peer(hub, tmp_path, "mismatch", hub_issuer(hub), cn=A, uri=uri)
    await register(hub, cert, A)
    if uri.startswith(AGENCY_URI_PREFIX):
        await _unauthorised(hub, peer, "cert.unknown")
    else:  # a foreign URI is ignored: CN decides, and the registered serial matches
        reply = await peer.sync_raw(sync_request())
        assert reply.status == 200
    await peer.close()


async def test_certificate_with_a_malformed_agency(hub: Hub, tmp_path: Path) -> None:
    cn = "000.00.31.H35\n"
    peer, cert = _peer(hub, tmp_path, "malformed", hub_issuer(hub), cn=cn,
                       uri=AGENCY_URI_PREFIX + cn)
    await register(hub, cert, cn)
    await _unauthorised(hub, peer, "cert.unknown")
    await peer.close()


async def test_revocation_applies_to_the_very_next_request(hub: Hub,
                                                           tmp_path: Path) -> None:
    agency = "000.00.40.H35"
    peer = await hub.enroll(agency, tmp_path / "gw")
    assert (await peer.sync_raw(sync_request())).status == 200
    assert await revoke(hub.store, agency) == 1
    # Same keep-alive TLS connection, no new handshake: the check is per request.
    for which in ("sync", "patch", "head", "get"):
        await _unauthorised(hub, peer, "cert.revoked", which)
    assert peer.connections == 1
    await peer.close()
    # A new certificate (a re-enrolled replacement box) is not affected by the old revocation.
    replacement = await hub.enroll(agency, tmp_path / "gw2")
    assert (await replacement.sync_raw(sync_request())).status == 200
    del hub.peers[agency]
    await replacement.close()


async def test_revoked_certificate_on_a_fresh_connection(hub: Hub, tmp_path: Path) -> None:
    agency = "000.00.41.H35"
    peer = await hub.enroll(agency, tmp_path / "gw")
    await revoke(hub.store, agency)
    await peer.close()
    await _unauthorised(hub, peer, "cert.revoked")
    del hub.peers[agency]
    await peer.close()


async def test_admin_token_does_not_replace_a_certificate(hub: Hub) -> None:
    token = await hub.token("admin", timedelta(hours=1), kind="admin")
    await refused(hub, "cert.none", partial(
        hub.anonymous.sync_raw, sync_request(), {"Authorization": f"Bearer {token}"}),
        allowed={401})
