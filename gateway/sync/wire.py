"""Typed sync messages and their msgpack form (docs/protocol.md §3): the public face.

Everything the rest of the code base needs from the wire format is importable from here: the
message types and limits (defined in :mod:`gateway.sync.wire_messages`), the encoders (defined
here) and the decoders (defined in :mod:`gateway.sync.wire_decode`, which bounds hostile input
before building anything). Encoding runs the decoder's field checks over the plain form it is
about to pack, so a sender learns about a limit it broke before its peer refuses the body.
"""

from __future__ import annotations

from dataclasses import asdict

import msgpack

from gateway.model.document import DEFAULT_LIMITS
from gateway.model.envelope_codec import Plain, envelope_to_dict
from gateway.sync.wire_decode import decode_reply, decode_request, parse_reply, parse_request
from gateway.sync.wire_messages import (
    MALFORMED,
    MAX_ACCEPTED,
    MAX_ACKS,
    MAX_AGENCY,
    MAX_BODY,
    MAX_CODE,
    MAX_DOC_ID,
    MAX_INBOX,
    MAX_INT,
    MAX_ITEMS,
    MAX_NEED,
    MAX_NOTE,
    MAX_OUT,
    MAX_REASON,
    MAX_RECEIPTS,
    MAX_REFUSED,
    MAX_STATUSES,
    MAX_VERSION_TEXT,
    MAX_WAIT,
    RECEIPT_EVENTS,
    STATUS_CODES,
    VERSION,
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    StatusMsg,
    SyncReply,
    SyncRequest,
    WireError,
)

__all__ = [
    "MALFORMED", "MAX_ACCEPTED", "MAX_ACKS", "MAX_AGENCY", "MAX_BODY", "MAX_CODE", "MAX_DOC_ID",
    "MAX_INBOX", "MAX_INT", "MAX_ITEMS", "MAX_NEED", "MAX_NOTE", "MAX_OUT", "MAX_REASON",
    "MAX_RECEIPTS", "MAX_REFUSED", "MAX_STATUSES", "MAX_VERSION_TEXT", "MAX_WAIT",
    "RECEIPT_EVENTS", "STATUS_CODES", "VERSION",
    "BlobNeed", "HubConfig", "InboxItem", "NodeReport", "Receipt", "Refusal", "StatusMsg",
    "SyncReply", "SyncRequest", "WireError",
    "decode_reply", "decode_request", "encode_reply", "encode_request",
]


def encode_request(req: SyncRequest) -> bytes:
    """msgpack bytes of ``req``; ``bad_out`` is never sent. Raises WireError on a broken limit."""
    plain: dict[str, Plain] = {
        "v": VERSION,
        "node": asdict(req.node),
        "out": [envelope_to_dict(e) for e in req.out],
        "acks": list(req.acks),
        "statuses": [asdict(s) for s in req.statuses],
        "rcursor": req.rcursor,
        "wait": req.wait,
    }
    parse_request(plain, DEFAULT_LIMITS, strict=True)
    return _pack(plain)


def encode_reply(rep: SyncReply) -> bytes:
    """msgpack bytes of ``rep``; raises WireError when it breaks a limit the client enforces."""
    plain: dict[str, Plain] = {
        "v": VERSION,
        "time_ms": rep.time_ms,
        "accepted": list(rep.accepted),
        "refused": [asdict(r) for r in rep.refused],
        "need": [asdict(b) for b in rep.need],
        "inbox": [{"seq": i.seq, "env": envelope_to_dict(i.env)} for i in rep.inbox],
        "receipts": [asdict(r) for r in rep.receipts],
        "config": {"frame_max": rep.config.frame_max, "dict": rep.config.dict_id},
    }
    parse_reply(plain, DEFAULT_LIMITS)
    return _pack(plain)


def _pack(plain: dict[str, Plain]) -> bytes:
    try:
        return msgpack.packb(plain, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:  # unreachable after the checks
        raise WireError(f"cannot encode: {exc}") from None
