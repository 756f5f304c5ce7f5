"""Blob downloads: inbound documents' attachments, blobs fetched again after scrub
quarantined them, and the hub's trust bundle, most urgent first, two at a time, within the
box's disk reserve.

A download that would eat into the reserve pauses (the shortfall is kept for ``gateway
status``) and looks again every ``DISK_RECHECK_S``: a full disk stops SQLite, and then the
clerk can neither mark nor export anything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from gateway.model import Envelope
from gateway.protocol.pacing import FramePacer
from gateway.store import repair
from gateway.store.blobs import BlobStore
from gateway.sync.link import HubRefused, HubUnavailable
from gateway.sync.reconnect import Reconnect
from gateway.sync.transfers import (
    DOWNLOAD_SLICE_S,
    IDLE_S,
    Workers,
    link_backoff,
    link_wait,
    recovered,
)

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

    async def _pick(self) -> tuple[int, Envelope] | Fetch | None:
        """A received document whose blobs are all here, else the most urgent blob nobody is
        fetching (blobs of new documents before quarantined ones), or None."""
        store = self.client.store
        for seq, env in await self.client.syncstate.inbound_todo():
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
        return await self._trust_bundle()

    async def _trust_bundle(self) -> Fetch | None:
        """The hub's trust bundle when it named a new one: fetched last, installed once whole."""
        trust, blobs = self.client.hub_trust, self.client.store.blobs
        wanted = trust.pending()
        if wanted is None:
            return None
        if blobs.has(wanted.sha256):
            await asyncio.to_thread(trust.install, blobs)
            self.client.signatures.roots_changed()
            return None
        if wanted.sha256 not in self.workers.active and self.workers.may_start(0):
            return Fetch(wanted.sha256, wanted.size, 0, refetch=False)
        return None

    async def worker(self, stop: asyncio.Event) -> None:
        c = self.client
        backoff = link_backoff(c)
        while not stop.is_set():
            picked = await self._pick()
            if picked is None:
                await c.pause(IDLE_S, self.workers.changed.next())
                continue
            if isinstance(picked, tuple):
                await c.syncstate.store_inbound(*picked)
                c.stats.docs_in += 1
                c.signatures.stored()  # delivered first, its signatures checked after
                c.wake()
                continue
            self.workers.start(picked.sha256, picked.urgency)  # before any await: it is ours
            try:
                if await self._disk_short(picked):
                    await c.pause(self.disk_recheck_s, stop)  # no retry until space may be back
                else:
                    await self._attempt(picked, backoff)
            finally:
                self.workers.finish(picked.sha256)

    async def _attempt(self, job: Fetch, backoff: Reconnect) -> None:
        """One slice of a blob; every failure the hub, the link or a full disk can cause is
        handled here, anything else ends the engine."""
        c = self.client
        try:
            await self.fetch(job.sha256, job.size)
            if job.refetch and c.store.blobs.has(job.sha256):
                await repair.refetched(c.store, job.sha256)
            recovered(c, backoff)
        except HubUnavailable as exc:
            await link_wait(c, backoff, exc)
        except HubRefused as exc:
            if job.refetch:  # the hub cannot give it back: it stays counted as lost
                await repair.refetch_refused(c.store, job.sha256, str(exc))
            else:
                await c.pause(max(30.0, backoff.backoff.failed()), c.woken)
        except OSError as exc:  # disk full or failing: the partial file ends on a frame
            log.warning("download of %s failed: %s", job.sha256[:12], exc)
            await c.pause(max(30.0, backoff.backoff.failed()), c.woken)

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
            await self.client.syncstate.set_disk_short(short_mb * 2**20)
        return short_mb > 0

    async def fetch(self, sha256: str, size: int) -> None:
        """Fetches one slice of a blob into its partial file; completes and verifies it. The
        file is written and fsynced off the event loop, one frame at a time."""
        blobs = self.client.store.blobs
        offset = blobs.partial_size(sha256)
        if offset > size:
            await asyncio.to_thread(blobs.discard_partial, sha256)
            offset = 0
        frame = self.pacer.frame_size()
        rate = self.pacer.rate or frame / 2.0
        limit = max(2 * frame, int(rate * DOWNLOAD_SLICE_S))
        started, got = time.monotonic(), 0
        f = await _open_partial(blobs, sha256, offset)
        try:
            async for payload in self.client.hub.download(sha256, offset, limit, frame):
                if offset + got + len(payload) > size:
                    break
                await asyncio.to_thread(_append, f, payload, offset + got)
                got += len(payload)
                self.client.stats.bytes_down += len(payload)
                self.client.stats.blob_bytes_down += len(payload)
        finally:
            await asyncio.to_thread(_sync_close, f)
            self.pacer.observe(got, time.monotonic() - started)
        complete = blobs.partial_size(sha256) >= size
        if complete and not await asyncio.to_thread(blobs.finish_partial, sha256):
            raise HubUnavailable(f"blob {sha256[:12]} failed verification; fetching again")


async def _open_partial(blobs: BlobStore, sha256: str, offset: int) -> BinaryIO:
    """Opens the partial file in a worker thread; if the download is cancelled meanwhile (a
    cut, shutdown), the file the thread still opens is closed instead of left to the GC."""
    opening = asyncio.ensure_future(asyncio.to_thread(blobs.open_partial, sha256, offset))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)
        raise


def _close_opened(opened: asyncio.Future[BinaryIO]) -> None:
    if not opened.cancelled() and opened.exception() is None:
        opened.result().close()


def _append(f: BinaryIO, payload: bytes, at: int) -> None:
    try:
        f.write(payload)
    except OSError:  # disk full: keep the file on a frame boundary, retry later
        f.truncate(at)
        raise


def _sync_close(f: BinaryIO) -> None:
    try:
        f.flush()
        os.fsync(f.fileno())
    finally:
        f.close()
