"""The engine on a bad link, against the in-memory hub in virtual time (no sockets): how often
it probes a link that refuses, how it resumes an upload after a cut without asking HEAD when a
sync reply already said where the hub is (and how a 409 corrects a stale offset), how a Hỏa tốc
upload starts while both bulk requests are still open, and that a long-poll the box stops
waiting for is never cancelled (that would close its connection)."""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

import pytest

from gateway.model import Urgency
from gateway.protocol.limits import START_FRAME
from gateway.queue import Backoff
from gateway.sync.link import HubUnavailable
from gateway.sync.reconnect import FAST_WINDOW_S, PROBE_S, Reconnect
from gateway.sync.transfers import link_backoff
from gateway.testbed.fake_hub import Call, Kind
from tests.engine_box import Box, eventually, open_box

PROBE_MS = round(PROBE_S * 1000)


def attempts(box: Box, methods: str, sha: str = "") -> list[Call]:
    """Requests of one of ``methods`` (space-separated) for ``sha``, in order."""
    return [c for c in box.hub.calls if c.method in methods.split() and c.sha256 == sha]


async def next_attempt(box: Box, methods: str, sha: str = "") -> Call:
    """Once the task that made the last attempt sleeps until its retry, advances virtual time
    to that retry; returns the attempt it makes."""
    def due() -> int:
        return attempts(box, methods, sha)[-1].at_ms + PROBE_MS

    async def asleep() -> bool:
        return due() in box.time.pending()

    await eventually(asleep)
    seen = len(attempts(box, methods, sha))
    box.time.advance_to(due())

    async def tried() -> bool:
        return len(attempts(box, methods, sha)) > seen

    await eventually(tried)
    return attempts(box, methods, sha)[seen]


async def test_a_refusing_link_is_probed_at_a_fixed_short_interval(tmp_path: Path) -> None:
    """Not 1, 2, 4, 8 s of backoff: every attempt comes PROBE_S after the last, so the box is
    back within one probe interval of the link."""
    box = await open_box(tmp_path)
    box.hub.down = "unreachable"
    box.start()
    try:
        async def first() -> bool:
            return bool(attempts(box, "SYNC"))

        await eventually(first)
        times = [attempts(box, "SYNC")[0].at_ms]
        for _ in range(6):
            times.append((await next_attempt(box, "SYNC")).at_ms)
        assert [b - a for a, b in itertools.pairwise(times)] == [PROBE_MS] * 6
        assert all(c.outcome == "down" for c in box.hub.calls)

        box.hub.down = None  # the link is back: the next probe gets through
        back = await next_attempt(box, "SYNC")
        assert back.outcome == "ok" and back.at_ms - times[-1] == PROBE_MS
    finally:
        await box.close()


async def test_only_the_sync_loop_probes_and_the_upload_follows_its_reply(
        tmp_path: Path) -> None:
    """A cut upload on a link that then refuses: the sync loop probes every PROBE_S, the
    upload worker leaves it to that loop (a growing backoff, not a probe per task) and goes
    the moment its reply arrives, from the offset the reply gives: no HEAD."""
    box = await open_box(tmp_path)
    doc_id, sha = await box.send(6 * START_FRAME)
    await box.client.sync_once()  # the hub accepted the envelope and needs the blob
    await cut_upload(box, sha)
    held = box.hub.uploads(sha)[0].held
    box.hub.down = "dropped"
    box.start()
    try:
        async def probed() -> bool:
            return bool(attempts(box, "SYNC"))

        await eventually(probed)
        for _ in range(10):  # a second of refusals
            assert (await next_attempt(box, "SYNC")).outcome == "down"
        assert len(attempts(box, "HEAD PATCH", sha)) <= 4  # vs 10 probes by the sync loop
        box.hub.down = None
        back = await next_attempt(box, "SYNC")  # one probe after the link's return

        async def resumed() -> bool:
            return any(c.at_ms >= back.at_ms for c in attempts(box, "HEAD PATCH", sha))

        await eventually(resumed)
        after = [c for c in attempts(box, "HEAD PATCH", sha) if c.at_ms >= back.at_ms]
        assert after[0].method == "PATCH" and after[0].at_ms == back.at_ms
        assert after[0].offset == held and after[0].outcome == "complete"
        await eventually(lambda: _done(box, doc_id))
    finally:
        await box.close()


def test_only_a_refused_or_reset_link_is_probed_fast_and_only_for_a_while() -> None:
    now = [0.0]
    retry = Reconnect(Backoff(base_s=1.0, cap_s=300.0, rng=random.Random(1)), lambda: now[0])
    assert retry.failed(HubUnavailable("reset", "dropped")) == PROBE_S
    now[0] = FAST_WINDOW_S - 1
    assert retry.failed(HubUnavailable("refused", "unreachable")) == PROBE_S
    now[0] = FAST_WINDOW_S + 1  # a long outage: back to growing, jittered waits
    assert retry.failed(HubUnavailable("refused", "unreachable")) > PROBE_S
    retry.succeeded()
    assert retry.failed(HubUnavailable("refused", "unreachable")) == PROBE_S
    timeout = Reconnect(Backoff(base_s=1.0, cap_s=300.0, rng=random.Random(1)), lambda: 0.0)
    waits = [timeout.failed(HubUnavailable("timed out", "timeout")) for _ in range(6)]
    assert min(waits) >= 0.1 and max(waits) > 8 * PROBE_S  # a silent link is not hammered
    follower = Reconnect(Backoff(base_s=1.0, cap_s=300.0, rng=random.Random(1)), lambda: 0.0)
    waits = [follower.failed(HubUnavailable("reset", "dropped"), probe=False) for _ in range(6)]
    assert max(waits) > 8 * PROBE_S  # another task probes: this one backs off


async def cut_upload(box: Box, sha: str) -> None:
    """One upload request of ``sha`` that the link cuts after two frames, as a worker makes it
    while the same cut broke the long-poll (the sync loop knows the link is down; the worker's
    link wait returns at once: the wake flag is up)."""
    box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)
    need = next(n for n in box.client.stats.needs if n.sha256 == sha)
    box.client.stats.online = False
    box.client.woken.set()
    await box.client.uploader.attempt(need, link_backoff(box.client))
    assert sha in box.client.uploader.unsure


async def resume(box: Box, sha: str) -> None:
    need = next(n for n in box.client.stats.needs if n.sha256 == sha)
    await box.client.uploader.attempt(need, link_backoff(box.client))


@pytest.mark.parametrize("news", [True, False], ids=["sync-after-cut", "no-news"])
async def test_after_a_cut_a_fresh_sync_reply_replaces_head(tmp_path: Path,
                                                             news: bool) -> None:
    """A sync reply asked for after the cut says what the hub holds: the upload goes on from
    there at once. Without one, the box asks HEAD first (a reply asked for before the cut may
    predate frames that landed)."""
    box = await open_box(tmp_path)
    _, sha = await box.send(6 * START_FRAME)
    await box.client.sync_once()
    await cut_upload(box, sha)
    if news:
        await box.client.sync_once()
        assert sha not in box.client.uploader.unsure
    await resume(box, sha)
    calls = [c for c in box.hub.calls if c.sha256 == sha]
    assert [c.method for c in calls] == (["PATCH", "PATCH"] if news
                                         else ["PATCH", "HEAD", "PATCH"])
    assert calls[0].outcome == "cut" and not calls[0].clean
    assert calls[-1].offset == calls[0].held and calls[-1].outcome == "complete"
    await box.close()


async def test_a_stale_offset_is_corrected_by_the_hubs_409(tmp_path: Path) -> None:
    """The box starts from an offset the hub has since passed (frames of a cut request that
    landed after the sync reply): the hub answers 409 with its offset, and the box goes on
    from there. No byte is applied twice: the whole blob hashes right at the hub."""
    box = await open_box(tmp_path)
    doc_id, sha = await box.send(4 * START_FRAME)
    await box.client.sync_once()  # the envelope is accepted; the hub needs the blob from 0
    payload = box.store.blobs.path(sha).read_bytes()
    box.hub.held[sha] = bytearray(payload[:START_FRAME])  # late frames landed meanwhile
    uploader = box.client.uploader
    stale = next(n for n in box.client.stats.needs if n.sha256 == sha)
    assert stale.offset == 0
    await uploader.upload(stale)
    corrected = next(n for n in box.client.stats.needs if n.sha256 == sha)
    assert corrected.offset == START_FRAME
    await uploader.upload(corrected)
    assert [(c.offset, c.outcome) for c in box.hub.uploads(sha)] == [
        (0, "offset"), (START_FRAME, "complete")]
    assert sha in box.hub.complete and not attempts(box, "HEAD", sha)
    assert await _done(box, doc_id) is False  # the queue hears it from the engine's worker
    await box.close()


async def test_hoa_toc_starts_while_the_bulk_request_is_open(tmp_path: Path) -> None:
    """A bulk upload is held mid-request; a Hỏa tốc upload still starts and completes before
    the bulk request ends (how a bulk request ends at the frame boundary:
    tests/test_engine_scheduling.py)."""
    box = await open_box(tmp_path)
    bulk, bulk_sha = await box.send(8 * START_FRAME)
    gate = box.hub.pause_after(bulk_sha, frames=1)
    box.start()
    try:
        await asyncio.wait_for(gate.reached.wait(), 5)
        urgent, urgent_sha = await box.send(2 * START_FRAME, Urgency.HOA_TOC)

        async def urgent_done() -> bool:
            return urgent_sha in box.hub.complete

        await eventually(urgent_done)
        assert not box.hub.uploads(bulk_sha)  # still open
        gate.release.set()

        async def all_done() -> bool:
            return all([await box.queue_state(d) == "done" for d in (bulk, urgent)])

        await eventually(all_done)
    finally:
        await box.close()


async def test_a_long_poll_the_box_stops_waiting_for_is_not_cancelled(tmp_path: Path) -> None:
    box = await open_box(tmp_path)
    box.start()
    try:
        async def polling() -> bool:
            return box.client.polling

        await eventually(polling)
        for _ in range(3):  # a clerk queues three documents, each during a long-poll
            await box.send(100)
            await eventually(polling)

        async def delivered() -> bool:
            return len(box.hub.complete) == 3

        await eventually(delivered)
        assert box.hub.cancelled_polls == 0
    finally:
        await box.close()
    assert box.hub.cancelled_polls <= 1  # at most the last one, at shutdown


async def _done(box: Box, doc_id: str) -> bool:
    return await box.queue_state(doc_id) == "done"
