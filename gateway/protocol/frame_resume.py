"""Going on with a frame a cut interrupted (docs/protocol.md §4, "Resuming a frame").

A cut used to cost the whole frame in flight: the hub kept only verified frames. The bytes of
that frame that crossed the link are whole TLS records, so the hub can keep them (a *piece*)
and say how many it holds; the box, which remembers the frames it sent lately, then sends only
the rest of that frame. So a cut costs at most a part of one TLS record, whatever the frame's
size, and frames need not shrink on a link that cuts often (larger frames compress better).

The piece's length and CRC-32 travel together: the box goes on only from a frame whose first
bytes are the piece (it may have made another frame at that offset since), and the hub checks
the CRC the box sends again before it joins the two. The frame's own CRC still checks the
whole. Headers:

- ``X-Upload-Resume: 1`` in a sync reply with needs: the hub takes ``Upload-Frame-Resume``.
- ``X-Upload-Held: <sha256 prefix>:<offset>:<length>:<crc>,…`` beside it: the pieces held for
  the needs listed, each at the need's offset.
- ``Upload-Frame-Held: <length>:<crc>`` in a ``HEAD`` answer: the piece at ``Upload-Offset``.
- ``Upload-Frame-Resume: <length>:<crc>`` on a ``PATCH``: its body starts ``length`` bytes into
  the frame at ``Upload-Offset``. A hub that holds no such piece answers ``409`` with
  ``Upload-Dict-Refused: resume`` before reading the body; the box sends that frame whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.protocol.crossdoc import Reference, references_header
from gateway.protocol.frames import FRAME_HEADER
from gateway.protocol.limits import MAX_FRAME_OVERHEAD, MAX_FRAME_RAW

UPLOAD_RESUME_OFFER = "X-Upload-Resume"
UPLOAD_HELD = "X-Upload-Held"
FRAME_HELD = "Upload-Frame-Held"
FRAME_RESUME = "Upload-Frame-Resume"
RESUME_REFUSED = "resume"  # the value of Upload-Dict-Refused when no such piece is held

PREFIX = 16  # hex digits of a blob's sha256 in X-Upload-Held: unique among one box's needs
MAX_LISTED = 8  # pieces one sync reply names (a box runs at most two uploads at once)
MAX_PIECE = FRAME_HEADER.size + MAX_FRAME_RAW + MAX_FRAME_OVERHEAD  # a piece is shorter
# What the rest of a frame needs to be read as the frame was: the request's Upload-Dict value
# (None: no dictionary) and whether it said Upload-Recode. A piece belongs to one context.
Context = tuple[str | None, bool]
_PIECE = re.compile(r"([1-9][0-9]{0,7}):([0-9a-f]{8})")
_LISTED = re.compile(r"([0-9a-f]{16}):(0|[1-9][0-9]{0,14}):([1-9][0-9]{0,7}):([0-9a-f]{8})")


@dataclass(frozen=True)
class HeldPiece:
    """The first ``length`` bytes (CRC-32 ``crc``) of the frame at ``offset`` of a blob."""

    offset: int
    length: int
    crc: int

    def header(self) -> str:
        """The ``Upload-Frame-Held``/``Upload-Frame-Resume`` value (the offset goes apart)."""
        return f"{self.length}:{self.crc:08x}"

    @classmethod
    def parse(cls, offset: int, value: str) -> HeldPiece:
        """``value`` as :meth:`header` writes it; ValueError for anything else."""
        m = _PIECE.fullmatch(value)
        if m is None or int(m[1]) >= MAX_PIECE:
            raise ValueError("not <length>:<crc32 hex>")
        return cls(offset, int(m[1]), int(m[2], 16))


def context(refs: tuple[Reference, ...], recode: bool) -> Context:
    """The context of a request (or a chained blob) made against ``refs``."""
    return references_header(refs) if refs else None, recode


def held_list(pieces: Mapping[str, HeldPiece]) -> str:
    """The ``X-Upload-Held`` value for at most :data:`MAX_LISTED` pieces, by blob digest."""
    return ",".join(f"{sha[:PREFIX]}:{p.offset}:{p.header()}"
                    for sha, p in list(pieces.items())[:MAX_LISTED])


def parse_held_list(value: str, needs: Iterable[str]) -> dict[str, HeldPiece]:
    """The pieces an ``X-Upload-Held`` value names, by the digest among ``needs`` that its
    prefix names alone; anything unreadable, ambiguous or beyond the limit is left out (the
    box then sends that frame whole)."""
    if not value or len(value) > MAX_LISTED * 64:
        return {}
    by_prefix: dict[str, list[str]] = {}
    for sha in needs:
        by_prefix.setdefault(sha[:PREFIX], []).append(sha)
    pieces: dict[str, HeldPiece] = {}
    for entry in value.split(",")[:MAX_LISTED]:
        m = _LISTED.fullmatch(entry.strip())
        named = by_prefix.get(m[1], []) if m is not None else []
        if m is None or len(named) != 1 or int(m[3]) >= MAX_PIECE:
            continue
        pieces[named[0]] = HeldPiece(int(m[2]), int(m[3]), int(m[4], 16))
    return pieces
