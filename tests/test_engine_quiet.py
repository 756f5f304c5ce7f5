"""One connection while uploads run on a link that cuts (gateway/sync/quiet.py), against the
in-memory hub in virtual time: after a cut no long-poll opens beside the upload until it ends;
news for the box is heard at the end of an upload request (its X-Sync-News mark) and brings a
sync at once; a request lasts at most REQUEST_BUDGET_S meanwhile; a cut that no long-poll met
still makes the sync loop sync (and probe) for every worker; a quiet box syncs once a minute;
a hub without the mark keeps the long-poll."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from gateway.model import Urgency
from gateway.protocol.limits import START_FRAME
from gateway.sync.quiet import QUIET_SYNC_S, STEADY_S
from gateway.sync.transfers import REQUEST_BUDGET_S
from gateway.testbed.fake_hub import Kind
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.engine_box import advancing, cut_and_hold, eventually, open_box
from tests.factories import attachment, envelope

SIZE = 12 * START_FRAME


async def test_after_a_cut_no_long_poll_opens_until_the_uploads_end(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    doc, sha = await box.send(SIZE)
    try:
        cut_ms, release = await cut_and_hold(box, sha)
        assert box.hub.polls and box.hub.polls[-1] < cut_ms  # one was open before the cut
        for _ in range(int(STEADY_S) - 5):  # the upload is held; the link stays up
            box.time.advance(1)
            await asyncio.sleep(0.005)
        assert not [t for t in box.hub.polls if t > cut_ms] and not box.client.polling
        assert box.client.quiet_s() > 0
        release.set()

        async def done() -> bool:
            return await box.queue_state(doc) == "done"

        await advancing(box, done, step_s=0.1)

        async def polling() -> bool:  # the uploads ended: the long-poll is back
            return box.client.polling

        await eventually(polling)
        assert box.client.quiet_s() == 0
    finally:
        await box.close()


async def test_a_quiet_box_syncs_once_a_minute_and_long_polls_once_the_link_is_steady(
        tmp_path: Path) -> None:
    """The upload is held well past the quiet sync interval: the box syncs without waiting
    (its link indicator stays "connected"), and opens the long-poll again only once the link
    has not cut for the steady window, the upload still running."""
    box = await open_box(tmp_path)
    _, sha = await box.send(SIZE)
    try:
        cut_ms, release = await cut_and_hold(box, sha)
        steady_ms = box.client.quiet_s() * 1000 + box.time.clock()
        assert steady_ms - cut_ms > QUIET_SYNC_S * 1000  # the window outlasts the interval
        syncs = [c.at_ms for c in box.hub.calls if c.method == "SYNC"]

        async def steady() -> bool:
            return any(t > cut_ms for t in box.hub.polls)

        await advancing(box, steady, step_s=1.0)
        quiet_syncs = [c.at_ms for c in box.hub.calls if c.method == "SYNC"][len(syncs):]
        assert quiet_syncs and quiet_syncs[0] - syncs[-1] >= QUIET_SYNC_S * 1000
        assert quiet_syncs[0] < steady_ms  # a sync that did not wait, while still quiet
        assert min(t for t in box.hub.polls if t > cut_ms) >= steady_ms
        assert sha not in box.hub.complete
        release.set()
    finally:
        await box.close()


async def test_news_at_the_end_of_an_upload_request_brings_a_sync(tmp_path: Path) -> None:
    """A document routed to the box while it uploads without a long-poll: the reply of the
    running request carries a new inbox mark, and the box syncs at that very moment (and gets
    the document), not when its uploads end."""
    box = await open_box(tmp_path)
    _, sha = await box.send(SIZE)
    try:
        cut_ms, release = await cut_and_hold(box, sha)
        syncs = len([c for c in box.hub.calls if c.method == "SYNC"])
        payload = b"quyet dinh" * 100
        incoming = envelope(COMMUNE_B, (COMMUNE_A,), urgency=Urgency.HOA_TOC,
                            attachments=(attachment("den.pdf", payload),),
                            now_ms=box.time.clock())
        box.hub.deliver(1, incoming, {hashlib.sha256(payload).hexdigest(): payload})
        before = len(box.hub.uploads(sha))
        box.time.advance(REQUEST_BUDGET_S + 1)  # this request ends at its next frame boundary
        hold = box.hub.pause_after(sha, frames=1)  # and the next one is held: uploads go on
        release.set()

        async def ended() -> bool:
            return len(box.hub.uploads(sha)) > before

        await eventually(ended)
        request_end = box.hub.uploads(sha)[before]
        assert request_end.outcome == "ok"

        async def synced() -> bool:
            return len([c for c in box.hub.calls if c.method == "SYNC"]) > syncs

        await eventually(synced)
        news_sync = [c for c in box.hub.calls if c.method == "SYNC"][syncs]
        # At once (no virtual time passed), while the upload goes on, and with no long-poll
        # open that the hub could have answered instead.
        assert news_sync.at_ms == request_end.at_ms and sha not in box.hub.complete
        assert not [t for t in box.hub.polls if t > cut_ms]
        hold.release.set()

        async def acked() -> bool:  # stored and acked by the box
            return not box.hub.inbox

        await advancing(box, acked, step_s=0.1)
    finally:
        await box.close()


async def test_a_request_lasts_its_budget_without_a_long_poll(tmp_path: Path) -> None:
    """With no long-poll open, news is heard only at the end of a request (or at the sync after
    a cut): one lasts at most REQUEST_BUDGET_S of link time, then ends at its next frame
    boundary."""
    box = await open_box(tmp_path)
    _, sha = await box.send(SIZE)
    try:
        _, release = await cut_and_hold(box, sha)
        before = len(box.hub.uploads(sha))
        box.time.advance(REQUEST_BUDGET_S + 0.5)
        release.set()

        async def ended() -> bool:
            return len(box.hub.uploads(sha)) > before

        await eventually(ended)
        first = box.hub.uploads(sha)[before]
        assert first.outcome == "ok"
        assert first.held < SIZE and first.clean  # ended at a frame boundary, blob unfinished
    finally:
        await box.close()


async def test_a_hub_without_the_news_mark_keeps_the_long_poll(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    box.hub.sends_news = False
    _, sha = await box.send(SIZE)
    try:
        cut_ms, release = await cut_and_hold(box, sha)

        async def polling() -> bool:
            return any(t > cut_ms for t in box.hub.polls)

        await advancing(box, polling, step_s=0.1)
        assert box.client.quiet_s() == 0
        release.set()
    finally:
        await box.close()



async def test_a_cut_no_long_poll_met_brings_a_sync_and_a_resume_without_head(
        tmp_path: Path) -> None:
    """A quiet box's upload is cut again: no long-poll broke with it, so the worker tells the
    sync loop, which syncs for every worker; the upload resumes from that reply's offset on
    the link the sync found, with no HEAD and no long-poll."""
    box = await open_box(tmp_path)
    _, sha = await box.send(SIZE)
    try:
        cut_ms, release = await cut_and_hold(box, sha)
        box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)  # the next request is cut too
        box.time.advance(REQUEST_BUDGET_S + 1)
        release.set()

        async def cut_twice() -> bool:
            return sum(c.outcome == "cut" for c in box.hub.uploads(sha)) == 2

        await eventually(cut_twice)
        second = [i for i, c in enumerate(box.hub.calls) if c.outcome == "cut"][-1]

        async def resumed() -> bool:
            return any(c.method == "PATCH" for c in box.hub.calls[second + 1:])

        await eventually(resumed)
        after = [c for c in box.hub.calls[second:] if c.method in ("SYNC", "HEAD", "PATCH")]
        assert [c.method for c in after[:3]] == ["PATCH", "SYNC", "PATCH"]
        assert after[2].offset == after[0].held and not box.client.uploader.unsure
        assert not [t for t in box.hub.polls if t > cut_ms]
    finally:
        await box.close()
