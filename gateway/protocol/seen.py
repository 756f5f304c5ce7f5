"""What a box already holds from earlier replies, named by short digests (docs/protocol.md §3).

``X-Sync-Seen`` names the inbox a box holds, so that the hub long-polls instead of answering at
once with entries the box is still downloading. ``X-Sync-Need`` names the blob digests of the
last ``need`` list the box received: while a box uploads, most replies list the same blobs again
(only offsets move), and 64 hex digits per blob are what no dictionary compresses; a hub whose
list names the same blobs in the same order then sends each ``sha256`` as ``""``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from gateway.protocol.wire import InboxItem

MAX_SEEN = 64  # characters of either header the hub reads; a digest is 16
SEEN_HEADER = "X-Sync-Seen"
NEED_HEADER = "X-Sync-Need"
# The hub's mark of the box's inbox (HubStore.inbox_mark) on sync replies and PATCH replies: a
# box that is not long-polling learns at the end of each upload request whether a document
# was routed to it since its last sync (docs/protocol.md §3).
NEWS_HEADER = "X-Sync-News"
MAX_NEWS = 20  # characters of the mark a box reads; anything else counts as no mark


def inbox_digest(inbox: Iterable[InboxItem]) -> str:
    """The same short name on both sides for the same set of inbox entries; "" for none."""
    seqs = sorted(i.seq for i in inbox)
    if not seqs:
        return ""
    return hashlib.sha256(",".join(map(str, seqs)).encode()).hexdigest()[:16]


def need_digest(shas: Sequence[str]) -> str:
    """The same short name on both sides for the same blobs in the same order; "" for none."""
    if not shas:
        return ""
    return hashlib.sha256(",".join(shas).encode()).hexdigest()[:16]


def news_mark(value: str | None) -> str:
    """The hub's X-Sync-News as the box keeps it: decimal digits, or "" (none, unreadable,
    or an older hub that does not send it)."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > MAX_NEWS:
        return ""
    return value
