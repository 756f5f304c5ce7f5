"""Cross-document compression (gateway/protocol/crossdoc.py): round trips, the reference's
name on the wire, the choice of reference, and hostile frames refused within their limits."""

from __future__ import annotations

import contextlib
import hashlib
import random

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from gateway.protocol.compression import BodyTooLarge, CompressionError, inflate_frame
from gateway.protocol.crossdoc import (
    Candidate,
    CrossDocCodec,
    Reference,
    choose_references,
    parse_references,
    references_header,
)
from gateway.protocol.limits import MAX_XDOC_DICT, MAX_ZSTD_WINDOW, MIN_XDOC_REF

# Like a deflated font stream: bytes that do not compress on their own.
TEMPLATE = b"%PDF-1.7 /FontFile2 CommuneSerif " + random.Random(1).randbytes(10_000)
SHA = hashlib.sha256(TEMPLATE).hexdigest()
# A reference is at least MIN_XDOC_REF bytes: a short random seed repeated (and cut) to a
# random length above that, so that Hypothesis keeps its examples small.
contents = st.builds(lambda seed, extra: (seed * (MIN_XDOC_REF // len(seed) + 8))[
    :MIN_XDOC_REF + extra], st.binary(min_size=1, max_size=256),
    st.integers(min_value=0, max_value=2048))


def codec(content: bytes = TEMPLATE, level: int = 3) -> CrossDocCodec:
    return CrossDocCodec(Reference(hashlib.sha256(content).hexdigest(), len(content)),
                         content, level=level)


@given(content=contents, data=st.binary(min_size=1, max_size=20_000),
       level=st.sampled_from([1, 3, 9]))
def test_round_trip(content: bytes, data: bytes, level: int) -> None:
    c = codec(content, level)
    assert c.decompress(c.compress(data), max_out=len(data)) == data


def test_a_document_like_its_reference_costs_a_fraction() -> None:
    c = codec()
    doc = TEMPLATE[:6000] + b"So 12/UBND-VP ngay 02 thang 12" + TEMPLATE[6000:]
    alone = zstandard.ZstdCompressor(level=3).compress(doc)
    assert len(c.compress(doc)) * 10 < len(alone)


@given(junk=st.binary(max_size=4096))
def test_hostile_bytes_are_refused_or_bounded(junk: bytes) -> None:
    try:
        out = codec().decompress(junk, max_out=1000)
    except CompressionError:
        return
    assert len(out) <= 1000


@given(data=st.binary(min_size=1, max_size=4000), cut=st.integers(min_value=0, max_value=200),
       flip=st.integers(min_value=0, max_value=255))
def test_truncated_or_flipped_frames_never_pass_as_other_bytes(data: bytes, cut: int,
                                                                flip: int) -> None:
    c = codec()
    frame = bytearray(c.compress(data))
    pos = cut % len(frame)
    frame[pos] ^= flip or 1
    for bad in (bytes(frame), bytes(frame[:pos])):
        with contextlib.suppress(CompressionError):  # refused, or (a flip zstd never reads)
            assert c.decompress(bad, max_out=len(data)) == data  # exactly the original


def test_a_bomb_is_refused_before_allocating() -> None:
    c = codec()
    bomb = c.compress(bytes(50_000_000))
    with pytest.raises(BodyTooLarge):
        c.decompress(bomb, max_out=1_000_000)
    with pytest.raises(BodyTooLarge):
        c.decompress(b"\x28\xb5\x2f\xfd" + bytes(200), max_out=10, max_in=100)


def test_a_frame_declaring_nothing_is_refused() -> None:
    # zstandard answers b"" for a frame declaring size 0 without decoding it: a damaged
    # size byte would turn any frame into an empty, unchecked one (found by the property above).
    frame = bytearray(codec().compress(bytes(5)))
    frame[5] = 0  # single-segment frame: this byte is the content size
    with pytest.raises(CompressionError, match="empty"):
        codec().decompress(bytes(frame), max_out=100)
    with pytest.raises(CompressionError, match="empty"):
        codec().decompress(codec().compress(b""), max_out=100)


def test_frames_without_size_or_with_a_huge_window_are_refused() -> None:
    streamed = zstandard.ZstdCompressor(write_content_size=False).compress(b"abc" * 100)
    with pytest.raises(CompressionError, match="content size"):
        codec().decompress(streamed, max_out=10_000)
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=26)
    wide = zstandard.ZstdCompressor(compression_params=params).compress(bytes(2**24) + b"x")
    with pytest.raises(CompressionError, match="window"):
        inflate_frame(wide, None, 0, max_out=2**25, max_in=2**24)
    assert MAX_ZSTD_WINDOW < 2**26


def test_a_frame_made_against_other_content_fails_its_checksum() -> None:
    data = TEMPLATE[100:5000] + b"tail"
    other = codec(bytes(reversed(TEMPLATE)))
    with pytest.raises(CompressionError):
        other.decompress(codec().compress(data), max_out=len(data))
    with pytest.raises(CompressionError):  # and a frame made with no dictionary at all
        codec().decompress(other.compress(data) + b"extra", max_out=len(data))


def test_reference_names_round_trip_and_hostile_names_are_refused() -> None:
    ref = Reference(SHA, len(TEMPLATE))
    assert Reference.parse(ref.header()) == ref
    for bad in ("", SHA, f"{SHA}:0", f"{SHA}:{MAX_XDOC_DICT + 1}", f"{SHA.upper()}:5000",
                f"{SHA}:5000:1", f"{SHA}:{MIN_XDOC_REF - 1}", "x" * 10_000, f" {SHA}:5000"):
        with pytest.raises(CompressionError):
            Reference.parse(bad)
    with pytest.raises(ValueError):
        CrossDocCodec(ref, TEMPLATE[:-1])


@given(st.text(max_size=200))
def test_parse_never_raises_anything_else(value: str) -> None:
    with contextlib.suppress(CompressionError):
        assert Reference.parse(value).header() == value  # accepted only in its one spelling


def _cand(n: int, size: int = 50_000, media: str = "application/pdf",
          verified: int | None = 1) -> Candidate:
    return Candidate(f"{n:064x}", size, media, verified)


def test_choose_references_takes_the_newest_verified_blobs_of_the_same_type() -> None:
    pdf = "application/pdf"
    offered = [_cand(1, verified=10), _cand(2, verified=30), _cand(3, verified=None),
               _cand(4, media="image/jpeg", verified=50),
               _cand(5, size=MIN_XDOC_REF - 1, verified=60), _cand(6, verified=20)]
    assert choose_references(offered, pdf) == [_cand(2, verified=30)]
    assert choose_references(offered, pdf, most=8) == [
        _cand(2, verified=30), _cand(6, verified=20), _cand(1, verified=10)]
    assert choose_references([_cand(2, verified=30)], pdf, exclude=f"{2:064x}") == []
    assert choose_references([], pdf) == []


def test_a_reference_list_names_each_blob_once_within_a_mebibyte() -> None:
    one, two = Reference(f"{1:064x}", MIN_XDOC_REF), Reference(f"{2:064x}", 50_000)
    assert parse_references(references_header([one, two])) == (one, two)
    for bad in (references_header([one, one]), references_header([one] * 9),
                references_header([Reference(f"{1:064x}", MAX_XDOC_DICT), two]), f"{one.header()},",
                ",", ""):
        with pytest.raises(CompressionError):
            parse_references(bad)
