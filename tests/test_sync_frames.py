"""Blob frames (docs/protocol.md §7): golden bytes, cuts anywhere, corruption, limits, bombs."""

from __future__ import annotations

import itertools
import random
import time
import tracemalloc
import zlib

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import frames
from gateway.protocol.frames import (
    FRAME_HEADER,
    KIND_RAW,
    KIND_ZSTD,
    FrameDecoder,
    FrameEncoder,
    FrameError,
)
from gateway.protocol.limits import FRAME_SLOW_LEVEL, FRAME_ZSTD_LEVEL, SLOW_LINK_FRAME
from gateway.protocol.limits import MAX_FRAME_RAW as MAX_RAW

TEXT = ("Ủy ban nhân dân xã Bản Lang. " * 8).encode()
# Pinned encodings. The raw frame is fully specified by §7. The compressed one is what zstd
# 1.5 emits at level 3; a zstd upgrade may change the encoder's bytes (then re-pin after
# checking), but the decoder must accept these bytes forever.
GOLDEN_RAW = bytes.fromhex("00" "00000005" "00000005" "3610a686" "68656c6c6f")
GOLDEN_ZSTD = bytes.fromhex(
    "01" "00000035" "00000120" "2fc458d6"
    "28b52ffd6020005d01000402e1bba6792062616e206e68c3a26e206478c3a32042e1baa36e204c616e672e20"
    "0200f247d102ab2c01"
)
GOLDEN_EMPTY = bytes(13)


def noise(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def frame(kind: int, payload: bytes, raw: bytes, *, raw_len: int | None = None) -> bytes:
    size = len(raw) if raw_len is None else raw_len
    return FRAME_HEADER.pack(kind, len(payload), size, zlib.crc32(raw)) + payload


def test_golden_frames() -> None:
    enc = FrameEncoder(level=FRAME_ZSTD_LEVEL)  # the level is the sender's choice, not format
    assert enc.encode(b"hello") == GOLDEN_RAW
    assert enc.encode(TEXT) == GOLDEN_ZSTD
    assert enc.encode(b"") == GOLDEN_EMPTY
    assert FRAME_HEADER.size == 13
    assert FRAME_HEADER.unpack_from(GOLDEN_ZSTD) == (KIND_ZSTD, 53, 288, zlib.crc32(TEXT))
    dec = FrameDecoder()
    assert dec.feed(GOLDEN_RAW + GOLDEN_ZSTD + GOLDEN_EMPTY) == [b"hello", TEXT, b""]
    assert dec.frames == 3 and dec.buffered == 0


payloads = st.lists(
    st.one_of(
        st.binary(max_size=2000),
        st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=16),
                  st.integers(1, 300)),
    ),
    max_size=6,
)


def feed_in_pieces(dec: FrameDecoder, stream: bytes, cuts: list[int]) -> tuple[list[bytes], bool]:
    """Everything ``dec`` yields for ``stream`` split at ``cuts``, and whether it failed."""
    out: list[bytes] = []
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    for start, end in itertools.pairwise(bounds):
        try:
            out += dec.feed(stream[start:end])
        except FrameError as exc:
            return out + list(exc.complete), True
    return out, False


@settings(deadline=None)
@given(payloads, st.lists(st.integers(0, 2**20), max_size=12))
def test_split_anywhere_round_trip(items: list[bytes], cuts: list[int]) -> None:
    enc = FrameEncoder()
    stream = b"".join(enc.encode(p) for p in items)
    dec = FrameDecoder()
    out, failed = feed_in_pieces(dec, stream, cuts)
    assert not failed and out == items and dec.buffered == 0


@settings(deadline=None)
@given(payloads, st.lists(st.integers(0, 2**20), max_size=4))
def test_cut_loses_only_the_incomplete_frame(items: list[bytes], cuts: list[int]) -> None:
    frames = [FrameEncoder().encode(p) for p in items]
    stream = b"".join(frames)
    cut = cuts[0] % (len(stream) + 1) if cuts else len(stream)
    dec = FrameDecoder()
    out, failed = feed_in_pieces(dec, stream[:cut], cuts[1:])
    complete = 0
    while complete < len(frames) and sum(map(len, frames[: complete + 1])) <= cut:
        complete += 1
    assert not failed and out == items[:complete]
    assert dec.buffered == cut - sum(map(len, frames[:complete]))


@settings(deadline=None, max_examples=300)
@given(payloads.filter(bool), st.data())
def test_corruption_never_yields_wrong_data(items: list[bytes], data: st.DataObject) -> None:
    """Flip bits of one byte anywhere. CRC-32 catches every change of one byte of raw data and
    the header leaves no slack, so the frame holding the byte is lost (an error, or a length
    that now points past the end like a cut) — except inside a zstd payload, where zstd may
    ignore a bit (e.g. the frame header's unused bit) and decode the same bytes. Either way the
    decoder never returns a payload that differs from what was sent."""
    frames = [FrameEncoder().encode(p) for p in items]
    stream = bytearray(b"".join(frames))
    at = data.draw(st.integers(0, len(stream) - 1), label="at")
    stream[at] ^= data.draw(st.integers(1, 255), label="mask")
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=5), label="cuts")
    dec = FrameDecoder()
    out, failed = feed_in_pieces(dec, bytes(stream), cuts)
    assert out == items[: len(out)]
    index, start = 0, 0
    while start + len(frames[index]) <= at:
        start += len(frames[index])
        index += 1
    in_zstd_payload = frames[index][0] == KIND_ZSTD and at - start >= FRAME_HEADER.size
    if in_zstd_payload and out == items:
        return
    assert len(out) <= index
    assert failed or dec.buffered > 0


def test_every_frame_is_offered_to_zstd_however_the_blob_began() -> None:
    """Incompressible frames first do not make the encoder give up on the ones that gain."""
    enc = FrameEncoder()
    blob = [noise(4096, seed) for seed in range(3)] + [TEXT * 10, noise(4096, 4), TEXT]
    kinds = [enc.encode(piece)[0] for piece in blob]
    assert kinds == [KIND_RAW] * 3 + [KIND_ZSTD, KIND_RAW, KIND_ZSTD]
    assert enc.frames == 6 and enc.compressed == 2
    assert FrameDecoder().feed(b"".join(FrameEncoder().encode(p) for p in blob)) == blob


def test_a_frame_goes_compressed_whenever_that_is_smaller() -> None:
    raw = noise(1000) + bytes(40)
    packed = zstandard.ZstdCompressor(level=3).compress(raw)
    assert 0.95 * len(raw) <= len(packed) < len(raw)  # zstd gains a little: still worth it
    frame = FrameEncoder().encode(raw)
    assert frame[0] == KIND_ZSTD and len(frame) < FRAME_HEADER.size + len(raw)
    assert FrameDecoder().feed(frame) == [raw]


def test_a_slow_links_frames_get_the_slow_level_and_a_fast_ones_the_fast() -> None:
    words = random.Random(3).choices(TEXT.split(b" "), k=30_000)
    text = b" ".join(w + str(i % 97).encode() for i, w in enumerate(words))
    small, large = text[:SLOW_LINK_FRAME], text[:SLOW_LINK_FRAME + 1]
    assert FrameEncoder().encode(large) == FrameEncoder(level=FRAME_ZSTD_LEVEL).encode(large)
    slow = FrameEncoder().encode(small)
    assert slow == FrameEncoder(level=FRAME_SLOW_LEVEL).encode(small)
    assert len(slow) < len(FrameEncoder(level=FRAME_ZSTD_LEVEL).encode(small))
    for dictionary in (None, text[-4096:]):
        frames = [FrameEncoder(dictionary=dictionary).encode(p) for p in (small, large)]
        assert FrameDecoder(dictionary=dictionary).feed(b"".join(frames)) == [small, large]


def _reference_and_frame() -> tuple[bytes, bytes, bytes, bytes]:
    words = random.Random(4).choices(TEXT.split(b" "), k=20_000)
    text = b" ".join(w + str(i % 89).encode() for i, w in enumerate(words))
    reference, frame = text[:60_000], text[60_000:60_000 + 32_768]
    fast = FrameEncoder(level=FRAME_ZSTD_LEVEL, dictionary=reference).encode(frame)
    slow = FrameEncoder(level=FRAME_SLOW_LEVEL, dictionary=reference).encode(frame)
    assert fast != slow
    return reference, frame, fast, slow


def test_the_slow_levels_tables_fill_while_the_first_frames_go_fast(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a dictionary whose tables are not ready within FILL_WAIT_S (a 1 MiB one on a Pi),
    the link does not wait for them: the first frame goes at level 3, later ones at level 19
    once the tables are ready."""
    monkeypatch.setattr(frames, "FILL_WAIT_S", 0.0)
    reference, frame, fast, slow = _reference_and_frame()
    enc = FrameEncoder(dictionary=reference)
    first = enc.encode(frame)
    assert first in (fast, slow)  # slow only if the thread won the race with a zero wait
    deadline = time.monotonic() + 10
    while (out := enc.encode(frame)) != slow and time.monotonic() < deadline:
        assert out == fast
        time.sleep(0.01)
    assert out == slow
    assert FrameDecoder(dictionary=reference).feed(fast + slow) == [frame, frame]


def test_a_small_dictionarys_first_frame_waits_for_the_slow_level(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables of a small document's dictionary fill in a few ms: waiting for them sends
    every frame of a small blob at level 19, not its first ones at level 3."""
    monkeypatch.setattr(frames, "FILL_WAIT_S", 10.0)
    reference, frame, _, slow = _reference_and_frame()
    assert FrameEncoder(dictionary=reference).encode(frame) == slow


def test_encoder_refuses_oversized_payload() -> None:
    with pytest.raises(FrameError, match="over"):
        FrameEncoder().encode(bytes(MAX_RAW + 1))


@pytest.mark.parametrize(("header", "match"), [
    (FRAME_HEADER.pack(3, 5, 5, 0), "unknown kind 3"),
    (FRAME_HEADER.pack(2, 5, 5, 0), "dictionary frame without a dictionary"),
    (FRAME_HEADER.pack(255, 0, 0, 0), "unknown kind"),
    (FRAME_HEADER.pack(KIND_RAW, MAX_RAW + 1, MAX_RAW + 1, 0), "raw length"),
    (FRAME_HEADER.pack(KIND_ZSTD, 100, MAX_RAW + 1, 0), "raw length"),
    (FRAME_HEADER.pack(KIND_ZSTD, 100 + 1025, 100, 0), "wire length"),
    (FRAME_HEADER.pack(KIND_RAW, 99, 100, 0), "wire length"),
    (FRAME_HEADER.pack(KIND_RAW, 2**32 - 1, 100, 0), "wire length"),
])
def test_header_limits_fail_before_the_payload_arrives(header: bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        FrameDecoder().feed(header)


def test_decoder_max_raw() -> None:
    with pytest.raises(FrameError, match="raw length 1001 over 1000"):
        FrameDecoder(max_raw=1000).feed(FRAME_HEADER.pack(KIND_RAW, 1001, 1001, 0))
    assert FrameDecoder(max_raw=1000).feed(frame(KIND_RAW, bytes(1000), bytes(1000))) == [
        bytes(1000)
    ]
    with pytest.raises(ValueError):
        FrameDecoder(max_raw=MAX_RAW + 1)


def test_bad_payloads() -> None:
    packed = zstandard.ZstdCompressor(level=3).compress(TEXT)
    no_size = zstandard.ZstdCompressor(level=3, write_content_size=False).compressobj()
    unsized = no_size.compress(TEXT) + no_size.flush()
    cases = {
        "CRC mismatch": frame(KIND_RAW, b"hellO", b"hello"),
        "content size": frame(KIND_ZSTD, packed, TEXT + b"!"),
        "content size ": frame(KIND_ZSTD, unsized, TEXT),
        "corrupt": frame(KIND_ZSTD, packed + b"\x00", TEXT),
        "not zstd": frame(KIND_ZSTD, b"\x00" * 10, bytes(20)),
        "CRC mismatch ": frame(KIND_ZSTD, packed, TEXT.upper(), raw_len=len(TEXT)),
    }
    for match, data in cases.items():
        with pytest.raises(FrameError, match=match.strip()):
            FrameDecoder().feed(data)


def test_error_keeps_earlier_frames_and_ends_the_stream() -> None:
    dec = FrameDecoder()
    with pytest.raises(FrameError) as caught:
        dec.feed(GOLDEN_RAW + GOLDEN_ZSTD + frame(KIND_RAW, b"x", b"y"))
    assert caught.value.complete == (b"hello", TEXT)
    assert dec.buffered == 0
    with pytest.raises(FrameError, match="already failed"):
        dec.feed(GOLDEN_RAW)


def test_partial_frames_are_buffered() -> None:
    dec = FrameDecoder()
    assert dec.feed(GOLDEN_ZSTD[:5]) == [] and dec.buffered == 5
    assert dec.feed(GOLDEN_ZSTD[5:20]) == [] and dec.buffered == 20
    assert dec.feed(GOLDEN_ZSTD[20:] + GOLDEN_RAW[:1]) == [TEXT] and dec.buffered == 1
    assert dec.feed(GOLDEN_RAW[1:]) == [b"hello"] and dec.buffered == 0


def test_zstd_bomb_in_a_frame_is_refused_without_allocating() -> None:
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=True)
    obj = cctx.compressobj(size=100 * 2**20)
    zeros = bytes(2**20)
    bomb = b"".join([obj.compress(zeros) for _ in range(100)] + [obj.flush()])
    data = FRAME_HEADER.pack(KIND_ZSTD, len(bomb), MAX_RAW, 0) + bomb  # passes the header
    tracemalloc.start()
    try:
        with pytest.raises(FrameError, match="content size"):
            FrameDecoder().feed(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(data) + 2**16  # the buffered frame itself, nothing decompressed
