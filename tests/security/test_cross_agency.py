"""The curious neighbour: commune C, enrolled and well-formed, tries to see or touch what
belongs to A and B. Such requests are answered ``200`` (the protocol refuses item by item, or
silently ignores what is not the caller's), so the only change allowed is C's own heartbeat.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import partial

import msgpack
import pytest
import pytest_asyncio

from gateway.model import Envelope, envelope_to_dict
from gateway.protocol.wire import StatusMsg, decode_reply
from tests.security.hostile import (
    COMPRESSOR,
    OFFICE,
    A,
    B,
    C,
    Hub,
    Peer,
    Reply,
    doc,
    frames,
    neutral,
    plain_request,
    refused,
    sha,
    sync_request,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass(frozen=True)
class Scene:
    x: bytes  # A -> B, complete and routed; B has not acked it
    doc_id: str
    seq: int  # B's inbox seq for it


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(hub: Hub) -> Scene:
    a, b = hub.peers[A], hub.peers[B]
    x = os.urandom(30_000)
    env = doc(A, B, x)
    assert (await a.sync(out=(env,))).accepted == (env.id,)
    await upload(a, x)
    inbox = (await b.sync()).inbox
    assert [i.env.id for i in inbox] == [env.id]
    return Scene(x, env.id, inbox[0].seq)


def _status(doc_id: str, n: int = 1) -> StatusMsg:
    return StatusMsg(f"0190d3c2-6b1e-7c3a-9f00-{n:012x}", doc_id, "01", "đã nhận", 0)


async def _sync(peer: Peer, *, acks: tuple[int, ...] = (), statuses: tuple[StatusMsg, ...] = (),
                rcursor: int = 0) -> Reply:
    return await peer.sync_raw(sync_request(acks=acks, statuses=statuses, rcursor=rcursor))


async def test_a_commune_only_ever_sees_its_own_inbox(hub: Hub, c: Peer, a: Peer,
                                                      scene: Scene) -> None:
    for peer in (c, a):
        reply = await neutral(hub, "cross.inbox", partial(_sync, peer, rcursor=0),
                              heartbeat_of=peer.agency)
        decoded = decode_reply(COMPRESSOR.decompress(reply.body, 0))
        assert all(peer.agency in i.env.recipients for i in decoded.inbox)
        assert scene.doc_id not in {i.env.id for i in decoded.inbox}
        if peer is c:
            assert not decoded.receipts and not decoded.need


@pytest.mark.parametrize("who", ["neighbour", "sender"])
async def test_acking_another_agencys_seq_changes_nothing(hub: Hub, scene: Scene,
                                                         who: str) -> None:
    peer = hub.peers[C if who == "neighbour" else A]
    await neutral(hub, "cross.ack", partial(_sync, peer, acks=(scene.seq,)),
                  heartbeat_of=peer.agency)
    await neutral(hub, "cross.ack", partial(_sync, peer, acks=tuple(range(scene.seq + 3))),
                  heartbeat_of=peer.agency)


@pytest.mark.parametrize("who", ["neighbour", "sender"])
async def test_status_for_a_document_not_addressed_to_you_is_not_stored(
        hub: Hub, scene: Scene, who: str) -> None:
    peer = hub.peers[C if who == "neighbour" else A]
    await neutral(hub, "cross.status", partial(_sync, peer, statuses=(_status(scene.doc_id),)),
                  heartbeat_of=peer.agency)


async def test_status_for_an_unknown_document_is_not_stored(hub: Hub, b: Peer) -> None:
    fake = "0190d3c2-6b1e-7c3a-9f00-0000000000ff"
    await neutral(hub, "cross.status", partial(_sync, b, statuses=(_status(fake, 2),)),
                  heartbeat_of=B)


@pytest.mark.parametrize("claimed", [B, OFFICE, "000.00.99.H35", A + " ", "", A.lower()])
async def test_a_certificate_cannot_issue_for_another_agency(hub: Hub, a: Peer,
                                                             claimed: str) -> None:
    env = dataclasses.replace(doc(A, C, os.urandom(10)), sender=claimed)
    body = COMPRESSOR.compress(_envelope_request(env), 0)
    reply = await neutral(hub, "cross.sender", partial(a.sync_raw, body), heartbeat_of=A)
    decoded = decode_reply(COMPRESSOR.decompress(reply.body, 0))
    assert decoded.accepted == () and [r.doc for r in decoded.refused] == [env.id]


def _envelope_request(env: Envelope) -> bytes:
    """msgpack of a request carrying ``env`` unchecked (the encoder would refuse some)."""
    return msgpack.packb(plain_request(out=[envelope_to_dict(env)]), use_bin_type=True)


async def test_knowing_a_digest_does_not_open_a_foreign_blob(hub: Hub, c: Peer,
                                                            scene: Scene) -> None:
    """C references A's blob X in its own envelope: dedupe must not hand C the bytes."""
    digest = sha(scene.x)
    get = partial(c.request, "GET", f"/v1/blobs/{digest}")
    await refused(hub, "cross.blob", get, allowed={404})
    own = doc(C, OFFICE, scene.x)
    reply = await c.sync(out=(own,))
    assert reply.accepted == (own.id,)
    assert [(n.sha256, n.offset) for n in reply.need] == [(digest, 0)]  # upload it, please
    await refused(hub, "cross.blob", get, allowed={404})
    await refused(hub, "cross.blob", partial(c.request, "GET", f"/v1/blobs/{digest}",
                                             params={"offset": "100"}), allowed={404})
    head = await c.request("HEAD", f"/v1/blobs/{digest}")
    assert head.status == 200 and head.headers["Upload-Offset"] == "0"
    assert "Upload-Complete" not in head.headers
    # Wrong bytes of the right size: discarded, still no access, nothing routed.
    await refused(hub, "cross.blob", partial(c.patch, digest, 0, len(scene.x),
                                             frames(os.urandom(len(scene.x)))), allowed={422})
    await refused(hub, "cross.blob", get, allowed={404})
    office_inbox = await hub.store.inbox(OFFICE)
    assert own.id not in {i.env.id for i in office_inbox}
    # Possession proven by uploading the bytes: now the document routes and C may read.
    await upload(c, scene.x)
    assert own.id in {i.env.id for i in await hub.store.inbox(OFFICE)}
    assert (await get()).status == 200


async def test_a_wrong_size_does_not_reveal_whether_the_hub_holds_a_blob(
        hub: Hub, a: Peer, c: Peer) -> None:
    """Held or not, a digest with a wrong size gets the same answer: no existence oracle."""
    z = os.urandom(20_000)
    await a.sync(out=(doc(A, B, z),))
    await upload(a, z)  # the hub holds Z; C never had it
    held = doc(C, OFFICE, z)
    held = dataclasses.replace(held, attachments=(dataclasses.replace(
        held.attachments[0], size=len(z) + 1),))
    unheld = doc(C, OFFICE, os.urandom(len(z) + 1))
    for env in (held, unheld):
        reply = await c.sync(out=(env,))
        assert (reply.accepted, reply.refused) == ((env.id,), ())
    # A, who holds Z, is told at once that its size is wrong.
    wrong = dataclasses.replace(doc(A, C, z), attachments=held.attachments)
    reply = await a.sync(out=(wrong,))
    assert [r.code for r in reply.refused] == ["attachment.size"]
