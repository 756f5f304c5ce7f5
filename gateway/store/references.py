"""Which earlier blobs of this box could serve as an upload's dictionary (docs/protocol.md §7).

A candidate is an attachment of one of this box's own documents that the hub has accepted,
of the same media type as the blob about to go. Whether the hub already holds it complete is
the uploader's to judge (it is not among the hub's needs); the hub checks again and refuses a
reference it cannot use, so a wrong guess costs one round trip, never wrong bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from gateway.protocol import pdf_streams
from gateway.protocol.crossdoc import Candidate, Reference
from gateway.protocol.limits import MAX_XDOC_DICT, MIN_XDOC_REF
from gateway.store.db import Conn
from gateway.store.local import LocalStore

LIMIT = 16  # the newest few are enough: the choice takes the newest usable ones


@dataclass(frozen=True)
class Sent:
    """The blob about to go (its media type) and the box's earlier sent blobs of that type;
    ``verified_ms`` of each is its document's creation time, an order, not a hub timestamp."""

    media_type: str
    candidates: tuple[Candidate, ...]


async def sent_before(store: LocalStore, sha256: str, skip: Collection[str] = ()) -> Sent | None:
    """``None`` when no outgoing document of this box carries ``sha256``. ``skip``: blobs the
    hub does not hold yet; left out here, not after the limit, because a burst of documents
    queued at once would otherwise fill the newest few with blobs still to be sent, and the
    first of them would go without a dictionary (measured: 8 of a burst of 24)."""
    async def q(conn: Conn) -> Sent | None:
        found = await (await conn.execute(
            "SELECT a.media_type FROM attachments a JOIN documents d ON d.id = a.doc_id"
            " WHERE a.sha256 = ? AND d.direction = 'out' LIMIT 1", (sha256,))).fetchone()
        if found is None:
            return None
        media_type = str(found[0])
        rows = await conn.execute_fetchall(
            "SELECT a.sha256, max(a.size), max(d.created_ms) FROM attachments a"
            " JOIN documents d ON d.id = a.doc_id JOIN outbound o ON o.doc_id = d.id"
            " WHERE d.direction = 'out' AND o.state IN ('accepted', 'done')"
            " AND a.media_type = ? AND a.sha256 != ? AND a.size >= ?"
            " AND a.sha256 NOT IN (SELECT value FROM json_each(?))"
            " GROUP BY a.sha256 ORDER BY max(d.created_ms) DESC LIMIT ?",
            (media_type, sha256, MIN_XDOC_REF, json.dumps(sorted(skip)), LIMIT))
        return Sent(media_type, tuple(Candidate(str(r[0]), int(r[1]), media_type, int(r[2]))
                                      for r in rows))

    return await store.db.read(q)


def dictionary(read: Callable[[str, int], bytes], chosen: Sequence[Candidate], room: int,
               expand: bool) -> tuple[tuple[Reference, ...], bytes]:
    """The references and joined content of a dictionary of at most ``room`` bytes made of
    ``chosen`` (newest first): each blob's first min(size, MAX_XDOC_DICT) bytes, ``expand``ed
    for a recoded request (§7), the newest whole and older ones as far as room is left. The
    newest goes last, next to the data, where zstd's matches are cheapest. ``read(sha, n)``
    gives a blob's first ``n`` bytes (from the blob store: this runs in a thread)."""
    parts: list[tuple[Reference, bytes]] = []
    for cand in chosen:
        if room < MIN_XDOC_REF:
            break
        want = min(cand.size, MAX_XDOC_DICT)
        try:
            prefix = read(cand.sha256, want)
        except OSError:
            continue  # swept meanwhile: the others still serve
        form = pdf_streams.expanded(prefix, room) if expand else prefix[:room]
        if len(prefix) != want or len(form) < MIN_XDOC_REF:
            continue
        parts.append((Reference(cand.sha256, len(form)), form))
        room -= len(form)
    parts.reverse()
    return tuple(ref for ref, _ in parts), b"".join(form for _, form in parts)


def content(read: Callable[[str, int], bytes], size: Callable[[str], int],
            refs: Sequence[Reference], expand: bool) -> bytes | None:
    """The joined content of the dictionary ``refs`` name, built as the hub builds it
    (docs/protocol.md §4): a request going on with a frame made against it names it again.
    None if a blob is gone or no longer gives that length."""
    parts: list[bytes] = []
    for ref in refs:
        try:
            prefix = read(ref.sha256, min(size(ref.sha256), MAX_XDOC_DICT))
        except OSError:
            return None
        form = pdf_streams.expanded(prefix, ref.length) if expand else prefix[:ref.length]
        if len(form) != ref.length:
            return None
        parts.append(form)
    return b"".join(parts)
