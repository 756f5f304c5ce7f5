"""``POST /v1/restore`` (a replacement box taking its documents back): only a valid gateway
certificate, only its own agency's documents, bounded requests; it never changes anything."""

from __future__ import annotations

import json
from functools import partial

import pytest

from tests.security.hostile import A, B, Hub, Peer, Reply, doc, neutral, refused, upload

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _body(**fields: object) -> bytes:
    return json.dumps({"kind": "in", "days": 30, "offset": 0, **fields}).encode()


async def _ask(peer: Peer, body: bytes) -> Reply:
    return await peer.request("POST", "/v1/restore", body=body,
                              headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b"[" * 5000, b"x" * 4096,
    _body(kind="all"), _body(kind=None), _body(days=0), _body(days=367), _body(days=True),
    _body(days="30"), _body(offset=-1), _body(offset=10**12), _body(offset=1.5),
])
async def test_malformed_requests_are_refused(hub: Hub, a: Peer, body: bytes) -> None:
    await refused(hub, "restore.malformed", lambda: _ask(a, body))


async def test_more_days_than_the_hub_keeps_is_refused(hub: Hub, a: Peer) -> None:
    hub.running.state.restore_days = 10
    try:
        reply = await refused(hub, "restore.days", lambda: _ask(a, _body(days=11)))
        assert reply.status == 403 and b"10 days" in reply.body
    finally:
        hub.running.state.restore_days = 90


async def test_without_a_certificate_nothing_is_given(hub: Hub) -> None:
    await refused(hub, "restore.anonymous", lambda: _ask(hub.anonymous, _body()))


async def test_a_box_gets_only_its_own_agencys_documents(hub: Hub, a: Peer, b: Peer) -> None:
    data = b"chi gui cho B"
    env = doc(A, B, data)
    await a.sync(out=(env,))
    await upload(a, data)
    reply = await b.sync()
    await b.sync(acks=tuple(i.seq for i in reply.inbox))
    for peer, kind, mine in ((b, "in", True), (a, "out", True), (a, "in", False),
                             (b, "out", False)):
        answer = await neutral(hub, "restore.scope", partial(_ask, peer, _body(kind=kind)))
        ids = {item["envelope"]["id"] for item in json.loads(answer.body)["items"]}
        assert (env.id in ids) is mine, (peer.agency, kind)
