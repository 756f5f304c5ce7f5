"""Blob frames (docs/protocol.md §7): self-checking pieces of a blob on a link that cuts.

Each frame carries its own length and CRC-32, so the receiver keeps every complete, verified
frame and loses only the one a cut interrupted; the sender may stop at any frame boundary to
let a more urgent document overtake. Every payload is offered to zstd and goes compressed
whenever that makes it smaller: even JPEG scans and deflated PDFs have frames that gain, and
zstd passes over incompressible data quickly (bench: 0.005 s/MB at level 3).

Header ``>BIII``: kind (0 raw, 1 zstd, 2 zstd against the request's dictionary, 3 chain,
4 and 5 recoded, 6 chain naming several references),
wire_len, raw_len, crc32(raw). The decoder checks the limits from the header alone, before
buffering a payload, and decompresses into at most ``raw_len`` bytes. The dictionary (kind 2)
is the start of an earlier blob both ends hold (:mod:`gateway.protocol.crossdoc`); it carries
no id, so a frame made against other content fails its CRC and nothing of it is kept.

A recoded frame (kind 4, or 5 against the dictionary) carries a recipe
(:mod:`gateway.protocol.recipe`): the frame's bytes with their deflated streams inflated, which
the receiver deflates again; ``raw_len`` and the CRC are still those of the blob's bytes.
Only a request that said ``Upload-Recode`` may send them.

A chain frame (kind 3, :class:`ChainTo`) says "the blob before is whole; the frames after me
are of this other blob": one upload request carries several blobs, so neither the round trip
at a blob's end nor a second connection to hide it is paid (docs/protocol.md §4). It carries
no payload bytes of a blob (raw_len 0); its CRC covers its fixed-size body.
"""

from __future__ import annotations

import struct
import threading
import zlib
from dataclasses import dataclass

import zstandard

from gateway.errors import GatewayError
from gateway.protocol.compression import CompressionError
from gateway.protocol.crossdoc import Reference, parse_references
from gateway.protocol.limits import (
    FRAME_SLOW_LEVEL,
    FRAME_ZSTD_LEVEL,
    MAX_FRAME_OVERHEAD,
    MAX_FRAME_RAW,
    MAX_XDOC_DICT,
    MAX_XDOC_REFS,
    SLOW_LINK_FRAME,
    SLOW_TABLE_LOG,
)
from gateway.protocol.recipe import RecipeError, max_recipe, rebuild

FRAME_HEADER = struct.Struct(">BIII")
KIND_RAW = 0
KIND_ZSTD = 1
KIND_ZSTD_DICT = 2
KIND_CHAIN = 3
KIND_RECODED = 4
KIND_RECODED_DICT = 5
_RECODED = (KIND_RECODED, KIND_RECODED_DICT)
# A chain frame's body: the next blob's sha256, where it starts, its size, and its dictionary
# (length 0 and a zero digest: none).
CHAIN = struct.Struct(">32sQQI32s")
KIND_CHAIN_REFS = 6  # a chain frame naming 2…MAX_XDOC_REFS references: head, then each
CHAIN_REFS = struct.Struct(">32sQQB")
CHAIN_REF = struct.Struct(">I32s")
_NO_DICT = bytes(32)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
FILL_WAIT_S = 0.025  # how long a frame waits for the slow level's tables (off the event loop)


class FrameError(GatewayError):
    """A frame that breaks §7; the stream ends here.

    ``complete`` holds the payloads of the same ``feed`` call that were verified before the bad
    frame: they are good and should be kept, as a cut would have kept them.
    """

    def __init__(self, message: str, complete: tuple[bytes, ...] = ()) -> None:
        super().__init__(message)
        self.complete = complete


@dataclass(frozen=True)
class ChainTo:
    """What a chain frame names: the blob whose frames follow, from ``offset`` of ``size``,
    made against the joined contents of ``references`` (none: no dictionary)."""

    sha256: str
    offset: int
    size: int
    references: tuple[Reference, ...] = ()

    def frame(self) -> bytes:
        """The whole chain frame, header included: kind 3 for at most one reference."""
        refs, digest = self.references, bytes.fromhex(self.sha256)
        if len(refs) > 1:
            body = CHAIN_REFS.pack(digest, self.offset, self.size, len(refs)) + b"".join(
                CHAIN_REF.pack(ref.length, bytes.fromhex(ref.sha256)) for ref in refs)
            return FRAME_HEADER.pack(KIND_CHAIN_REFS, len(body), 0, zlib.crc32(body)) + body
        body = CHAIN.pack(digest, self.offset, self.size, refs[0].length if refs else 0,
                          bytes.fromhex(refs[0].sha256) if refs else _NO_DICT)
        return FRAME_HEADER.pack(KIND_CHAIN, len(body), 0, zlib.crc32(body)) + body

    @classmethod
    def parse(cls, kind: int, body: bytes) -> ChainTo:
        """A chain frame's body (its CRC already checked); anything else is a FrameError."""
        if kind == KIND_CHAIN:
            digest, offset, size, dict_len, dict_sha = CHAIN.unpack(body)
            if not dict_len and dict_sha != _NO_DICT:
                raise FrameError("chain frame: a dictionary digest without a length")
            named = [(dict_len, dict_sha)] if dict_len else []
        else:
            digest, offset, size, count = CHAIN_REFS.unpack_from(body)
            named = list(CHAIN_REF.iter_unpack(body[CHAIN_REFS.size:]))
            if count != len(named):
                raise FrameError("chain frame: reference count differs from its body")
        if offset > size:
            raise FrameError("chain frame: offset past the blob's size")
        if not named:
            return cls(digest.hex(), offset, size)
        try:
            refs = parse_references(",".join(Reference(d.hex(), n).header() for n, d in named))
        except (ValueError, CompressionError) as exc:
            raise FrameError(f"chain frame: {exc}") from None
        return cls(digest.hex(), offset, size, refs)


def _dictionary(content: bytes | None) -> zstandard.ZstdCompressionDict | None:
    if content is None:
        return None
    if not 0 < len(content) <= MAX_XDOC_DICT:
        raise ValueError(f"a frame dictionary must be 1…{MAX_XDOC_DICT} bytes")
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def _compressor(level: int, dictionary: bytes | None) -> zstandard.ZstdCompressor:
    """A compressor at ``level``; the slow level with its tables capped (limits.py)."""
    zdict = _dictionary(dictionary)
    if level < FRAME_SLOW_LEVEL:
        if zdict is not None:
            zdict.precompute_compress(level=level)
        return zstandard.ZstdCompressor(level=level, dict_data=zdict, write_content_size=True,
                                        write_checksum=False, write_dict_id=False)
    params = zstandard.ZstdCompressionParameters.from_level(
        level, hash_log=SLOW_TABLE_LOG, chain_log=SLOW_TABLE_LOG, write_content_size=True,
        write_checksum=False, write_dict_id=False)
    if zdict is not None:
        zdict.precompute_compress(compression_params=params)
    return zstandard.ZstdCompressor(compression_params=params, dict_data=zdict)


class FrameEncoder:
    """Frames one blob; a payload goes compressed whenever that is smaller.

    With ``dictionary`` (the start of an earlier blob the receiver holds, named in the
    request), compressed frames are made against it (kind 2). ``level`` None: frames of at
    most SLOW_LINK_FRAME bytes (a slow link's) at FRAME_SLOW_LEVEL, larger ones at
    FRAME_ZSTD_LEVEL; the level is the sender's business, the receiver decodes any.
    """

    def __init__(self, *, level: int | None = None, dictionary: bytes | None = None) -> None:
        self._dictionary = dictionary
        _dictionary(dictionary)  # refuses a bad one here, not at the first frame
        self._level = level
        self._cctx: dict[int, zstandard.ZstdCompressor] = {}
        self._filling: threading.Thread | None = None
        self._kind = KIND_ZSTD if dictionary is None else KIND_ZSTD_DICT
        self._recoded = KIND_RECODED if dictionary is None else KIND_RECODED_DICT
        self.frames = 0
        self.compressed = 0

    def encode(self, raw: bytes, recipe: bytes | None = None) -> bytes:
        """The frame of ``raw``; with ``recipe`` (raw's recipe, for a request that said
        ``Upload-Recode``), the recipe is what is compressed."""
        if len(raw) > MAX_FRAME_RAW:
            raise FrameError(f"frame payload over {MAX_FRAME_RAW} bytes")
        crc = zlib.crc32(raw)
        payload, kind = raw, KIND_RAW
        content, compressed = (raw, self._kind) if recipe is None else (recipe, self._recoded)
        if raw:
            packed = self._compressor(len(raw)).compress(content)
            if len(packed) < len(raw):
                payload, kind = packed, compressed
                self.compressed += 1
        self.frames += 1
        return FRAME_HEADER.pack(kind, len(payload), len(raw), crc) + payload

    def _compressor(self, raw_len: int) -> zstandard.ZstdCompressor:
        """Made at first use: a fast link never pays for the slow level's tables. Filling them
        takes ~2 ms here from the dictionary of a typical 100 KB document and ~30 ms from a
        1 MiB one (a Pi: several times that), which the link would wait for at the start of
        every request: it happens on a thread of its own, waited for up to :data:`FILL_WAIT_S`
        (a small document's dictionary is ready by then: its frames all go at the slow level),
        and frames go at the fast level until it is done."""
        level = self._level if self._level is not None else (
            FRAME_SLOW_LEVEL if raw_len <= SLOW_LINK_FRAME else FRAME_ZSTD_LEVEL)
        if level in self._cctx:
            return self._cctx[level]
        if self._level is None and level == FRAME_SLOW_LEVEL and self._dictionary is not None:
            if self._filling is None:
                self._filling = threading.Thread(target=self._fill, args=(level,), daemon=True)
                self._filling.start()
            self._filling.join(FILL_WAIT_S)
            if level in self._cctx:
                return self._cctx[level]
            level = FRAME_ZSTD_LEVEL
            if level in self._cctx:
                return self._cctx[level]
        self._cctx[level] = _compressor(level, self._dictionary)
        return self._cctx[level]

    def _fill(self, level: int) -> None:
        self._cctx[level] = _compressor(level, self._dictionary)


class FrameDecoder:
    """Turns a byte stream cut anywhere into verified payloads; errors end the stream.

    Kind 2 frames are accepted only with ``dictionary``: the content the sender named, read
    by the caller from a copy it holds verified. Chain frames (kind 3) only with ``chain``:
    :meth:`feed` then stops at one, returning the payloads before it and leaving it in
    :attr:`chained`; the caller finishes the blob before, checks the next one, and calls
    :meth:`switch` with that blob's dictionary, then ``feed(b"")`` for what followed."""

    def __init__(self, *, max_raw: int = MAX_FRAME_RAW, dictionary: bytes | None = None,
                 chain: bool = False, recode: bool = False) -> None:
        if not 0 <= max_raw <= MAX_FRAME_RAW:
            raise ValueError(f"max_raw must be within 0…{MAX_FRAME_RAW}")
        self._max_raw = max_raw
        self._buf = bytearray()
        self._failed: str | None = None
        self._chain = chain
        self._recode = recode
        self.chained: ChainTo | None = None
        self._dctx = zstandard.ZstdDecompressor(max_window_size=MAX_FRAME_RAW)
        self._dict_dctx: zstandard.ZstdDecompressor | None = None
        self._use(dictionary)
        self.frames = 0

    def _use(self, dictionary: bytes | None) -> None:
        zdict = _dictionary(dictionary)
        self._dict_dctx = None if zdict is None else zstandard.ZstdDecompressor(
            dict_data=zdict, max_window_size=MAX_FRAME_RAW)

    def switch(self, dictionary: bytes | None) -> None:
        """Goes on past the chain frame in :attr:`chained`, with the next blob's dictionary."""
        if self.chained is None:
            raise RuntimeError("no chain frame to go past")
        self.chained = None
        self._use(dictionary)

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held; what a cut right now would lose."""
        return len(self._buf)

    def pending(self) -> bytes:
        """The bytes of a blob frame begun but not complete, its header read and checked: what
        the hub keeps at a cut (:mod:`gateway.protocol.frame_resume`). Empty after a failure, at
        a chain frame, or before a whole header."""
        if self._failed is not None or self.chained is not None or \
                len(self._buf) < FRAME_HEADER.size or self._buf[0] in (KIND_CHAIN, KIND_CHAIN_REFS):
            return b""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads of every frame completed by ``data``, in order."""
        if self._failed is not None:
            raise FrameError(f"stream already failed: {self._failed}")
        if self.chained is not None:
            raise RuntimeError("switch() past the chain frame before feeding more")
        self._buf += data
        done: list[bytes] = []
        pos = 0
        try:
            while len(self._buf) - pos >= FRAME_HEADER.size:
                kind, wire_len, raw_len, crc = FRAME_HEADER.unpack_from(self._buf, pos)
                self._check_header(kind, wire_len, raw_len)
                end = pos + FRAME_HEADER.size + wire_len
                if len(self._buf) < end:
                    break
                payload = bytes(self._buf[pos + FRAME_HEADER.size : end])
                if kind in (KIND_CHAIN, KIND_CHAIN_REFS):
                    if zlib.crc32(payload) != crc:
                        raise FrameError(f"frame {self.frames}: CRC mismatch")
                    self.chained = ChainTo.parse(kind, payload)
                    self.frames += 1
                    pos = end
                    break
                done.append(self._verify(kind, payload, raw_len, crc))
                self.frames += 1
                pos = end
        except FrameError as exc:
            self._failed = str(exc)
            self._buf.clear()
            raise FrameError(str(exc), tuple(done)) from None
        del self._buf[:pos]
        return done

    def _check_header(self, kind: int, wire_len: int, raw_len: int) -> None:
        if kind == KIND_CHAIN and self._chain:
            if wire_len != CHAIN.size or raw_len:
                raise FrameError(f"frame {self.frames}: chain frame of the wrong size")
            return
        if kind == KIND_CHAIN_REFS and self._chain:
            refs, extra = divmod(wire_len - CHAIN_REFS.size, CHAIN_REF.size)
            if extra or not 2 <= refs <= MAX_XDOC_REFS or raw_len:
                raise FrameError(f"frame {self.frames}: chain frame of the wrong size")
            return
        if kind not in (KIND_RAW, KIND_ZSTD, KIND_ZSTD_DICT, *(_RECODED if self._recode else ())):
            raise FrameError(f"frame {self.frames}: unknown kind {kind}")
        if kind in (KIND_ZSTD_DICT, KIND_RECODED_DICT) and self._dict_dctx is None:
            raise FrameError(f"frame {self.frames}: dictionary frame without a dictionary")
        if raw_len > self._max_raw:
            raise FrameError(f"frame {self.frames}: raw length {raw_len} over {self._max_raw}")
        if wire_len > raw_len + MAX_FRAME_OVERHEAD or (kind == KIND_RAW and wire_len != raw_len):
            raise FrameError(f"frame {self.frames}: wire length {wire_len} not plausible")

    def _verify(self, kind: int, payload: bytes, raw_len: int, crc: int) -> bytes:
        if kind == KIND_RAW:
            raw = payload
        else:
            dctx = self._dict_dctx if kind in (KIND_ZSTD_DICT, KIND_RECODED_DICT) else self._dctx
            assert dctx is not None  # _check_header refused kind 2 without a dictionary
            if kind in _RECODED:
                raw = self._rebuild(dctx, payload, raw_len)
            else:
                raw = self._inflate(dctx, payload, raw_len)
        if zlib.crc32(raw) != crc:
            raise FrameError(f"frame {self.frames}: CRC mismatch")
        return raw

    def _rebuild(self, dctx: zstandard.ZstdDecompressor, payload: bytes, raw_len: int) -> bytes:
        """A recoded frame's bytes: its recipe (bounded by the frame's size), followed."""
        try:
            declared = zstandard.frame_content_size(payload) if payload.startswith(
                _ZSTD_MAGIC) else -1
        except zstandard.ZstdError:
            declared = -1
        if not 0 < declared <= max_recipe(raw_len):
            raise FrameError(f"frame {self.frames}: recipe size not plausible")
        try:
            return rebuild(self._inflate(dctx, payload, declared), raw_len)
        except RecipeError as exc:
            raise FrameError(f"frame {self.frames}: {exc}") from None

    def _inflate(self, dctx: zstandard.ZstdDecompressor, payload: bytes, size: int) -> bytes:
        """One zstd frame declaring exactly ``size`` bytes, decompressed into no more."""
        if not payload.startswith(_ZSTD_MAGIC):
            raise FrameError(f"frame {self.frames}: compressed payload is not zstd")
        try:
            if zstandard.frame_content_size(payload) != size:
                # -1 (absent) included: never decompress unbounded
                raise FrameError(f"frame {self.frames}: zstd content size is not raw_len")
            raw = dctx.decompress(payload, max_output_size=size, allow_extra_data=False)
        except zstandard.ZstdError:
            raise FrameError(f"frame {self.frames}: corrupt compressed payload") from None
        if len(raw) != size:
            raise FrameError(f"frame {self.frames}: decompressed size mismatch")
        return raw
