"""The deflated streams inside a PDF, and which of them zlib rebuilds byte for byte.

Why: a born-digital PDF is mostly zlib streams (fonts, page contents, the XMP packet). zstd
cannot see into deflated bytes, so the same font subset in two documents of one office looks
like noise twice. Inflated, the streams compress better on their own and, above all, against
an earlier document of the same office (docs/benchmarks.md, round 8: the one-office corpus
0.58 → 0.39 of its bytes offline). The receiver must rebuild the exact deflated bytes, since
the blob's digest (and a PAdES signature over its byte ranges) covers them: only a stream that
``zlib.compress(inflated, level)`` reproduces is sent inflated. The PDF is never parsed as a
PDF: a stream is wherever the ``stream`` keyword is followed by a zlib header, and it ends
where zlib says it ends. Anything this gets wrong costs compression, never correctness.

Everything here is bounded (streams per blob, inflated bytes per stream and per blob), so a
hostile or broken file costs at most a few seconds of a Pi's CPU.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.protocol.limits import (
    MAX_RECODE_INFLATED,
    MAX_RECODE_STREAM,
    MAX_RECODE_STREAMS,
    MAX_RECODE_TOTAL,
)

_KEYWORD = re.compile(rb"stream(?:\r\n|\n)")
_LENGTH = re.compile(rb"/Length\s+(\d{1,12})(?![\d])(?!\s+\d+\s+R)")
_DICT_TAIL = 512  # how far before ``stream`` its dictionary's /Length is looked for
_STEP = 64 * 1024  # input piece and output step of one try
# zlib.compress() levels that write each FLEVEL (RFC 1950): the level is tried, not guessed
# further; a producer's other settings (memLevel, strategy) just leave the stream deflated.
_LEVELS = {0: (1,), 1: (), 2: (6,), 3: (9,)}


@dataclass(frozen=True)
class Stream:
    """A zlib stream of the blob: bytes ``start``…``end`` inflate to ``inflated``."""

    start: int
    end: int
    inflated: bytes


@dataclass(frozen=True)
class Segment:
    """A stream ``zlib.compress(inflated, level)`` rebuilds exactly: bytes ``start``…``end``."""

    start: int
    end: int
    level: int


def streams(data: bytes) -> Iterator[Stream]:
    """The zlib streams that begin right after a ``stream`` keyword and end inside ``data``,
    each at most MAX_RECODE_STREAM deflated and MAX_RECODE_INFLATED inflated. At most
    MAX_RECODE_STREAMS are tried and MAX_RECODE_TOTAL bytes inflated in all, counting the
    tries that fail (a crafted file full of broken streams costs no more than a good one)."""
    tried = spent = 0
    view = memoryview(data)
    for match in _KEYWORD.finditer(data):
        start = match.end()
        if tried >= MAX_RECODE_STREAMS or spent >= MAX_RECODE_TOTAL:
            return
        if not _zlib_header(data, start) or _declared_too_long(data, match.start()):
            continue
        tried += 1
        stream, work = _inflate(view, start, min(MAX_RECODE_INFLATED, MAX_RECODE_TOTAL - spent))
        spent += work
        if stream is not None:
            yield stream


def segments(data: bytes) -> list[Segment]:
    """The streams of ``data`` that zlib rebuilds byte for byte, in order."""
    out = []
    for stream in streams(data):
        deflated = data[stream.start:stream.end]
        for level in _LEVELS[deflated[1] >> 6]:
            if zlib.compress(stream.inflated, level) == deflated:
                out.append(Segment(stream.start, stream.end, level))
                break
    return out


def expanded(prefix: bytes, limit: int) -> bytes:
    """``prefix`` with every zlib stream in it inflated, cut at ``limit`` bytes: the form of an
    earlier blob that a recoded upload is compressed against (both ends compute it from the
    same bytes, so no stream needs to be reproducible here)."""
    out, at = bytearray(), 0
    for stream in streams(prefix):
        out += prefix[at:stream.start]
        out += stream.inflated
        at = stream.end
        if len(out) >= limit:
            break
    else:
        out += prefix[at:at + limit - len(out)]
    return bytes(out[:limit])


def _zlib_header(data: bytes, at: int) -> bool:
    """A 32 KiB-window deflate header with no preset dictionary (what zlib.compress writes)."""
    if at + 2 > len(data):
        return False
    cmf, flg = data[at], data[at + 1]
    return cmf == 0x78 and not flg & 0x20 and (cmf * 256 + flg) % 31 == 0


def _declared_too_long(data: bytes, keyword: int) -> bool:
    """The stream's dictionary gives a direct ``/Length`` over MAX_RECODE_STREAM: a big image,
    not worth inflating to find out."""
    lengths = _LENGTH.findall(data, max(0, keyword - _DICT_TAIL), keyword)
    return bool(lengths) and int(lengths[-1]) > MAX_RECODE_STREAM


def _inflate(view: memoryview, start: int, max_out: int) -> tuple[Stream | None, int]:
    """The stream at ``start`` if it ends within the bounds (None for anything else), and the
    bytes inflated to find out. Input goes in pieces and output comes in steps, so that
    neither the rest of the file is copied nor a failing try's work is unknown."""
    inflater, parts, produced, at = zlib.decompressobj(), list[bytes](), 0, start
    end = min(len(view), start + MAX_RECODE_STREAM)
    try:
        while not inflater.eof:
            if at >= end:
                return None, produced  # longer than the bounds, or cut short: left as it is
            piece = view[at:min(at + _STEP, end)]
            pending: bytes | memoryview = piece
            while pending and not inflater.eof:
                out = inflater.decompress(pending, _STEP)
                produced += len(out)
                parts.append(out)
                if produced > max_out:
                    return None, produced
                pending = inflater.unconsumed_tail
            at += len(piece)
    except zlib.error:
        return None, produced + _STEP
    return Stream(start, at - len(inflater.unused_data), b"".join(parts)), produced
