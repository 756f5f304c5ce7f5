"""The parts of going on with an interrupted frame that need no network
(docs/protocol.md §4): the headers, the hub's pieces, the box's sent frames, and the decoder's
view of the frame in flight."""

from __future__ import annotations

import hashlib
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hub.held_frames import MIN_PIECE, PER_AGENCY, HeldFrames
from gateway.protocol.crossdoc import Candidate, Reference
from gateway.protocol.frame_resume import (
    MAX_LISTED,
    MAX_PIECE,
    PREFIX,
    HeldPiece,
    held_list,
    parse_held_list,
)
from gateway.protocol.frames import FRAME_HEADER, ChainTo, FrameDecoder, FrameEncoder
from gateway.protocol.limits import MAX_XDOC_DICT
from gateway.store import references
from gateway.sync.sent_frames import SentFrame, SentFrames
from tests.pdf_like import office_pdf

SHA = [f"{i:02x}" * 32 for i in range(12)]
CTX = (None, True)
pieces = st.builds(HeldPiece, st.integers(0, 10**15 - 1), st.integers(1, MAX_PIECE - 1),
                   st.integers(0, 2**32 - 1))


@given(pieces)
def test_a_piece_header_reads_back(piece: HeldPiece) -> None:
    assert HeldPiece.parse(piece.offset, piece.header()) == piece


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_any_other_header_is_a_value_error_never_a_crash(value: str) -> None:
    try:
        piece = HeldPiece.parse(0, value)
    except ValueError:
        return
    assert piece.header() == value and 0 < piece.length < MAX_PIECE


@given(st.dictionaries(st.sampled_from(SHA), pieces, max_size=MAX_LISTED))
def test_a_held_list_reads_back_against_the_needs(held: dict[str, HeldPiece]) -> None:
    assert parse_held_list(held_list(held), SHA) == held


@given(st.text(max_size=600))
@settings(max_examples=300)
def test_any_held_list_is_read_or_left_out_never_a_crash(value: str) -> None:
    got = parse_held_list(value, SHA)
    assert set(got) <= set(SHA) and len(got) <= MAX_LISTED


def test_a_held_list_leaves_out_what_it_cannot_name_alone() -> None:
    twin = SHA[1][:PREFIX] + "f" * (64 - PREFIX)  # same prefix as SHA[1]
    piece = HeldPiece(32768, 9000, 0xDEADBEEF)
    value = held_list({SHA[0]: piece, SHA[1]: piece, "ab" * 32: piece})
    got = parse_held_list(value, [SHA[0], SHA[1], twin])
    assert got == {SHA[0]: piece}  # SHA[1] is ambiguous, "abab…" is no need of ours
    assert parse_held_list("x" * (MAX_LISTED * 64 + 1), SHA) == {}
    many = held_list(dict.fromkeys(SHA, piece))
    assert len(many.split(",")) == MAX_LISTED


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _piece(n: int = 4000) -> bytes:
    return os.urandom(n)


def test_the_hub_gives_a_piece_once_to_the_same_context_and_crc() -> None:
    held = HeldFrames()
    data = _piece()
    assert held.keep("A", SHA[0], 65536, data, CTX)
    assert held.peek("A", SHA[0], 65536) == HeldPiece(65536, 4000, zlib.crc32(data))
    assert held.peek("A", SHA[0], 0) is None and held.peek("B", SHA[0], 65536) is None
    want = HeldPiece(65536, 3000, zlib.crc32(data[:3000]))
    assert held.take("A", SHA[0], want, CTX) == data[:3000]
    assert held.take("A", SHA[0], want, CTX) is None  # taken
    assert (held.resumed, held.resumed_bytes, held.held_bytes) == (1, 3000, 0)


@pytest.mark.parametrize("wrong", ["crc", "offset", "context", "length", "agency"])
def test_a_wrong_take_gets_nothing_and_drops_the_piece(wrong: str) -> None:
    held = HeldFrames()
    data = _piece()
    held.keep("A", SHA[0], 65536, data, CTX)
    want = {"crc": HeldPiece(65536, 4000, zlib.crc32(data) ^ 1),
            "offset": HeldPiece(0, 4000, zlib.crc32(data)),
            "context": HeldPiece(65536, 4000, zlib.crc32(data)),
            "length": HeldPiece(65536, 4001, zlib.crc32(data)),
            "agency": HeldPiece(65536, 4000, zlib.crc32(data))}[wrong]
    ctx = (f"{SHA[1]}:4096", True) if wrong == "context" else CTX
    agency = "B" if wrong == "agency" else "A"
    assert held.take(agency, SHA[0], want, ctx) is None
    assert held.held_bytes == (4000 if wrong == "agency" else 0)


def test_the_hub_keeps_pieces_briefly_few_per_box_and_within_its_budget() -> None:
    clock = Clock()
    held = HeldFrames(budget=20_000, ttl_s=60, clock=clock)
    assert not held.keep("A", SHA[0], 0, _piece(MIN_PIECE - 1), CTX)  # not worth a header
    for i in range(PER_AGENCY + 1):
        assert held.keep("A", SHA[i], 0, _piece(1000), CTX)
    assert held.peek("A", SHA[0], 0) is None  # the box's oldest gave way
    assert held.peek("A", SHA[PER_AGENCY], 0) is not None
    assert held.keep("B", SHA[0], 0, _piece(15_000), CTX)  # others' pieces give way
    assert held.held_bytes <= 20_000 and held.peek("B", SHA[0], 0) is not None
    assert not held.keep("B", SHA[1], 0, _piece(20_000), CTX)  # more than the whole budget
    clock.now = 61
    assert held.peek("B", SHA[0], 0) is None and held.held_bytes == 0


def test_a_new_piece_of_a_blob_replaces_the_old() -> None:
    held = HeldFrames()
    held.keep("A", SHA[0], 0, _piece(), CTX)
    second = _piece(2000)
    held.keep("A", SHA[0], 32768, second, CTX)
    assert held.peek("A", SHA[0], 0) is None and held.held_bytes == 2000
    held.drop("A", SHA[0])
    assert held.held_bytes == 0


def _sent(n: int = 10_000) -> SentFrame:
    return SentFrame(n - 13, os.urandom(n), CTX)


def test_the_box_goes_on_only_from_the_very_frame_of_the_piece() -> None:
    recent = SentFrames()
    sent = _sent()
    recent.remember(SHA[0], 65536, sent)
    good = HeldPiece(65536, 4000, zlib.crc32(sent.frame[:4000]))
    assert recent.resumable(SHA[0], good) is sent and sent.context == CTX
    assert recent.resumable(SHA[0], HeldPiece(65536, 4000, good.crc ^ 1)) is None
    assert recent.resumable(SHA[0], HeldPiece(0, 4000, good.crc)) is None
    whole = HeldPiece(65536, len(sent.frame), zlib.crc32(sent.frame))
    assert recent.resumable(SHA[0], whole) is None  # nothing left to send
    assert recent.resumable(SHA[1], good) is None
    recent.forget(SHA[0])
    assert recent.resumable(SHA[0], good) is None and recent.held_bytes == 0


def _found(recent: SentFrames, sha: str, offset: int, sent: SentFrame) -> bool:
    piece = HeldPiece(offset, 100, zlib.crc32(sent.frame[:100]))
    return recent.resumable(sha, piece) is sent


def test_the_box_keeps_few_frames_of_few_blobs_within_its_budget() -> None:
    recent = SentFrames(per_blob=2, blobs=2, budget=35_000)
    frames = [_sent() for _ in range(3)]
    for offset, sent in enumerate(frames):
        recent.remember(SHA[0], offset, sent)
    assert not _found(recent, SHA[0], 0, frames[0])  # the blob's oldest gave way
    assert _found(recent, SHA[0], 2, frames[2]) and recent.held_bytes == 20_000
    other = _sent()
    recent.remember(SHA[1], 0, other)
    assert recent.held_bytes <= 35_000 and _found(recent, SHA[1], 0, other)
    again = _sent()
    recent.remember(SHA[2], 0, _sent())
    recent.remember(SHA[2], 0, again)  # the same offset again: replaced, not doubled
    assert _found(recent, SHA[2], 0, again) and recent.held_bytes <= 35_000
    assert not _found(recent, SHA[0], 2, frames[2])  # two blobs at most: the oldest went


def test_the_decoder_shows_the_frame_in_flight_and_goes_on_with_it() -> None:
    raw = os.urandom(20_000)
    frame = FrameEncoder().encode(raw)
    decoder = FrameDecoder()
    assert decoder.feed(frame[:FRAME_HEADER.size - 1]) == [] and decoder.pending() == b""
    assert decoder.feed(frame[FRAME_HEADER.size - 1:9000]) == []
    assert decoder.pending() == frame[:9000]
    fresh = FrameDecoder()
    assert fresh.feed(decoder.pending()) == []
    assert fresh.feed(frame[9000:]) == [raw]


def test_a_chain_frame_or_a_failed_stream_has_nothing_in_flight() -> None:
    chain = ChainTo(SHA[0], 0, 100).frame()
    decoder = FrameDecoder(chain=True)
    decoder.feed(chain[:20])
    assert decoder.buffered == 20 and decoder.pending() == b""
    failed = FrameDecoder()
    with pytest.raises(Exception, match="unknown kind"):
        failed.feed(b"\x09" + bytes(20))
    assert failed.pending() == b""


def test_the_frames_of_a_cut_request_give_way_last() -> None:
    recent = SentFrames(per_blob=4, blobs=3, budget=10**6)
    cut = _sent()
    recent.remember(SHA[0], 0, cut)
    recent.pin([SHA[0], SHA[9]])  # SHA[9]: nothing of it kept, nothing pinned
    for sha in SHA[1:6]:  # the uploader goes on with other blobs while the cut one waits
        recent.remember(sha, 0, _sent())
    assert _found(recent, SHA[0], 0, cut)
    recent.forget(SHA[0])
    recent.remember(SHA[7], 0, _sent())
    assert not _found(recent, SHA[0], 0, cut) and recent.held_bytes == 3 * 10_000


@pytest.mark.parametrize("expand", [False, True])
def test_a_dictionary_rebuilt_from_its_references_is_the_one_the_frame_was_made_against(
        expand: bool) -> None:
    """A request going on with a cut frame names that frame's dictionary again, built from the
    references alone, as the hub builds it; a blob gone since means no resuming."""
    blobs = {hashlib.sha256(b).hexdigest(): b for b in (office_pdf(7), office_pdf(8),
                                                         os.urandom(300_000))}
    chosen = [Candidate(sha, len(b), "application/pdf", i) for i, (sha, b) in
              enumerate(blobs.items())]

    def read(sha: str, n: int) -> bytes:
        return blobs[sha][:n]

    refs, joined = references.dictionary(read, chosen, MAX_XDOC_DICT, expand)
    assert len(refs) == 3 and joined
    assert references.content(read, lambda sha: len(blobs[sha]), refs, expand) == joined

    def gone(sha: str, n: int) -> bytes:
        raise FileNotFoundError(sha)

    assert references.content(gone, lambda sha: len(blobs[sha]), refs, expand) is None
    longer = (Reference(refs[0].sha256, refs[0].length + 1),)
    assert references.content(read, lambda sha: len(blobs[sha]), longer, expand) is None


def test_the_blob_being_sent_never_gives_way_to_pinned_ones() -> None:
    """Every other blob pinned: the frames of the one being sent stay, the oldest pinned go."""
    recent = SentFrames(per_blob=4, blobs=3, budget=10**6)
    for sha in SHA[:3]:
        recent.remember(sha, 0, _sent())
    recent.pin(SHA[:3])
    current = _sent()
    recent.remember(SHA[3], 0, current)
    assert _found(recent, SHA[3], 0, current) and recent.held_bytes == 3 * 10_000
    recent.keep_only([SHA[3]])  # the hub no longer needs the others
    assert recent.held_bytes == 10_000 and _found(recent, SHA[3], 0, current)
