"""X-Sync-Seen (docs/protocol.md §3): names the inbox a box already holds, so that the hub
long-polls instead of answering at once with entries the box is still downloading."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from gateway.protocol.wire import InboxItem

MAX_SEEN = 64  # characters of the header the hub reads; a digest is 16


def inbox_digest(inbox: Iterable[InboxItem]) -> str:
    """The same short name on both sides for the same set of inbox entries; "" for none."""
    seqs = sorted(i.seq for i in inbox)
    if not seqs:
        return ""
    return hashlib.sha256(",".join(map(str, seqs)).encode()).hexdigest()[:16]
