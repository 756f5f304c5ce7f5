"""Sizing a sync reply in bytes, so that every reply is one the client can read.

Counts alone let 64 large envelopes make a reply the client refuses (over
``compression.MAX_IN`` compressed), and a refused reply is refused again at every sync: the
box takes nothing in and sends nothing out, for good. So the hub measures what it sends: each
inbox item and receipt by its msgpack size, filled up to ``REPLY_BUDGET``, always at least one
of each that waits (an envelope is capped at ``MAX_ENVELOPE_BYTES`` at acceptance, so one always
fits), which guarantees progress at every sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import TypeVar

import msgpack

from gateway.model import Envelope, Problem, Refused, envelope_to_dict
from gateway.protocol.limits import MAX_ENVELOPE_BYTES
from gateway.protocol.wire import InboxItem, Receipt, Refusal, SyncReply

T = TypeVar("T")


def packed_size(obj: object) -> int:
    """Bytes of ``obj`` in msgpack, as the wire encodes it."""
    return len(msgpack.packb(obj, use_bin_type=True))


def envelope_size(env: Envelope) -> int:
    return packed_size(envelope_to_dict(env))


def inbox_item_size(item: InboxItem) -> int:
    return packed_size({"seq": item.seq, "env": envelope_to_dict(item.env)})


def receipt_size(receipt: Receipt) -> int:
    return packed_size(asdict(receipt))


def fixed_size(reply: SyncReply) -> int:
    """Bytes of ``reply`` as if its inbox and receipts were empty."""
    plain = {"v": 1, "time_ms": reply.time_ms, "accepted": list(reply.accepted),
             "refused": [asdict(r) for r in reply.refused],
             "need": [asdict(n) for n in reply.need], "inbox": [], "receipts": [],
             "config": {"frame_max": reply.config.frame_max, "dict": reply.config.dict_id}}
    # The two list headers grow from 1 to at most 5 bytes once filled.
    return packed_size(plain) + 2 * 4


def take(sizes: Iterable[int], room: int) -> int:
    """How many leading items fit in ``room`` bytes; at least one if there is any."""
    count = used = 0
    for size in sizes:
        if count and used + size > room:
            break
        count += 1
        used += size
    return count


def within(items: Sequence[T], size: Callable[[T], int], room: int) -> tuple[T, ...]:
    """The leading ``items`` that fit in ``room`` bytes by ``size`` (:func:`take`)."""
    return tuple(items[:take(map(size, items), room)])


def too_large(env: Envelope) -> Refusal | None:
    """Refuses at acceptance an envelope that could not travel in a reply on its own."""
    size = envelope_size(env)
    if size <= MAX_ENVELOPE_BYTES:
        return None
    problem = Problem(
        "envelope.too_large",
        f"Phong bì văn bản quá lớn ({size} byte, tối đa {MAX_ENVELOPE_BYTES}).",
        f"Document envelope too large ({size} bytes, at most {MAX_ENVELOPE_BYTES}).")
    return Refusal(env.id, problem.code, str(Refused(problem)))
