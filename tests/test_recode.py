"""Recoded frames (docs/protocol.md §7, kinds 4 and 5): a PDF's deflated streams travel
inflated and the receiver deflates them again, byte for byte, or refuses the frame."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import pdf_streams, recipe
from gateway.protocol.frames import (
    FRAME_HEADER,
    KIND_RECODED,
    KIND_RECODED_DICT,
    FrameDecoder,
    FrameEncoder,
    FrameError,
)
from gateway.protocol.limits import MAX_RECODE_STREAMS
from gateway.protocol.pdf_streams import Segment
from gateway.protocol.recipe import RecipeError
from tests.pdf_like import office_pdf, stream


def _frames(data: bytes, wants: list[int], dictionary: bytes | None = None) -> list[bytes]:
    """The frames a box sends of ``data``, each about the next of ``wants`` long."""
    segments, encoder, out, at, i = pdf_streams.segments(data), FrameEncoder(
        dictionary=dictionary), [], 0, 0
    while at < len(data):
        want = min(wants[i % len(wants)], len(data) - at)
        end = recipe.frame_end(segments, at, want, len(data))
        raw = data[at:end]
        out.append(encoder.encode(raw, recipe.build(raw, at, segments)))
        at, i = end, i + 1
    return out


def _decoded(frames: list[bytes], dictionary: bytes | None = None) -> bytes:
    decoder = FrameDecoder(recode=True, dictionary=dictionary)
    return b"".join(b"".join(decoder.feed(f)) for f in frames)


def test_streams_zlib_rebuilds_are_found_and_others_are_left() -> None:
    text = b"BT /F1 12 Tf (Quyet dinh) Tj ET " * 200
    odd = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_HUFFMAN_ONLY)  # no level makes it
    odd_stream = odd.compress(text) + odd.flush()
    data = (b"%PDF-1.7\n" + stream(text, 6) + stream(text, 9) + stream(text, 1)
            + b"<< >>\nstream\n" + odd_stream + b"\nendstream\n"
            + b"<< >>\nstream\n" + zlib.compress(text)[:-9] + b"\nendstream\n"  # cut short
            + b"<< /Filter /DCTDecode >>\nstream\n\xff\xd8\xff\xe0" + bytes(500))
    found = pdf_streams.segments(data)
    assert [s.level for s in found] == [6, 9, 1]
    for seg in found:
        assert zlib.compress(zlib.decompress(data[seg.start:seg.end]), seg.level) \
            == data[seg.start:seg.end]
    # The dictionary form inflates every stream that ends, reproducible or not.
    assert pdf_streams.expanded(data, 10**6).count(text) == 4
    assert pdf_streams.expanded(data, 1000) == pdf_streams.expanded(data, 10**6)[:1000]


def test_a_second_office_document_goes_as_a_fraction_against_the_first() -> None:
    first, second = office_pdf(1), office_pdf(2)
    plain = sum(len(f) for f in _plain_frames(second, first))
    dictionary = pdf_streams.expanded(first, 2**20)
    frames = _frames(second, [32 * 1024], dictionary)
    assert _decoded(frames, dictionary) == second
    assert sum(len(f) for f in frames) < 0.4 * plain
    assert {f[0] for f in frames} <= {KIND_RECODED_DICT, 2}


def test_a_file_of_broken_streams_costs_bounded_work() -> None:
    """Every try counts, failed or not: past MAX_RECODE_STREAMS tries nothing more is looked
    at, and a stream whose dictionary declares it too long is not inflated at all."""
    good = stream(b"BT (Giay moi) Tj ET " * 50)
    broken = b"<< >>\nstream\n\x78\x9c\xff\xff\xff\xff\nendstream\n"
    assert pdf_streams.segments(broken * 10 + good)
    assert not pdf_streams.segments(broken * MAX_RECODE_STREAMS + good)
    huge = re.sub(rb"/Length \d+", b"/Length 99999999", good)
    assert b"/Length 99999999" in huge and not pdf_streams.segments(huge)
    indirect = b"<< /Length 99999999 0 R >>\n" + good
    assert pdf_streams.segments(indirect)


def _plain_frames(data: bytes, dictionary: bytes) -> list[bytes]:
    encoder = FrameEncoder(dictionary=dictionary)
    return [encoder.encode(data[at:at + 32 * 1024]) for at in range(0, len(data), 32 * 1024)]


_PARTS = st.one_of(
    st.binary(max_size=300).map(lambda b: ("raw", b, 0)),
    st.tuples(st.just("zlib"), st.binary(max_size=3000).map(lambda b: b * 3),
              st.sampled_from([1, 6, 9])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PARTS, max_size=12), st.lists(st.integers(1, 5000), min_size=1, max_size=4),
       st.booleans())
def test_any_file_framed_any_way_comes_back_byte_for_byte(
        parts: list[tuple[str, bytes, int]], wants: list[int], against: bool) -> None:
    data = b"".join(p if kind == "raw" else stream(p, level) for kind, p, level in parts)
    dictionary = pdf_streams.expanded(data, 2**20) + b"x" * 4096 if against else None
    frames = _frames(data, wants, dictionary)
    assert _decoded(frames, dictionary) == data


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 400)), max_size=8),
       st.integers(0, 3000), st.integers(1, 900))
def test_a_frame_never_cuts_a_stream_that_fits(gaps: list[tuple[int, int]], at: int,
                                                want: int) -> None:
    segments, pos = [], 0
    for gap, length in gaps:
        segments.append(Segment(pos + gap, pos + gap + length, 6))
        pos += gap + length
    size = pos + 100
    if at >= size:
        return
    want = min(want, size - at)
    end = recipe.frame_end(segments, at, want, size)
    assert at < end <= size and end - at <= recipe.STRETCH * want
    for seg in segments:
        if seg.start >= at and seg.end - seg.start <= recipe.STRETCH * want:
            assert not seg.start < end < seg.end


def _recipe(*records: bytes) -> bytes:
    return b"".join(records)


def _deflated(content: bytes, level: int = 6, declared: int | None = None) -> bytes:
    size = len(zlib.compress(content, level)) if declared is None else declared
    return struct.pack(">BBII", 1, level, size, len(content)) + content


@pytest.mark.parametrize(("bad", "raw_len", "why"), [
    (_recipe(b"\x00\x00\x00\x00\x05abc"), 5, "inside a record"),
    (_recipe(b"\x00\x00\x00"), 3, "record header"),
    (_recipe(b"\x07"), 1, "unknown record"),
    (_recipe(_deflated(b"a" * 100, level=0)), 11, "level"),
    (_recipe(_deflated(b"a" * 100, declared=5)), 5, "declared length"),
    (_recipe(_deflated(b"a" * 100)), 5, "longer than its frame"),
    (_recipe(b"\x00\x00\x00\x00\x02ab"), 3, "shorter"),
    (b"\x00" * (20 * 5 + recipe.max_recipe(5)), 5, "too long"),
])
def test_a_recipe_that_cannot_be_followed_is_refused(bad: bytes, raw_len: int, why: str) -> None:
    with pytest.raises(RecipeError, match=why):
        recipe.rebuild(bad, raw_len)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 1000))
def test_hostile_recipes_end_in_a_clear_error(blob: bytes, raw_len: int) -> None:
    try:
        out = recipe.rebuild(blob, raw_len)
    except RecipeError:
        return
    assert len(out) == raw_len


def test_the_hub_takes_recoded_frames_only_when_the_request_said_so() -> None:
    dictionary = pdf_streams.expanded(office_pdf(1), 2**20)
    frames = _frames(office_pdf(3), [64 * 1024], dictionary)
    assert frames[0][0] == KIND_RECODED_DICT
    with pytest.raises(FrameError, match="unknown kind 5"):
        FrameDecoder(dictionary=dictionary).feed(frames[0])


def test_against_other_content_a_recoded_frame_fails_its_crc() -> None:
    first, second = office_pdf(1), office_pdf(2)
    frames = _frames(second, [64 * 1024], pdf_streams.expanded(first, 2**20))
    with pytest.raises(FrameError):
        _decoded(frames, first)  # the raw form: what a hub without the same rules holds


def test_a_small_frame_cannot_make_the_hub_deflate_megabytes() -> None:
    bomb = _deflated(bytes(4 * 2**20))  # 4 MiB of zeros deflate to ~4 KiB
    raw_len = len(zlib.compress(bytes(4 * 2**20)))
    payload = FrameEncoder(level=3).encode(b"x" * raw_len, bomb)[FRAME_HEADER.size:]
    frame = FRAME_HEADER.pack(KIND_RECODED, len(payload), raw_len, 0) + payload
    with pytest.raises(FrameError, match="recipe size not plausible"):
        FrameDecoder(recode=True).feed(frame)
