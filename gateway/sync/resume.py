"""What an upload request goes on with after a cut: the rest of the frame the hub holds a
piece of (docs/protocol.md §4, "Resuming a frame").

The uploader remembers its frames (:mod:`gateway.sync.sent_frames`); the hub says which piece
it holds (:attr:`gateway.sync.link.HubLink.frames_held`). A request goes on with a piece only
as its first blob, against the very dictionary the frame was made against: the one a fresh
choice would pick has often changed meanwhile (a document completed since is newer), and the
rest of a frame made against other content would fail its CRC.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway.protocol.crossdoc import Reference, parse_references
from gateway.protocol.frame_resume import HeldPiece
from gateway.protocol.wire import BlobNeed
from gateway.store import references
from gateway.sync.sent_frames import SentFrame

if TYPE_CHECKING:
    from gateway.sync.uploads import Uploader

Resume = tuple[HeldPiece, SentFrame]
NONE: tuple[Resume | None, tuple[Reference, ...], bytes | None] = (None, (), None)


def resumable(up: Uploader) -> set[str]:
    """The blobs the hub holds a piece of a frame of that ``up`` sent: a request goes on with
    one only as its first blob (a chain frame carries no piece)."""
    if not up.client.hub.upload_resume:
        return set()
    return {sha for sha, piece in up.client.hub.frames_held.items()
            if up.recent.resumable(sha, piece) is not None}


async def going_on(up: Uploader, need: BlobNeed, recode: bool) -> tuple[
        Resume | None, tuple[Reference, ...], bytes | None]:
    """The piece the hub holds of the frame at ``need``'s offset and that frame, if ``up``
    sent it in a request recoding as this one does, with that frame's references and
    dictionary; NONE when the request starts afresh."""
    c = up.client
    piece = c.hub.frames_held.get(need.sha256)
    if piece is None or piece.offset != need.offset or not c.hub.upload_resume:
        return NONE
    cut = up.recent.resumable(need.sha256, piece)
    if cut is None or cut.context[1] != recode:
        return NONE
    named = cut.context[0]
    if named is None:
        return (piece, cut), (), None
    if need.sha256 in up.no_dict:  # the hub refused a dictionary for this blob since
        return NONE
    refs = parse_references(named)
    dictionary = await asyncio.to_thread(
        references.content, lambda sha, n: c.store.blobs.read_range(sha, 0, n),
        c.store.blobs.size, refs, recode)
    return ((piece, cut), refs, dictionary) if dictionary else NONE
