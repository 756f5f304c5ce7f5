"""The uploader's side of resuming an interrupted frame (docs/protocol.md §4), against the
in-memory hub: a hub that no longer holds the piece it named (it restarted, or the piece
expired) answers 409, and the box sends that frame whole, once, and completes the blob. The
honest path is tested against the real hub (tests/test_frame_resume_e2e.py)."""

from __future__ import annotations

import zlib
from pathlib import Path

from gateway.protocol.frame_resume import HeldPiece
from gateway.protocol.frames import FrameEncoder
from gateway.sync.sent_frames import SentFrame
from tests.engine_box import advancing, open_box

SIZE = 100_000


async def test_a_piece_the_hub_no_longer_holds_costs_one_refusal_then_the_frame_goes_whole(
        tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    box.hub.upload_resume = True
    doc, sha = await box.send(SIZE)
    raw = box.store.blobs.read_range(sha, 0, 32 * 1024)
    frame = FrameEncoder().encode(raw)
    # What the box knew before the hub restarted: it sent this frame, the hub held 9000 bytes.
    box.client.uploader.recent.remember(sha, 0, SentFrame(len(raw), frame, (None, False)))
    box.hub.frames_held[sha] = HeldPiece(0, 9000, zlib.crc32(frame[:9000]))
    box.start()
    try:
        async def done() -> bool:
            return await box.queue_state(doc) == "done"

        await advancing(box, done)
        uploads = box.hub.uploads(sha)
        assert [c.outcome for c in uploads][:1] == ["resume"]
        assert len([c for c in uploads if c.outcome == "resume"]) == 1
        assert sha in box.hub.complete and box.hub.held[sha] == box.store.blobs.read_range(
            sha, 0, SIZE)
        assert box.client.uploader.recent.held_bytes == 0  # forgotten once complete
    finally:
        await box.close()
