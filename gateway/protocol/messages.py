"""The sync protocol's typed messages (docs/protocol.md §3).

This is the vocabulary both directions share: the frozen dataclasses a request and a reply
are made of, the status codes, and :class:`WireError` (the limits are
:mod:`gateway.protocol.limits`'). It holds no logic, so the encoder
(:mod:`gateway.protocol.wire`) and the hostile-input decoder (:mod:`gateway.protocol.decode`)
can both import it without importing each other. Callers import these names from
:mod:`gateway.protocol.wire`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.model.document import Envelope

STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})
RECEIPT_EVENTS = STATUS_CODES | {"at_hub", "delivered"}
MALFORMED = "envelope.malformed"
# A request header saying the box reads the reply's ``epoch`` (docs/protocol.md §3): an older
# box refuses a reply key it does not know, so the hub adds it only for boxes that say so.
EPOCH_HEADER = "X-Sync-Epoch"


class WireError(GatewayError):
    """A body that breaks the protocol; the message is short and safe to reply with (400)."""


@dataclass(frozen=True)
class NodeReport:
    version: str
    clock_ms: int
    queue: int
    disk_free: int
    blobs_bad: int
    uptime_s: int
    # Optional on the wire (sent only when set, so a healthy box's heartbeat is unchanged):
    last_error: str = ""  # class and short text of the box's last sync failure
    dead: int = 0  # documents dead-lettered in its outbound queue


@dataclass(frozen=True)
class StatusMsg:
    sid: str
    doc: str
    code: str
    note: str
    at_ms: int


@dataclass(frozen=True)
class Refusal:
    doc: str
    code: str
    reason: str


@dataclass(frozen=True)
class SyncRequest:
    node: NodeReport
    out: tuple[Envelope, ...]
    acks: tuple[int, ...]
    statuses: tuple[StatusMsg, ...]
    rcursor: int
    wait: int
    bad_out: tuple[Refusal, ...] = ()  # decode side only: ``out`` entries that were malformed


@dataclass(frozen=True)
class BlobNeed:
    sha256: str
    offset: int
    size: int
    urgency: int


@dataclass(frozen=True)
class InboxItem:
    seq: int
    env: Envelope


@dataclass(frozen=True)
class Receipt:
    rseq: int
    doc: str
    to: str
    event: str
    at_ms: int
    note: str


@dataclass(frozen=True)
class TrustBundle:
    """The hub's PEM bundle of trusted signature roots, served as a blob every box may read."""

    sha256: str
    size: int


@dataclass(frozen=True)
class HubConfig:
    frame_max: int
    dict_id: int  # wire key "dict"
    trust: TrustBundle | None = None  # wire key "trust", absent when the hub has no bundle


@dataclass(frozen=True)
class SyncReply:
    time_ms: int
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]
    need: tuple[BlobNeed, ...]
    inbox: tuple[InboxItem, ...]
    receipts: tuple[Receipt, ...]
    config: HubConfig
    # The hub's history this reply speaks for (wire key "epoch"): made with its database, new
    # at every ``gateway hub restore``; "" when the reply has none (unknown, not a change).
    epoch: str = ""
