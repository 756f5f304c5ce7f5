"""How a frame is cut into the pieces a request body hands to TLS (gateway/sync/body.py): every
piece costs a TLS record and a chunk header, and a more urgent upload may start between two."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.protocol.limits import MIN_FRAME
from gateway.sync.body import PIECE, _pieces


@given(st.integers(min_value=0, max_value=4 * 2**20))
def test_pieces_are_the_frame_in_order_and_about_a_piece_each(size: int) -> None:
    frame = bytes(range(256)) * (size // 256) + bytes(size % 256)
    pieces = _pieces(frame)
    assert b"".join(pieces) == frame
    assert all(0 < len(p) <= PIECE * 3 // 2 + 1 for p in pieces)
    if size >= 2 * PIECE:  # a bulk frame still leaves a step-aside point every piece or so
        assert all(len(p) >= PIECE // 2 for p in pieces)


def test_a_raw_frame_of_a_slow_link_goes_in_one_piece() -> None:
    """8 KiB of JPEG and the 13-byte header: one TLS record, not one and a 13-byte tail."""
    assert [len(p) for p in _pieces(bytes(MIN_FRAME + 13))] == [MIN_FRAME + 13]
    assert [len(p) for p in _pieces(bytes(2 * PIECE + 13))] == [PIECE + 7, PIECE + 6]
