"""A recoded frame's content (docs/protocol.md §7, kinds 4 and 5): how to rebuild a piece of a
blob whose deflated streams travel inflated.

A recipe is a list of records: ``0x00 len:u32 bytes`` (these bytes as they are) and
``0x01 level:u8 deflated:u32 inflated:u32 bytes`` (``zlib.compress(bytes, level)``, which must
come to ``deflated`` bytes). The receiver checks every length against what the frame header
declares before deflating anything, and the recipe's size against the frame's
(MAX_RECIPE_PER_RAW), so a small frame cannot make the hub deflate megabytes; the frame's
CRC then says whether the rebuilt bytes are the sender's.
"""

from __future__ import annotations

import bisect
import struct
import zlib
from collections.abc import Sequence

from gateway.errors import GatewayError
from gateway.protocol.limits import MAX_FRAME_RAW, MAX_RECIPE_PER_RAW, MAX_RECIPE_SLACK
from gateway.protocol.pdf_streams import Segment

_LITERAL = struct.Struct(">BI")
_DEFLATED = struct.Struct(">BBII")
_KIND_LITERAL, _KIND_DEFLATED = 0, 1
# A frame stretches to hold a whole stream up to STRETCH × its size in the blob; the sender
# keeps it only if it goes on the wire within WIRE_SPAN × that size (an inflated font against
# the office's last document shrinks tenfold; alone it does not: that frame goes plain).
STRETCH = 8
WIRE_SPAN = 2


class RecipeError(GatewayError):
    """A recipe that cannot be followed; the frame carrying it is refused."""


def max_recipe(raw_len: int) -> int:
    """The longest recipe a frame of ``raw_len`` bytes may carry."""
    return min(MAX_FRAME_RAW, MAX_RECIPE_PER_RAW * raw_len + MAX_RECIPE_SLACK)


def frame_end(segments: Sequence[Segment], at: int, want: int, size: int) -> int:
    """Where a frame starting at ``at`` of about ``want`` bytes ends: stretched to the end of
    a stream it would cut if that stays within STRETCH × ``want``, else just before that stream
    (which then starts the next frame), else (a stream too long for a frame) at ``want``."""
    end = min(size, at + want)
    for seg in segments[bisect.bisect_left(segments, at, key=_start):]:
        if seg.start < end < seg.end:
            if seg.end - at <= STRETCH * want:
                return seg.end
            fits = seg.end - seg.start <= STRETCH * want
            return seg.start if fits and seg.start > at else end
        if seg.start >= end:
            break
    return end


def build(raw: bytes, at: int, segments: Sequence[Segment]) -> bytes | None:
    """The recipe of ``raw`` (the blob's bytes from ``at``), its whole streams inflated; None
    when it holds none, or the recipe would be too long for the frame."""
    out, pos, end, found = bytearray(), 0, at + len(raw), False
    for seg in segments[bisect.bisect_left(segments, at, key=_start):]:
        if seg.end > end:
            break
        start, stop = seg.start - at, seg.end - at
        inflated = zlib.decompress(raw[start:stop])
        if start > pos:
            out += _LITERAL.pack(_KIND_LITERAL, start - pos) + raw[pos:start]
        out += _DEFLATED.pack(_KIND_DEFLATED, seg.level, stop - start, len(inflated)) + inflated
        pos, found = stop, True
    if not found:
        return None
    if pos < len(raw):
        out += _LITERAL.pack(_KIND_LITERAL, len(raw) - pos) + raw[pos:]
    return bytes(out) if len(out) <= max_recipe(len(raw)) else None


def rebuild(recipe: bytes, raw_len: int) -> bytes:
    """The ``raw_len`` bytes ``recipe`` stands for; a RecipeError for anything else."""
    if len(recipe) > max_recipe(raw_len):
        raise RecipeError("recipe too long for its frame")
    out, pos = bytearray(), 0
    while pos < len(recipe):
        kind = recipe[pos]
        if kind == _KIND_LITERAL:
            length, pos = _field(recipe, pos, _LITERAL)[0], pos + _LITERAL.size
            _room(out, length, raw_len)
            out += _take(recipe, pos, length)
        elif kind == _KIND_DEFLATED:
            level, deflated, length = _field(recipe, pos, _DEFLATED)
            pos += _DEFLATED.size
            if not 1 <= level <= 9:
                raise RecipeError(f"deflate level {level} out of range")
            _room(out, deflated, raw_len)
            packed = zlib.compress(_take(recipe, pos, length), level)
            if len(packed) != deflated:
                raise RecipeError("deflated stream does not have its declared length")
            out += packed
        else:
            raise RecipeError(f"unknown record kind {kind}")
        pos += length
    if len(out) != raw_len:
        raise RecipeError("recipe is shorter than its frame")
    return bytes(out)


def _start(seg: Segment) -> int:
    return seg.start


def _field(recipe: bytes, pos: int, shape: struct.Struct) -> tuple[int, ...]:
    if pos + shape.size > len(recipe):
        raise RecipeError("recipe ends inside a record header")
    return shape.unpack_from(recipe, pos)[1:]


def _take(recipe: bytes, pos: int, length: int) -> bytes:
    if pos + length > len(recipe):
        raise RecipeError("recipe ends inside a record")
    return recipe[pos:pos + length]


def _room(out: bytearray, length: int, raw_len: int) -> None:
    if len(out) + length > raw_len:
        raise RecipeError("recipe is longer than its frame")
