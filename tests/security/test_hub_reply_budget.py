"""Item 2, poison inbox: one commune must not be able to stop another's sync for good.

Before the fix, inbox replies were capped at 64 items but not in bytes, and 24 valid
documents with large ``extra`` fields made every reply to the offline recipient larger than
the client reads (1 MiB compressed): nothing in, nothing out, for ever. Now every reply has a
byte budget with at least one item, and an envelope's encoded size is capped at acceptance.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import replace
from functools import partial

import pytest

from gateway.hub.reply import envelope_size, fixed_size, inbox_item_size, receipt_size
from gateway.model import Envelope
from gateway.protocol.limits import (
    MAX_ACCEPTED,
    MAX_ENVELOPE_BYTES,
    MAX_INT,
    MAX_NEED,
    MAX_NOTE,
    MAX_REASON,
    MAX_REFUSED,
    REPLY_BUDGET,
)
from gateway.protocol.limits import MAX_BODY as MAX_OUT
from gateway.protocol.limits import MAX_COMPRESSED_BODY as MAX_IN
from gateway.protocol.wire import (
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    SyncReply,
    SyncRequest,
    decode_reply,
)
from gateway.sync.transport import HubClient
from tests.factories import envelope
from tests.security.hostile import COMPRESSOR, LEDGER, A, B, Hub, Peer, neutral, sync_request

pytestmark = pytest.mark.asyncio(loop_scope="module")
RNG = random.Random(8_2)


def _noise(chars: int, low: int, high: int) -> str:
    """Text that zstd cannot shrink much: random code points from [low, high)."""
    return "".join(chr(RNG.randrange(low, high)) for _ in range(chars))


def heavy(sender: str, to: str, *, wide: bool = False) -> Envelope:
    """A valid envelope with a full ``extra`` (32 × 1000 characters), no attachment, so it
    is routed at once. ``wide`` uses 4-byte characters and a full subject: over the cap."""
    low, high = (0x20000, 0x2A6D0) if wide else (0x4E00, 0x9FA0)
    env = envelope(sender, (to,), attachments=())
    extra = {f"k{i:02d}": _noise(1000, low, high) for i in range(32)}
    subject = _noise(1000, low, high) if wide else env.subject
    return replace(env, extra=extra, subject=subject)


async def test_item2_poison_inbox_replies_stay_readable_and_progress(hub: Hub, a: Peer,
                                                                     b: Peer) -> None:
    docs = [heavy(A, B) for _ in range(24)]
    assert all(60_000 < envelope_size(d) <= MAX_ENVELOPE_BYTES for d in docs)
    for i in range(0, len(docs), 6):  # B is offline; A's requests stay under 1 MiB each
        assert (await a.sync(out=tuple(docs[i:i + 6]))).accepted == tuple(
            d.id for d in docs[i:i + 6])
    # B comes back with the real client: its limits (1 MiB / 8 MiB) and its decoder.
    client = HubClient(hub.url, b.ctx)
    node = NodeReport("sec-test", 0, 0, 10**10, 0, 1)
    received: list[str] = []
    acks: tuple[int, ...] = ()
    try:
        for _ in range(len(docs)):
            reply = await client.sync(SyncRequest(node, (), acks, (), 0, 0))
            LEDGER.record("reply.budget", f"poison-inbox:{len(received)}", "2xx")
            if not reply.inbox:
                break
            received += [i.env.id for i in reply.inbox]
            acks = tuple(i.seq for i in reply.inbox)
        else:
            reply = await client.sync(SyncRequest(node, (), acks, (), 0, 0))
    finally:
        await client.close()
    assert sorted(received) == sorted(d.id for d in docs)  # every one, each reply progressed
    assert len(received) == len(set(received))
    assert reply.inbox == ()


async def test_item2_envelope_over_the_encoded_cap_is_refused_at_acceptance(
        hub: Hub, a: Peer) -> None:
    big = heavy(A, B, wide=True)
    assert envelope_size(big) > MAX_ENVELOPE_BYTES
    reply = await neutral(hub, "reply.budget", partial(a.sync_raw, sync_request(out=(big,))),
                          heartbeat_of=A)
    decoded = decode_reply(COMPRESSOR.decompress(reply.body, 0))
    assert decoded.accepted == ()
    assert [(r.doc, r.code) for r in decoded.refused] == [(big.id, "envelope.too_large")]


def _worst_fixed_reply() -> SyncReply:
    """The largest reply apart from inbox and receipts the hub can ever build."""
    doc_id = "0190d3c2-6b1e-7c3a-9f00-000000000000"
    wide = "\U00020000"  # 4 bytes in UTF-8
    refused = tuple(Refusal(doc_id, "c" * 64, wide * MAX_REASON) for _ in range(MAX_REFUSED))
    need = tuple(BlobNeed("f" * 64, MAX_INT, MAX_INT, MAX_INT) for _ in range(MAX_NEED))
    return SyncReply(MAX_INT, (doc_id,) * MAX_ACCEPTED, refused, need, (), (),
                     HubConfig(MAX_INT, MAX_INT))


async def test_item2_reply_budget_stays_under_the_clients_limits() -> None:
    """Worst case of a budgeted reply: the budget plus one receipt, or the largest fixed part
    plus one envelope and one receipt (the first of each always goes); zstd may add a little
    to incompressible bytes. Both must stay under what the client reads."""
    big = heavy(A, B, wide=True)
    while envelope_size(big) > MAX_ENVELOPE_BYTES:
        big = dataclasses.replace(big, extra=dict(list(big.extra.items())[:-1]))
    item = inbox_item_size(InboxItem(MAX_INT, big))
    receipt = receipt_size(Receipt(MAX_INT, "d" * 36, "a" * 32, "delivered", MAX_INT,
                                   "\U00020000" * MAX_NOTE))
    worst = max(REPLY_BUDGET + receipt, fixed_size(_worst_fixed_reply()) + item + receipt)

    def zstd_bound(n: int) -> int:
        return n + n // 128 + 1024

    assert zstd_bound(worst) < MAX_IN
    assert worst < MAX_OUT
