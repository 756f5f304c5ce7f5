"""Replays: whatever a link cut makes a gateway resend — or an attacker on the box replays —
changes nothing beyond the first delivery. Every replay below is sent several times and the
hub's state after each one must equal the state after the first (the caller's heartbeat row
aside: replays are authenticated, well-formed syncs).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable
from functools import partial

import pytest

from gateway.protocol.wire import StatusMsg
from tests.security.hostile import (
    A,
    B,
    C,
    Hub,
    Peer,
    Reply,
    doc,
    frames,
    neutral,
    refused,
    sha,
    sync_request,
    upload,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
TIMES = 5


async def _replayed(hub: Hub, category: str, send: Callable[[], Awaitable[Reply]], *,
                    heartbeat_of: str | None, status: int = 200) -> Reply:
    """The first send may change state; each of ``TIMES`` resends must not."""
    first = await send()
    assert first.status == status, first
    for _ in range(TIMES):
        again = await neutral(hub, category, send, status=status, heartbeat_of=heartbeat_of)
        assert again.body == first.body or status == 200  # 200 bodies carry the hub's time
    return first


def _status(doc_id: str, sid: int, code: str = "01", note: str = "") -> StatusMsg:
    return StatusMsg(f"0190d3c2-6b1e-7c3a-9f00-{sid:012x}", doc_id, code, note, 0)


async def test_envelope_ack_and_status_replays(hub: Hub, a: Peer, b: Peer) -> None:
    x = os.urandom(20_000)
    env = doc(A, B, x)
    await _replayed(hub, "replay.envelope", partial(a.sync_raw, sync_request((env,))),
                    heartbeat_of=A)
    await upload(a, x)
    # Complete and routed: a resent envelope neither re-routes nor re-receipts.
    await _replayed(hub, "replay.envelope", partial(a.sync_raw, sync_request((env,))),
                    heartbeat_of=A)
    # A resent upload of a complete blob: answered complete, nothing written.
    await _replayed(hub, "replay.blob", partial(a.patch, sha(x), 0, len(x), frames(x)),
                    heartbeat_of=None, status=204)
    seq = next(i.seq for i in (await b.sync()).inbox if i.env.id == env.id)
    await _replayed(hub, "replay.ack", partial(b.sync_raw, sync_request(acks=(seq,))),
                    heartbeat_of=B)
    await _replayed(hub, "replay.status", partial(
        b.sync_raw, sync_request(statuses=(_status(env.id, 1),))), heartbeat_of=B)
    # The same sid with other contents is the same status: the first one stands.
    await neutral(hub, "replay.status", partial(b.sync_raw, sync_request(
        statuses=(_status(env.id, 1, "06", "đổi ý"),))), heartbeat_of=B)
    receipts = [(r.to, r.event) for r in (await a.sync()).receipts if r.doc == env.id]
    assert receipts == [(B, "at_hub"), (B, "delivered"), (B, "01")]


async def test_combined_request_replay(hub: Hub, a: Peer, c: Peer) -> None:
    x, y = os.urandom(5_000), os.urandom(6_000)
    first = doc(A, C, x)
    await a.sync(out=(first,))
    await upload(a, x)
    seq = next(i.seq for i in (await c.sync()).inbox if i.env.id == first.id)
    back = doc(C, A, y)
    body = sync_request((back,), acks=(seq,), statuses=(_status(first.id, 7, "03"),))
    await _replayed(hub, "replay.combined", partial(c.sync_raw, body), heartbeat_of=C)


async def test_same_id_other_contents_is_refused(hub: Hub, a: Peer) -> None:
    env = doc(A, C, os.urandom(100))
    await a.sync(out=(env,))
    other = dataclasses.replace(env, subject="V/v nội dung khác")
    reply = await neutral(hub, "replay.conflict", partial(a.sync_raw, sync_request((other,))),
                          heartbeat_of=A)
    assert reply.status == 200
    decoded = await a.sync(out=(other,))
    assert [r.code for r in decoded.refused] == ["conflict.id"]


async def test_stale_upload_replay_is_refused(hub: Hub, a: Peer) -> None:
    w = os.urandom(64 * 1024)
    await a.sync(out=(doc(A, B, w),))
    half = frames(w[:32 * 1024])
    reply = await a.patch(sha(w), 0, len(w), half)
    assert reply.status == 204 and reply.headers["Upload-Offset"] == str(32 * 1024)
    for _ in range(TIMES):  # the same frames again, from where the client started
        again = await refused(hub, "replay.blob", partial(a.patch, sha(w), 0, len(w), half),
                              allowed={409})
        assert again.headers["Upload-Offset"] == str(32 * 1024)
