"""Blob downloads: inbound documents' attachments, and blobs fetched again after scrub
quarantined them, most urgent first, two at a time, within the box's disk reserve.

A download that would eat into the reserve pauses (the shortfall is kept for ``gateway
status``) and looks again every ``DISK_RECHECK_S``: a full disk stops SQLite, and then the
clerk can neither mark nor export anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.model import Envelope
from gateway.protocol.pacing import FramePacer
from gateway.queue import Backoff
from gateway.store import repair
from gateway.sync.transfers import (
    DOWNLOAD_SLICE_S,
    TRANSFER_BACKOFF_CAP_S,
    WORKERS,
    Workers,
    recovered,
)
from gateway.sync.transport import HubRefused, HubUnavailable

if TYPE_CHECKING:
    from gateway.sync.client import SyncClient

log = logging.getLogger("gateway.sync")
DISK_RECHECK_S = 30.0  # how often paused downloads look for freed disk space


@dataclass(frozen=True)
class Fetch:
    """One blob to download: for an inbound document, or again after scrub quarantined it."""

    sha256: str
    size: int
    urgency: int
    refetch: bool


class Downloader:
    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.pacer = FramePacer()
        self.workers = Workers()
        self.short_mb = 0  # what the status says downloads wait for (MB), 0 when not paused
        self.disk_recheck_s = DISK_RECHECK_S

    def inbound_changed(self) -> None:
        self.workers.changed.fire()

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._worker(stop) for _ in range(WORKERS)))

    async def _pick(self) -> tuple[int, Envelope] | Fetch | None:
        """A received document whose blobs are all here, else the most urgent blob nobody is
        fetching (blobs of new documents before quarantined ones), or None."""
        store = self.client.store
        for seq, env in await self.client.ledger.inbound_todo():
            missing = [a for a in env.attachments if not store.blobs.has(a.sha256)]
            if not missing:
                return seq, env
            free = [a for a in missing if a.sha256 not in self.workers.active]
            if free and self.workers.may_start(int(env.urgency)):
                return Fetch(free[0].sha256, free[0].size, int(env.urgency), refetch=False)
        for r in await repair.refetch_todo(store):
            if store.blobs.has(r.sha256):  # fetched again (or re-added by a new send)
                await repair.refetched(store, r.sha256)
            elif r.sha256 not in self.workers.active and self.workers.may_start(r.urgency):
                return Fetch(r.sha256, r.size, r.urgency, refetch=True)
        return None

    async def _worker(self, stop: asyncio.Event) -> None:
        c = self.client
        backoff = Backoff(base_s=0.5, cap_s=TRANSFER_BACKOFF_CAP_S, rng=c.rng)
        while not stop.is_set():
            picked = await self._pick()
            if picked is None:
                await self.workers.changed.wait(seconds=5.0)
                continue
            if isinstance(picked, tuple):
                await c.ledger.store_inbound(*picked)
                c.stats.docs_in += 1
                c.wake()
                continue
            if await self._disk_short(picked):
                with contextlib.suppress(TimeoutError):  # no retries until space may be back
                    await asyncio.wait_for(stop.wait(), self.disk_recheck_s)
                continue
            self.workers.start(picked.sha256, picked.urgency)
            try:
                await self.fetch(picked.sha256, picked.size)
                if picked.refetch and c.store.blobs.has(picked.sha256):
                    await repair.refetched(c.store, picked.sha256)
                recovered(c, backoff)
            except HubUnavailable:
                await c.sleep(backoff.failed())
            except HubRefused as exc:
                if picked.refetch:  # the hub cannot give it back: it stays counted as lost
                    await repair.refetch_refused(c.store, picked.sha256, str(exc))
                else:
                    await c.sleep(max(30.0, backoff.failed()))
            except Exception:
                log.exception("download of %s failed", picked.sha256[:12])
                await c.sleep(max(30.0, backoff.failed()))
            finally:
                self.workers.finish(picked.sha256)

    async def _disk_short(self, job: Fetch) -> bool:
        """Downloads keep the same disk reserve as sending, so the box never fills its own
        disk; the shortfall is kept for `gateway status` (written when it changes)."""
        blobs = self.client.store.blobs
        remaining = max(0, job.size - blobs.partial_size(job.sha256))
        short = self.client.reserve_bytes + remaining - blobs.free_bytes()
        short_mb = -(-short // 2**20) if short > 0 else 0
        if short_mb != self.short_mb:
            if short_mb and not self.short_mb:
                log.warning("disk full: downloads paused, %d MB needed", short_mb)
            self.short_mb = short_mb
            await self.client.ledger.set_disk_short(short_mb * 2**20)
        return short_mb > 0

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
                    try:
                        f.write(payload)
                    except OSError:  # disk full: keep the file on a frame boundary, retry later
                        f.truncate(offset + got)
                        raise
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
