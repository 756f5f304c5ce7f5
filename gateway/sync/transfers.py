"""Blob transfers: the uploader always sends the most urgent bytes; the downloader fetches the
most urgent inbound document first. Both resume from what the other side verifiably holds."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gateway.queue import Backoff
from gateway.sync.frames import FrameEncoder
from gateway.sync.pacing import FramePacer
from gateway.sync.transport import HubRefused, HubUnavailable
from gateway.sync.wire import BlobNeed

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

log = logging.getLogger("gateway.sync")
REQUEST_BUDGET_S = 30.0  # after this long a request ends, so acks and receipts flow too
DOWNLOAD_SLICE_S = 8.0  # link time per download request: the granularity of inbound priority


def most_urgent(needs: list[BlobNeed]) -> BlobNeed | None:
    """The hub lists needs most urgent first; skip what is already complete."""
    pending = [n for n in needs if n.offset < n.size]
    return max(pending, key=lambda n: n.urgency, default=None) if pending else None


class Uploader:
    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.pacer = FramePacer()
        self.unsure = False

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(base_s=1.0, cap_s=120.0, rng=self.client.rng)
        c = self.client
        while not stop.is_set():
            need = most_urgent(c.stats.needs)
            if need is None:
                c._needs_changed.clear()
                await c._needs_changed.wait()
                continue
            try:
                if self.unsure:  # after a cut the hub may hold more than it last confirmed
                    held = await c.hub.head(need.sha256)
                    need = BlobNeed(need.sha256, need.size if held.complete else held.offset,
                                    need.size, need.urgency)
                    self._held(need.sha256, need.offset)
                    self.unsure = False
                    if need.offset >= need.size:
                        continue
                await self.upload(need)
                backoff.succeeded()
            except HubUnavailable:
                self.unsure = True
                await c.sleep(backoff.failed(), c._needs_changed)
            except HubRefused:
                # Not (or no longer) wanted; the next sync reply says what the hub needs.
                self._held(need.sha256, need.size)
            except Exception:
                log.exception("upload of %s failed", need.sha256[:12])
                await c.sleep(max(30.0, backoff.failed()), c._needs_changed)

    def _held(self, sha256: str, offset: int) -> None:
        """Records how much of a blob the hub holds, until the next reply says it again."""
        self.client.stats.needs = [
            BlobNeed(n.sha256, offset, n.size, n.urgency) if n.sha256 == sha256 else n
            for n in self.client.stats.needs
        ]

    async def upload(self, need: BlobNeed) -> None:
        c = self.client
        result = await c.hub.upload(need.sha256, need.offset, need.size, self._frames(need))
        self._held(need.sha256, need.size if result.complete else result.offset)
        if result.complete:
            c.wake()  # the hub may have routed the document: fetch receipts now

    async def _frames(self, need: BlobNeed) -> AsyncIterator[bytes]:
        c = self.client
        encoder = FrameEncoder()
        started = time.monotonic()
        position = need.offset
        with c.store.blobs.path(need.sha256).open("rb") as f:
            f.seek(position)
            while position < need.size:
                best = most_urgent(c.stats.needs)
                if best is not None and best.urgency > need.urgency:
                    return  # overtaken: end the body at this frame boundary
                if time.monotonic() - started > REQUEST_BUDGET_S:
                    return
                raw = f.read(min(self.pacer.frame_size(), need.size - position))
                if not raw:
                    return
                frame = encoder.encode(raw)
                sent_at = time.monotonic()
                yield frame
                self.pacer.observe(len(frame), time.monotonic() - sent_at)
                position += len(raw)
                c.stats.bytes_up += len(frame)
                c.stats.blob_bytes_up += len(raw)
                c.stats.frames_up += 1
                c.stats.max_frame = max(c.stats.max_frame, len(raw))


class Downloader:
    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.pacer = FramePacer()

    async def run(self, stop: asyncio.Event) -> None:
        c = self.client
        backoff = Backoff(base_s=1.0, cap_s=120.0, rng=c.rng)
        while not stop.is_set():
            todo = await c.ledger.inbound_todo()
            if not todo:
                c._inbound.clear()
                await c._inbound.wait()
                continue
            seq, env = todo[0]
            try:
                for att in env.attachments:
                    if not c.store.blobs.has(att.sha256):
                        await self.fetch(att.sha256, att.size)
                        break  # one slice at a time: re-check what is most urgent
                else:
                    await c.ledger.store_inbound(seq, env)
                    c.stats.docs_in += 1
                    c.wake()
                backoff.succeeded()
            except HubUnavailable:
                await c.sleep(backoff.failed())
            except HubRefused:
                await c.sleep(max(30.0, backoff.failed()))
            except Exception:
                log.exception("download for document %s failed", env.id)
                await c.sleep(max(30.0, backoff.failed()))

    async def fetch(self, sha256: str, size: int) -> None:
        """Fetches one slice of a blob into its partial file; completes and verifies it."""
        blobs = self.client.store.blobs
        offset = blobs.partial_size(sha256)
        if offset > size:
            blobs.discard_partial(sha256)
            offset = 0
        frame = self.pacer.frame_size()
        rate = self.pacer.rate or frame / 2.0
        limit = max(2 * frame, int(rate * DOWNLOAD_SLICE_S))
        started, got = time.monotonic(), 0
        with blobs.open_partial(sha256, offset) as f:
            try:
                async for payload in self.client.hub.download(sha256, offset, limit, frame):
                    if offset + got + len(payload) > size:
                        break
                    f.write(payload)
                    got += len(payload)
                    self.client.stats.bytes_down += len(payload)
                    self.client.stats.blob_bytes_down += len(payload)
            finally:
                f.flush()
                os.fsync(f.fileno())
                self.pacer.observe(got, time.monotonic() - started)
        complete = blobs.partial_size(sha256) >= size
        if complete and not await asyncio.to_thread(blobs.finish_partial, sha256):
            raise HubUnavailable(f"blob {sha256[:12]} failed verification; fetching again")
