"""The sync protocol's typed messages and limits (docs/protocol.md §3).

This is the vocabulary both directions share: the frozen dataclasses a request and a reply
are made of, the protocol version, every size and range limit, and :class:`WireError`. It
holds no logic, so the encoder (:mod:`gateway.sync.wire`) and the hostile-input decoder
(:mod:`gateway.sync.wire_decode`) can both import it without importing each other. Callers
import these names from :mod:`gateway.sync.wire`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.model.document import Envelope

VERSION = 1
MAX_BODY = 8 * 2**20  # decompressed body, as in §3
MAX_INT = 2**63 - 1  # fits SQLite's signed INTEGER
MAX_OUT = 64
MAX_ACKS = 1024
MAX_STATUSES = 256
MAX_INBOX = 64
MAX_RECEIPTS = 512
MAX_NEED = 1024
MAX_ACCEPTED = MAX_OUT  # answers to one request's ``out``
MAX_REFUSED = MAX_OUT
MAX_WAIT = 60
MAX_NOTE = 500
MAX_REASON = 1000
MAX_DOC_ID = 36
MAX_AGENCY = 32
MAX_CODE = 64
MAX_VERSION_TEXT = 64
MAX_ITEMS = 100_000  # containers + elements in one body; a full legal body needs ~65 000
# Bytes, not only counts: the client refuses a reply over 1 MiB compressed / 8 MiB raw
# (compression.MAX_IN / MAX_OUT), so the hub fills a reply's inbox and receipts up to
# REPLY_BUDGET msgpack bytes, always with at least one of each that waits. An envelope is
# capped at acceptance so that one of them always fits; tests check the sum stays under.
MAX_ENVELOPE_BYTES = 128 * 1024  # msgpack size of one envelope
REPLY_BUDGET = 512 * 1024
# A recipient's statuses at the hub: a document never needs more than a handful, and a peer
# never more than a few full syncs' worth in a window (the excess is answered 429, kept).
MAX_STATUSES_PER_DOC = 16  # per (document, agency sending the status), ever
STATUS_WINDOW_S = 600
MAX_STATUSES_PER_WINDOW = 2048
STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "13", "15", "16"})
RECEIPT_EVENTS = STATUS_CODES | {"at_hub", "delivered"}
MALFORMED = "envelope.malformed"


class WireError(ValueError):
    """A body that breaks the protocol; the message is short and safe to reply with (400)."""


@dataclass(frozen=True)
class NodeReport:
    version: str
    clock_ms: int
    queue: int
    disk_free: int
    blobs_bad: int
    uptime_s: int


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
class HubConfig:
    frame_max: int
    dict_id: int  # wire key "dict"


@dataclass(frozen=True)
class SyncReply:
    time_ms: int
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]
    need: tuple[BlobNeed, ...]
    inbox: tuple[InboxItem, ...]
    receipts: tuple[Receipt, ...]
    config: HubConfig
