"""The hub's link to the national axis: a supervised loop started with the hub (``hub run``).

Each round: refresh the cached agency list now and then (agencies under another system are
*national*: routing hands their deliveries here instead of to an inbox), pull what waits for
this hub (list → get → persist → acknowledge, :func:`gateway.axis.loop.pull`), push the routed
documents addressed to national agencies as edXML packages, then push the statuses that
communes reported on documents from the axis. A failed round is logged and retried with
backoff; it never stops the hub. Everything is deduplicated by key in the hub's database, so
a round cut anywhere is simply repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

import aiohttp
from aiohttp import web

from gateway.axis.client import AxisTransport, AxisUnavailable, HttpAxis, ReceivedItem
from gateway.axis.loop import dedupe_key, pull, push
from gateway.edxml import Imported, Organ, Package, StatusPackage, package_bytes
from gateway.edxml.dates import format_date
from gateway.edxml.mapping import (
    K_ID,
    K_PACKAGE,
    document_id,
    envelope_from_package,
    status_package,
    status_update,
)
from gateway.edxml.outgoing import outgoing_package
from gateway.hub.axis_settings import AxisSettings
from gateway.hub.state import HUB, HubState
from gateway.model import Refused, uuid7, validate_envelope
from gateway.model.delivery import Party
from gateway.model.document import VN_TZ
from gateway.store.hub.axis import RECIPIENT_STATUSES, StatusToPush, ToPush
from gateway.store.hub.documents import DELIVERED, HubStore

log = logging.getLogger("gateway.hub.axis")


@dataclass
class AxisLink:
    """One hub's exchange with the axis through ``axis`` (any :class:`AxisTransport`)."""

    state: HubState
    axis: AxisTransport
    settings: AxisSettings
    agencies_at: float = float("-inf")  # monotonic time of the last agency list
    names: dict[str, str] | None = None

    @property
    def store(self) -> HubStore:
        return self.state.store

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.store.clock() / 1000, VN_TZ)

    def _name(self, code: str) -> str | None:
        if code in self.store.directory:
            return self.store.directory[code].name
        return (self.names or {}).get(code)

    async def round(self) -> None:
        if time.monotonic() - self.agencies_at >= self.settings.agencies_s:
            await self.refresh_agencies()
        report = await pull(self.axis, seen=self.store.axis.pulled, persist=self._persist)
        if report.persisted or report.refused:
            log.info("axis: %d filed, %d duplicates, %d unreadable", len(report.persisted),
                     len(report.duplicates), len(report.refused))
        for item in await self.store.axis.to_push():
            await self._push_document(item)
        for status in await self.store.axis.statuses_to_push():
            await self._push_status(status)

    async def refresh_agencies(self) -> None:
        entries = [(e.code.strip().upper(), e.name, e.system) for e in await self.axis.agencies()
                   if e.system != self.settings.system_id]
        await self.store.axis.replace_agencies(entries)
        self.names = {code: name for code, name, _ in entries}
        self.store.national = frozenset(self.names)
        self.agencies_at = time.monotonic()

    async def _persist(self, got: Imported, raw: bytes, item: ReceivedItem) -> None:
        pkg, key, now = got.package, dedupe_key(got.package), self.store.clock()
        if isinstance(pkg, StatusPackage):
            up = status_update(pkg)
            commune = up.code in RECIPIENT_STATUSES and await self.store.axis.apply_status(
                key, item.doc_id, up.document_id, up.sender, up.code, up.description, now)
            if commune:
                self.state.notifier.notify({commune})
            else:
                log.warning("axis: status %s for an unknown document ignored", up.code[:4])
                await self.store.axis.note_pulled(key, item.doc_id, now)
            return
        try:
            mapped = envelope_from_package(pkg, envelope_id=uuid7(now, os.urandom),
                                           created_ms=now,
                                           package_sha256=hashlib.sha256(raw).hexdigest())
            ours = tuple(c for c in mapped.envelope.recipients
                         if c in self.store.directory and c not in self.store.national)
            env = replace(mapped.envelope, recipients=ours)
            validate_envelope(env, lambda code: True)
        except Refused as exc:
            log.warning("axis: package %s not filed: %s", item.doc_id[:40], exc.text("en"))
            await self.store.axis.note_pulled(key, item.doc_id, now)
            return
        for data in (*mapped.blobs.values(), raw):
            await asyncio.to_thread(self.store.blobs.put_bytes, data)
        touched = await self.store.accept_from_axis(env, key, item.doc_id,
                                                    env.extra.get(K_ID, ""))
        self.state.notifier.notify(touched)

    async def _push_document(self, item: ToPush) -> None:
        env = replace(item.envelope, recipients=item.recipients)
        blobs = self.store.blobs
        data = {a.sha256: await asyncio.to_thread(blobs.read_verified, a.sha256, a.name)
                for a in env.attachments}
        sha = env.extra.get(K_PACKAGE)
        original = (await asyncio.to_thread(blobs.read_verified, sha, "edXML")
                    if sha and blobs.has(sha) else None)
        pkg = outgoing_package(env, data, name_of=self._name, now=self._now(),
                               original=original)
        await self._send(package_bytes(pkg), pkg)
        await self.store.axis.delivered(item, document_id(env), DELIVERED, self.store.clock())
        self.state.notifier.notify({env.sender})

    async def _push_status(self, s: StatusToPush) -> None:
        env = s.envelope
        pkg = status_package(
            original_id=s.document_id, original_sender=env.sender, original_code=env.code,
            original_date=format_date(env.issue_date), code=s.code, party=Party.RECIPIENT,
            organ=Organ(organ_id=s.agency, organ_name=self._name(s.agency)), staff=None,
            description=s.note, now=self._now())
        await self._send(package_bytes(pkg), pkg)
        await self.store.axis.statuses_pushed(s.rseq)

    async def _send(self, data: bytes, pkg: Package) -> None:
        await push(self.axis, data, pkg, sent=self.store.axis.pushed,
                   record=lambda key, axis_id: self.store.axis.note_pushed(
                       key, axis_id, self.store.clock()))


async def supervise(link: AxisLink, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
                    ) -> None:
    """Runs rounds for ever: every ``poll_s`` after a good one, with doubling delays (up to
    the retry ``max_delay``) after failures. Only cancellation ends it."""
    retry = link.settings.retry
    delay = retry.first_delay
    while True:
        try:
            await link.round()
            delay = retry.first_delay
            wait = link.settings.poll_s
        except AxisUnavailable as exc:
            log.warning("axis unreachable, retrying in %.1f s: %s", delay, exc)
            wait, delay = delay, min(delay * 2, retry.max_delay)
        except Exception:
            log.exception("axis round failed, retrying in %.1f s", delay)
            wait, delay = delay, min(delay * 2, retry.max_delay)
        await sleep(wait)


def axis_context(settings: AxisSettings
                 ) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp ``cleanup_ctx`` owning the link's HTTP session and task."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=300, sock_connect=15)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            axis = HttpAxis(settings.url, settings.system_id, settings.secret,
                            session=session, retry=settings.retry)
            task = asyncio.create_task(supervise(AxisLink(app[HUB], axis, settings)))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx
