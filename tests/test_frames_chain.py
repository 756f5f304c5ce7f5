"""Chain frames (docs/protocol.md §4, §7 kind 3) in the frame codec: a stream of several blobs'
frames, each blob against its own dictionary, cut anywhere, decodes to the same payloads and
chain frames in the same order; a bad chain frame ends the stream like any bad frame."""

from __future__ import annotations

import hashlib
import itertools
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol.crossdoc import Reference
from gateway.protocol.frames import (
    CHAIN,
    CHAIN_REF,
    CHAIN_REFS,
    FRAME_HEADER,
    KIND_CHAIN,
    KIND_CHAIN_REFS,
    ChainTo,
    FrameDecoder,
    FrameEncoder,
    FrameError,
)
from gateway.protocol.limits import MAX_XDOC_DICT, MIN_XDOC_REF

# Two dictionaries a blob may be made against: a template and random bytes.
TEMPLATE = (b"UBND xa Ban Lang - Cong van so %d/UBND. " * 200)[:MIN_XDOC_REF * 2]
DICTIONARIES = {hashlib.sha256(d).hexdigest(): d
                for d in (TEMPLATE, random.Random(7).randbytes(MIN_XDOC_REF))}

Event = bytes | ChainTo  # a payload, or a chain frame

payload = st.one_of(
    st.binary(max_size=1500),
    st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=12), st.integers(1, 200)),
    st.builds(lambda start, n: TEMPLATE[start:start + n], st.integers(0, 4000),
              st.integers(0, 3000)),  # compresses best against the template
)
# No dictionary, one reference (chain frame kind 3) or several (kind 6), in any order.
references = st.lists(st.sampled_from(sorted(DICTIONARIES)), unique=True, max_size=2).flatmap(
    st.permutations).map(lambda shas: tuple(Reference(s, len(DICTIONARIES[s])) for s in shas))
chain_to = st.builds(
    lambda digest, offset, extra, refs: ChainTo(digest.hex(), offset, offset + extra, refs),
    st.binary(min_size=32, max_size=32), st.integers(0, 2**40), st.integers(0, 2**40),
    references)


def _content(refs: tuple[Reference, ...]) -> bytes | None:
    return b"".join(DICTIONARIES[ref.sha256] for ref in refs) or None


def encode(first: tuple[Reference, ...], events: list[Event]) -> bytes:
    """Each blob's frames made against its own dictionary, chain frames between them."""
    encoder = FrameEncoder(dictionary=_content(first))
    out = bytearray()
    for event in events:
        if isinstance(event, ChainTo):
            out += event.frame()
            encoder = FrameEncoder(dictionary=_content(event.references))
        else:
            out += encoder.encode(event)
    return bytes(out)


def decode(first: tuple[Reference, ...], stream: bytes, cuts: list[int]) -> list[Event]:
    """What a receiver sees of ``stream`` fed in pieces split at ``cuts``, switching to each
    chained blob's dictionary as the hub does."""
    decoder = FrameDecoder(dictionary=_content(first), chain=True)
    seen: list[Event] = []
    bounds = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    for start, end in itertools.pairwise(bounds):
        seen += decoder.feed(stream[start:end])
        while decoder.chained is not None:
            to = decoder.chained
            seen.append(to)
            decoder.switch(_content(to.references))
            seen += decoder.feed(b"")
    assert decoder.buffered == 0
    return seen


@settings(deadline=None, max_examples=150)
@given(references, st.lists(st.one_of(payload, chain_to), max_size=10),
       st.lists(st.integers(0, 2**20), max_size=12))
def test_frames_and_chain_frames_cut_anywhere_decode_in_order(
        first: tuple[Reference, ...], events: list[Event], cuts: list[int]) -> None:
    assert decode(first, encode(first, events), cuts) == events


@given(chain_to)
def test_a_chain_frame_round_trips_84_bytes_of_body_for_one_reference(to: ChainTo) -> None:
    frame = to.frame()
    kind, wire_len, raw_len, crc = FRAME_HEADER.unpack_from(frame)
    body = frame[FRAME_HEADER.size:]
    several = len(to.references) > 1
    assert (kind, wire_len, raw_len, crc) == (KIND_CHAIN_REFS if several else KIND_CHAIN,
                                              49 + 36 * len(to.references) if several else 84,
                                              0, zlib.crc32(body))
    assert CHAIN.size == 84 and ChainTo.parse(kind, body) == to


def _forged(body: bytes, *, crc: int | None = None, wire_len: int | None = None,
            raw_len: int = 0, kind: int = KIND_CHAIN) -> bytes:
    return FRAME_HEADER.pack(kind, len(body) if wire_len is None else wire_len, raw_len,
                             zlib.crc32(body) if crc is None else crc) + body


def _refs(count: int, *named: tuple[int, bytes]) -> bytes:
    return CHAIN_REFS.pack(bytes(32), 0, 100, count) + b"".join(
        CHAIN_REF.pack(length, digest) for length, digest in named)


TWO = ((MIN_XDOC_REF, b"\1" * 32), (MIN_XDOC_REF, b"\2" * 32))


NEXT = ChainTo("ab" * 32, 0, 100)
BODY = NEXT.frame()[FRAME_HEADER.size:]
BAD = {
    "crc": (_forged(BODY, crc=zlib.crc32(BODY) ^ 1), "CRC mismatch"),
    "raw-len": (_forged(BODY, raw_len=1), "chain frame of the wrong size"),
    "short": (_forged(BODY[:80], wire_len=80), "chain frame of the wrong size"),
    "offset-past-size": (_forged(CHAIN.pack(bytes(32), 101, 100, 0, bytes(32))),
                         "offset past the blob's size"),
    "digest-without-length": (_forged(CHAIN.pack(bytes(32), 0, 100, 0, b"\1" * 32)),
                              "digest without a length"),
    "tiny-dictionary": (_forged(CHAIN.pack(bytes(32), 0, 100, 1, b"\1" * 32)),
                        "reference length"),
    "one-of-several": (_forged(_refs(1, TWO[0]), kind=KIND_CHAIN_REFS),
                       "chain frame of the wrong size"),
    "nine-references": (_forged(_refs(9, *[(MIN_XDOC_REF, bytes([i]) * 32) for i in range(9)]),
                                kind=KIND_CHAIN_REFS), "chain frame of the wrong size"),
    "count-lies": (_forged(_refs(3, *TWO), kind=KIND_CHAIN_REFS),
                   "reference count differs"),
    "named-twice": (_forged(_refs(2, TWO[0], TWO[0]), kind=KIND_CHAIN_REFS), "named twice"),
    "over-a-mebibyte": (_forged(_refs(2, (MAX_XDOC_DICT, b"\1" * 32), TWO[1]),
                                kind=KIND_CHAIN_REFS), "longer than"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_chain_frame_ends_the_stream_keeping_the_frames_before(name: str) -> None:
    forged, reason = BAD[name]
    decoder = FrameDecoder(chain=True)
    before = FrameEncoder().encode(b"kept")
    with pytest.raises(FrameError, match=reason) as caught:
        decoder.feed(before + forged + FrameEncoder().encode(b"never"))
    assert caught.value.complete == (b"kept",) and decoder.chained is None
    with pytest.raises(FrameError, match="already failed"):
        decoder.feed(b"")


def test_a_bad_frame_after_a_chain_frame_keeps_the_next_blobs_frames_before_it() -> None:
    decoder = FrameDecoder(chain=True)
    enc = FrameEncoder()
    assert decoder.feed(enc.encode(b"a") + NEXT.frame() + enc.encode(b"b")
                        + _forged(BODY, crc=0)) == [b"a"]
    assert decoder.chained == NEXT
    decoder.switch(None)
    with pytest.raises(FrameError, match="CRC mismatch") as caught:
        decoder.feed(b"")
    assert caught.value.complete == (b"b",)


def test_without_chain_a_chain_frame_is_an_unknown_kind() -> None:
    with pytest.raises(FrameError, match="unknown kind 3"):
        FrameDecoder().feed(NEXT.frame())


def test_the_decoder_waits_for_switch_past_a_chain_frame() -> None:
    decoder = FrameDecoder(chain=True)
    with pytest.raises(RuntimeError):
        decoder.switch(None)
    decoder.feed(NEXT.frame())
    with pytest.raises(RuntimeError):
        decoder.feed(b"")
    decoder.switch(None)
    assert decoder.feed(b"") == [] and decoder.chained is None


def test_dictionary_frames_after_a_switch_to_none_end_the_stream() -> None:
    """Each blob has its own dictionary: one the blob before had does not carry over."""
    decoder = FrameDecoder(dictionary=TEMPLATE, chain=True)
    enc = FrameEncoder(dictionary=TEMPLATE)
    frame = enc.encode(TEMPLATE[:3000])
    assert decoder.feed(frame + NEXT.frame() + frame) == [TEMPLATE[:3000]]
    decoder.switch(None)
    with pytest.raises(FrameError, match="dictionary frame without a dictionary"):
        decoder.feed(b"")
