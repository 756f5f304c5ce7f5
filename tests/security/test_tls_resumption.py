"""TLS 1.3 session resumption (gateway.security.tls.ResumingContext): a gateway's reconnect
sends no certificates again, yet the hub still knows who calls and still refuses a certificate
revoked since the ticket was issued."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gateway.hub.enrollment import revoke
from gateway.security.tls import ResumingContext
from tests.security.hostile import Hub, refused, sync_request

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _resumed(ctx: ssl.SSLContext) -> list[bool]:
    assert isinstance(ctx, ResumingContext)
    return [obj.session_reused for obj in ctx._recent]


async def test_a_reconnect_resumes_and_a_revoked_certificate_is_still_refused(
        hub: Hub, tmp_path: Path) -> None:
    agency = "000.00.42.H35"
    peer = await hub.enroll(agency, tmp_path / "gw")
    assert (await peer.sync_raw(sync_request())).status == 200  # a full handshake: the ticket
    await peer.close()
    assert (await peer.sync_raw(sync_request())).status == 200  # a new connection, resumed
    assert _resumed(peer.ctx) == [True]
    await revoke(hub.store, agency)
    await peer.close()
    await refused(hub, "cert.revoked", lambda: peer.sync_raw(sync_request()), allowed={401})
    assert _resumed(peer.ctx)[-1] is True  # refused on the resumed session itself
    del hub.peers[agency]
    await peer.close()
