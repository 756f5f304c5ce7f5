"""The pieces of frames that cuts interrupted, kept in memory for the box to go on with
(:mod:`gateway.protocol.frame_resume`).

A piece is worth keeping only briefly: the box that was cut comes back within seconds or
minutes, or has restarted and forgotten the frame. So pieces live in memory (a hub restart
just loses them), for :data:`TTL_S`, at most :data:`PER_AGENCY` per box and
:data:`BUDGET` bytes in all, the oldest giving way: a box that cuts its own uploads on purpose
can only push out other pieces, which costs their boxes a frame each, never a document.
"""

from __future__ import annotations

import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.protocol.frame_resume import MAX_PIECE, Context, HeldPiece

BUDGET = 32 * 2**20
PER_AGENCY = 4  # a box uploads at most two blobs at once; a chain cut once leaves one piece
TTL_S = 900.0
MIN_PIECE = 512  # less is not worth a header on the next request


@dataclass(frozen=True)
class _Piece:
    offset: int
    data: bytes
    context: Context
    kept_s: float


class HeldFrames:
    def __init__(self, *, budget: int = BUDGET, ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._budget = budget
        self._ttl_s = ttl_s
        self._clock = clock
        self._pieces: OrderedDict[tuple[str, str], _Piece] = OrderedDict()
        self._bytes = 0
        self.kept = 0  # pieces kept, and how many a box went on with (metrics)
        self.resumed = 0
        self.resumed_bytes = 0

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def keep(self, agency: str, sha256: str, offset: int, data: bytes,
             context: Context) -> bool:
        """Keeps the piece of the frame at ``offset`` of the caller's blob, in place of any
        earlier one; False if it is too short or too long to be worth it."""
        self.drop(agency, sha256)
        if not MIN_PIECE <= len(data) < min(MAX_PIECE, self._budget):
            return False
        self._expire()
        mine = [key for key in self._pieces if key[0] == agency]
        for key in mine[:max(0, len(mine) - PER_AGENCY + 1)]:
            self._remove(key)
        while self._bytes + len(data) > self._budget:
            self._remove(next(iter(self._pieces)))
        self._pieces[agency, sha256] = _Piece(offset, data, context, self._clock())
        self._bytes += len(data)
        self.kept += 1
        return True

    def drop(self, agency: str, sha256: str) -> None:
        """Forgets the blob's piece: frames of it are coming from its offset anew."""
        if (agency, sha256) in self._pieces:
            self._remove((agency, sha256))

    def peek(self, agency: str, sha256: str, offset: int) -> HeldPiece | None:
        """The piece held at ``offset`` of the blob, as the box is told of it."""
        self._expire()
        piece = self._pieces.get((agency, sha256))
        if piece is None or piece.offset != offset:
            return None
        return HeldPiece(offset, len(piece.data), zlib.crc32(piece.data))

    def listing(self, agency: str, needs: Iterable[tuple[str, int]]) -> dict[str, HeldPiece]:
        """The pieces held at the offsets of ``needs`` (digest, offset)."""
        found = {sha: self.peek(agency, sha, offset) for sha, offset in needs}
        return {sha: piece for sha, piece in found.items() if piece is not None}

    def take(self, agency: str, sha256: str, wanted: HeldPiece, context: Context) -> bytes | None:
        """The first ``wanted.length`` bytes of the piece, if one is held at ``wanted.offset``
        for a request of the same dictionary and recoding and they have ``wanted.crc``; the
        piece is gone either way (the request's frames start at its offset)."""
        self._expire()
        piece = self._pieces.get((agency, sha256))
        self.drop(agency, sha256)
        if piece is None or piece.offset != wanted.offset or piece.context != context \
                or not 0 < wanted.length <= len(piece.data):
            return None
        data = piece.data[:wanted.length]
        if zlib.crc32(data) != wanted.crc:
            return None
        self.resumed += 1
        self.resumed_bytes += len(data)
        return data

    def _expire(self) -> None:
        now = self._clock()
        while self._pieces:
            key, piece = next(iter(self._pieces.items()))
            if now - piece.kept_s < self._ttl_s:
                break
            self._remove(key)

    def _remove(self, key: tuple[str, str]) -> None:
        self._bytes -= len(self._pieces.pop(key).data)
