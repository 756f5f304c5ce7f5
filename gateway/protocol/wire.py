"""Typed sync messages and their msgpack form (docs/protocol.md §3): the public face.

Everything the rest of the code base needs from the wire format is importable from here: the
message types (defined in :mod:`gateway.protocol.messages`), the encoders (defined here)
and the decoders (defined in :mod:`gateway.protocol.decode`, which bounds hostile input
before building anything). Encoding runs the decoder's field checks over the plain form it is
about to pack, so a sender learns about a limit it broke before its peer refuses the body.
"""

from __future__ import annotations

from dataclasses import asdict, replace

import msgpack

from gateway.model.document import DEFAULT_LIMITS
from gateway.model.envelope_codec import Plain, envelope_to_dict
from gateway.protocol.decode import decode_reply, decode_request, parse_reply, parse_request
from gateway.protocol.limits import (
    VERSION,
)
from gateway.protocol.messages import (
    EPOCH_HEADER,
    MALFORMED,
    RECEIPT_EVENTS,
    STATUS_CODES,
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    StatusMsg,
    SyncReply,
    SyncRequest,
    TrustBundle,
    WireError,
)

__all__ = [
    "EPOCH_HEADER", "MALFORMED", "RECEIPT_EVENTS", "STATUS_CODES",
    "BlobNeed", "HubConfig", "InboxItem", "NodeReport", "Receipt", "Refusal", "StatusMsg",
    "SyncReply", "SyncRequest", "TrustBundle", "WireError",
    "decode_reply", "decode_request", "encode_reply", "encode_request",
]


def _node(node: NodeReport) -> dict[str, Plain]:
    """The heartbeat map; the optional fields only when set, so older bodies stay the same."""
    plain: dict[str, Plain] = asdict(node)
    for key, unset in (("last_error", ""), ("dead", 0)):
        if plain[key] == unset:
            del plain[key]
    return plain


def encode_request(req: SyncRequest) -> bytes:
    """msgpack bytes of ``req``; ``bad_out`` is never sent. Raises WireError on a broken limit."""
    plain: dict[str, Plain] = {
        "v": VERSION,
        "node": _node(req.node),
        "out": [envelope_to_dict(e) for e in req.out],
        "acks": list(req.acks),
        "statuses": [asdict(s) for s in req.statuses],
        "rcursor": req.rcursor,
        "wait": req.wait,
    }
    parse_request(plain, DEFAULT_LIMITS, strict=True)
    return _pack(plain)


def encode_reply(rep: SyncReply, *, need_known: bool = False) -> bytes:
    """msgpack bytes of ``rep``; raises WireError when it breaks a limit the client enforces.

    ``need_known``: the box named these very blobs in this order (``X-Sync-Need``), so each
    ``need`` entry goes with ``sha256`` "" (docs/protocol.md §3)."""
    known = tuple(b.sha256 for b in rep.need) if need_known else ()
    plain: dict[str, Plain] = {
        "v": VERSION,
        "time_ms": rep.time_ms,
        "accepted": list(rep.accepted),
        "refused": [asdict(r) for r in rep.refused],
        "need": [asdict(replace(b, sha256="")) if known else asdict(b) for b in rep.need],
        "inbox": [{"seq": i.seq, "env": envelope_to_dict(i.env)} for i in rep.inbox],
        "receipts": [asdict(r) for r in rep.receipts],
        "config": _config(rep.config),
    }
    if rep.epoch:  # absent, not empty: a reply without it says nothing about the hub's history
        plain["epoch"] = rep.epoch
    parse_reply(plain, DEFAULT_LIMITS, known)
    return _pack(plain)


def _config(config: HubConfig) -> dict[str, Plain]:
    plain: dict[str, Plain] = {"frame_max": config.frame_max, "dict": config.dict_id}
    if config.trust is not None:  # absent, not null: older boxes know only the two keys
        plain["trust"] = {"sha256": config.trust.sha256, "size": config.trust.size}
    return plain


def _pack(plain: dict[str, Plain]) -> bytes:
    try:
        return msgpack.packb(plain, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:  # unreachable after the checks
        raise WireError(f"cannot encode: {exc}") from None
