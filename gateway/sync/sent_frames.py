"""The frames an uploader sent lately, so that after a cut it can send only the rest of the
one the hub holds a piece of (:mod:`gateway.protocol.frame_resume`).

Which frame a cut interrupted is known only from the hub's answer: up to a second of the link
sat in buffers. So the last few frames of each of the last few blobs are kept, each with the
request context it was made in (its dictionary and recoding): the rest of a frame only makes
sense to a request of the same context. A blob's frames are forgotten once the hub holds it
complete; those of a cut request are the last to give way to others. Bounded in count and
bytes: a Pi has 1 GB.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.protocol.frame_resume import Context, HeldPiece

PER_BLOB = 16  # frames in flight at a cut: the buffers before and in the link hold a few
BLOBS = 8  # blobs not yet complete at the hub (a complete one's frames are forgotten)
BUDGET = 4 * 2**20


@dataclass(frozen=True)
class SentFrame:
    raw_len: int  # blob bytes the frame covers
    frame: bytes
    context: Context


class SentFrames:
    def __init__(self, *, per_blob: int = PER_BLOB, blobs: int = BLOBS,
                 budget: int = BUDGET) -> None:
        self._per_blob, self._blobs, self._budget = per_blob, blobs, budget
        self._sent: OrderedDict[str, OrderedDict[int, SentFrame]] = OrderedDict()
        self._pinned: set[str] = set()  # blobs of a cut request: the last to give way
        self._bytes = 0

    def remember(self, sha256: str, offset: int, sent: SentFrame) -> None:
        """``sent`` is the frame at ``offset`` of the blob: the newest kept."""
        frames = self._sent.setdefault(sha256, OrderedDict())
        self._sent.move_to_end(sha256)
        if offset in frames:
            self._bytes -= len(frames.pop(offset).frame)
        frames[offset] = sent
        self._bytes += len(sent.frame)
        while len(frames) > self._per_blob:
            self._bytes -= len(frames.popitem(last=False)[1].frame)
        while len(self._sent) > self._blobs or self._bytes > self._budget:
            self._drop_oldest()

    def resumable(self, sha256: str, piece: HeldPiece) -> SentFrame | None:
        """The frame whose first bytes are ``piece``, with more after; the request going on
        with it must be of its context."""
        frames = self._sent.get(sha256)
        sent = None if frames is None else frames.get(piece.offset)
        if sent is None or not 0 < piece.length < len(sent.frame):
            return None
        return sent if zlib.crc32(sent.frame[:piece.length]) == piece.crc else None

    def pin(self, shas: Iterable[str]) -> None:
        """The blobs of a request that was cut: the hub may hold a piece of one of their
        frames, and other blobs' frames sent while they wait give way first."""
        self._pinned.update(sha for sha in shas if sha in self._sent)

    def forget(self, sha256: str) -> None:
        self._pinned.discard(sha256)
        frames = self._sent.pop(sha256, None)
        self._bytes -= sum(len(sent.frame) for sent in (frames or {}).values())

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def keep_only(self, needed: Iterable[str]) -> None:
        """Forgets every blob but ``needed`` (those the hub still needs)."""
        for sha in set(self._sent) - set(needed):
            self.forget(sha)

    def _drop_oldest(self) -> None:
        """The oldest frame of the least recent blob, one not pinned if there is any other
        than the newest (the one being sent)."""
        newest = next(reversed(self._sent))
        sha = next((s for s in self._sent if s not in self._pinned and s != newest),
                   next(iter(self._sent)))
        frames = self._sent[sha]
        if frames:
            self._bytes -= len(frames.popitem(last=False)[1].frame)
        if not frames:
            del self._sent[sha]
            self._pinned.discard(sha)
