"""Cross-document compression: a blob compressed against earlier blobs both ends hold.

Why: born-digital PDFs from one office repeat the same embedded fonts, logo and letterhead.
Each file alone barely compresses (its streams are already deflated), yet most of the second
file is bytes the hub already has. A zstd raw-content dictionary made of the starts of a few
earlier blobs of the same sender (in a recoded request, of their expanded form:
:mod:`gateway.protocol.pdf_streams`) lets the encoder point back into those bytes instead of
sending them again.

Only the names of the references travel (:class:`Reference`: a sha256 and how many of its
first bytes join the dictionary). The receiver uses it only for a blob it holds *verified*,
and builds the same dictionary from its own copy; a frame made against other content fails
its checksum. Decoding follows the hostile-input rules of
:func:`gateway.protocol.compression.inflate_frame` (declared size checked before allocating,
bounded window, nothing after the frame).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import zstandard

from gateway.protocol.compression import CompressionError, inflate_frame
from gateway.protocol.limits import (
    MAX_COMPRESSED_BODY,
    MAX_XDOC_DICT,
    MAX_XDOC_HEADER,
    MAX_XDOC_REFS,
    MIN_XDOC_REF,
    XDOC_LEVEL,
)

# Headers (docs/protocol.md §4): the hub's sync reply says how long a dictionary it accepts (an
# older hub says nothing, and is never sent dictionary frames); a PATCH names its dictionary;
# a 409 with DICT_REFUSED means "send again without one".
UPLOAD_DICT_MAX = "X-Upload-Dict"
UPLOAD_CHAIN = "X-Upload-Chain"  # "1": the hub takes chain frames, several blobs in one PATCH
UPLOAD_BLOB = "Upload-Blob"  # the blob a chained upload's answer is about, if not the path's
UPLOAD_DICT = "Upload-Dict"
UPLOAD_DICT_REFS = "X-Upload-Dict-Refs"  # how many references one Upload-Dict may name
DICT_REFUSED = "Upload-Dict-Refused"
# Recoded frames (§7): the hub's sync reply offers them with RECODE, this version of the rules
# of gateway.protocol.pdf_streams and the zlib that deflates again (another zlib may deflate
# differently); a PATCH that says ``Upload-Recode: RECODE`` may send them, and its
# dictionaries are the earlier blobs' expanded form.
UPLOAD_RECODE_OFFER = "X-Upload-Recode"
UPLOAD_RECODE = "Upload-Recode"
RECODE = f"1/zlib-{zlib.ZLIB_RUNTIME_VERSION}"

_REF = re.compile(r"([0-9a-f]{64}):([1-9][0-9]{0,7})")


@dataclass(frozen=True)
class Reference:
    """The dictionary: the first ``length`` bytes of the blob ``sha256``."""

    sha256: str
    length: int

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError("reference digest must be 64 lowercase hex digits")
        if not MIN_XDOC_REF <= self.length <= MAX_XDOC_DICT:
            raise ValueError(f"reference length must be within {MIN_XDOC_REF}…{MAX_XDOC_DICT}")

    def header(self) -> str:
        """The value that names this reference on the wire, ``<sha256>:<length>``."""
        return f"{self.sha256}:{self.length}"

    @classmethod
    def parse(cls, value: str) -> Reference:
        """A reference from its header value; anything else is a CompressionError."""
        match = _REF.fullmatch(value) if len(value) <= MAX_XDOC_HEADER else None
        if match is None:
            raise CompressionError("malformed dictionary reference")
        try:
            return cls(match.group(1), int(match.group(2)))
        except ValueError as exc:
            raise CompressionError(str(exc)) from None


def references_header(refs: Sequence[Reference]) -> str:
    """The ``Upload-Dict`` value naming ``refs``, in the order their contents are joined."""
    return ",".join(ref.header() for ref in refs)


def parse_references(value: str, most: int = MAX_XDOC_REFS) -> tuple[Reference, ...]:
    """The references an ``Upload-Dict`` value names: one to ``most``, each blob once, their
    lengths together at most MAX_XDOC_DICT; anything else is a CompressionError."""
    items = value.split(",", most)
    if len(items) > most:
        raise CompressionError(f"more than {most} dictionary references")
    refs = tuple(Reference.parse(item) for item in items)
    if len({ref.sha256 for ref in refs}) != len(refs):
        raise CompressionError("a dictionary reference named twice")
    if sum(ref.length for ref in refs) > MAX_XDOC_DICT:
        raise CompressionError(f"dictionary references longer than {MAX_XDOC_DICT} in all")
    return refs


@dataclass(frozen=True)
class Candidate:
    """An earlier blob of the same sender, as the sender knows it."""

    sha256: str
    size: int
    media_type: str
    verified_ms: int | None  # when the hub confirmed it holds the blob verified; None: not yet


def choose_references(candidates: Iterable[Candidate], media_type: str, exclude: str = "",
                      most: int = 1) -> list[Candidate]:
    """The ``most`` most recently hub-verified earlier blobs of the same media type that are
    big enough, newest first.

    Same media type because a PDF shares nothing with a spreadsheet; the most recent because
    an office's template drifts slowly (a new logo, a new signer) and the newest is nearest.
    Several, because one office sends several kinds of document (a decision, an invitation, a
    report), each nearest to the last of its own kind (bench.crossdoc, recoded frames: eight
    instead of one take the general corpus from 0.951 to 0.942 of its bytes).
    """
    usable = [c for c in candidates if c.verified_ms is not None and c.sha256 != exclude
              and c.media_type == media_type and c.size >= MIN_XDOC_REF]
    usable.sort(key=lambda c: (c.verified_ms or 0, c.sha256), reverse=True)
    return usable[:most]


class CrossDocCodec:
    """Compresses and decompresses blobs (or frames of them) against one reference.

    ``content`` must be the first ``reference.length`` bytes of the referenced blob, read
    from a copy the caller has verified against its digest.
    """

    def __init__(self, reference: Reference, content: bytes, *, level: int = XDOC_LEVEL) -> None:
        if len(content) != reference.length:
            raise ValueError("dictionary content does not have the reference's length")
        self.reference = reference
        self._dict = zstandard.ZstdCompressionDict(
            content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        self._dict.precompute_compress(level=level)
        self._level = level

    def compress(self, data: bytes) -> bytes:
        cctx = zstandard.ZstdCompressor(level=self._level, dict_data=self._dict,
                                        write_content_size=True, write_checksum=True,
                                        write_dict_id=False)
        return cctx.compress(data)

    def decompress(self, data: bytes, *, max_out: int,
                   max_in: int = MAX_COMPRESSED_BODY) -> bytes:
        """The content of the single zstd frame ``data``, never allocating more than max_out.

        Raw-content dictionaries carry no id, so a frame made against other content is
        caught by its checksum (a CompressionError), not by the frame header.
        """
        return inflate_frame(data, self._dict, 0, max_out=max_out, max_in=max_in)
