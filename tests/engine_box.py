"""A box for engine tests: a real store in a temp folder, the real sync engine, the in-memory
hub and virtual time. Nothing listens on a socket and nothing waits on a real timer; a test
polls for an outcome in real time only to notice it, bounded by ``eventually``'s timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.model import Urgency
from gateway.protocol.limits import START_FRAME
from gateway.store.layout import GatewayConfig, Layout, save_config
from gateway.store.local import LocalStore
from gateway.sync.client import SyncClient
from gateway.sync.transfers import REQUEST_BUDGET_S
from gateway.testbed.clock import VirtualTime
from gateway.testbed.fake_hub import FakeHub, Kind
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.factories import attachment, envelope

POLL_S = 0.005


@dataclass
class Box:
    layout: Layout
    time: VirtualTime
    hub: FakeHub
    store: LocalStore
    client: SyncClient
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def data(self) -> str:
        return str(self.layout.root)

    async def send(self, size: int, urgency: Urgency = Urgency.THUONG) -> tuple[str, str]:
        """Queues a document with one attachment of ``size`` random bytes; (doc id, sha)."""
        payload = os.urandom(size)
        sha, _ = self.store.blobs.put_bytes(payload)
        env = envelope(COMMUNE_A, (COMMUNE_B,), urgency=urgency,
                       attachments=(attachment("tep.pdf", payload),), now_ms=self.time.clock())
        await self.store.queue_document(env)
        self.client.wake()
        return env.id, sha

    def start(self) -> None:
        self.task = asyncio.create_task(self.client.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        await self.store.close()

    async def queue_state(self, doc_id: str) -> str | None:
        return (await self.store.document(doc_id)).queue_state


async def open_box(root: Path, seed: int = 9) -> Box:
    clock = VirtualTime()
    layout = Layout(root / "gw")
    layout.root.mkdir(parents=True)
    save_config(layout, GatewayConfig(agency=COMMUNE_A, reserve_bytes=0))
    store = await LocalStore.open(layout, clock.clock)
    hub = FakeHub(clock, COMMUNE_A)
    client = SyncClient(store, hub, clock=clock.clock, rng=random.Random(seed),
                        sleep=clock.sleep, agency=COMMUNE_A, reserve_bytes=0)
    return Box(layout, clock, hub, store, client)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Returns as soon as ``check`` holds; fails after ``timeout_s`` of real time."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(POLL_S)


async def advancing(box: Box, check: Callable[[], Awaitable[bool]], step_s: float = 1.0,
                    timeout_s: float = 5.0) -> None:
    """Like :func:`eventually`, moving virtual time on by ``step_s`` at each look: for a wait
    whose start the test cannot see (a worker's link backoff begins after the failure the
    test observes), so a single jump could come before the worker starts waiting."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition never held"
        box.time.advance(step_s)
        await asyncio.sleep(POLL_S)


async def cut_and_hold(box: Box, sha: str) -> tuple[int, asyncio.Event]:
    """Uploads beside a long-poll, then cuts the blob's upload after two frames of its next
    request (the long-poll breaks too), then
    holds the resumed request after its first frame; returns when the cut came, and the event
    that releases the request. A long-poll the box re-opened at that very virtual instant (its
    previous one timed out in the same time step) raced the cut: "after the cut" is later."""
    first = box.hub.pause_after(sha, frames=1)
    box.start()

    async def long_polling() -> bool:  # beside the upload, before any cut
        return first.reached.is_set() and box.client.polling

    await eventually(long_polling)
    box.hub.fault(sha, Kind.CUT, after=2 * START_FRAME)  # the next request meets a cut
    box.time.advance(REQUEST_BUDGET_S + 1)  # this one ends at its next frame boundary
    first.release.set()

    async def cut() -> bool:
        return any(c.outcome == "cut" for c in box.hub.uploads(sha))

    await eventually(cut)
    cut_ms = box.time.clock()
    gate = box.hub.pause_after(sha, frames=1)

    async def held() -> bool:  # probes and waits run in virtual time
        return gate.reached.is_set()

    await advancing(box, held, step_s=0.1)
    return cut_ms, gate.release
