"""The sync engine's answer to a restored hub: offer again what it may have lost.

Every sync reply from a current hub carries its epoch (docs/protocol.md §3.2), which a
``gateway hub restore`` replaces. When a reply brings another epoch than the one this box
remembers, the box puts back in its outbound queue the sent documents the hub may have lost and
queues again the statuses it sent recently (:mod:`gateway.model.reoffer` says which); the
usual upload path does the rest, and the hub's deduplication by document and status id keeps
every delivery single. Documents it was still downloading are forgotten: the restored hub
offers again each one it has, and a lost one comes back when its sender offers it again. A
status about a document the hub lost is refused until the document is back; when the hub
offers a document this box already holds, the box sends its statuses on it again. A reply
without an epoch (an older hub) changes nothing.

Called by :class:`gateway.sync.client.SyncClient` once a reply is committed. The remembered
epoch and whether documents are still being offered are kept in memory as well, so a normal
reply costs no database write here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.protocol.limits import MAX_NEED
from gateway.protocol.wire import SyncReply
from gateway.store.local import LocalStore
from gateway.store.reoffer import (
    note_epoch,
    open_count,
    remembered_epoch,
    resend_statuses,
    settle,
)

log = logging.getLogger("gateway.sync")


class HubEpoch:
    def __init__(self, store: LocalStore, wake: Callable[[], None]) -> None:
        self.store = store
        self._wake = wake  # sync again at once: there is something to send
        self._known: str | None = None  # the remembered epoch, once read
        self._open: bool | None = None  # documents still offered again, once counted

    async def after_reply(self, reply: SyncReply) -> None:
        """Everything a committed reply means for a restored hub."""
        if reply.epoch:
            if self._known is None:
                self._known = await remembered_epoch(self.store)
            if reply.epoch != self._known:
                await self._changed(reply)
        if self._open is None:
            self._open = await open_count(self.store) > 0
        if self._open:
            needed = {n.sha256 for n in reply.need}
            self._open = await settle(self.store, needed, len(reply.need) < MAX_NEED) > 0
        held = [item.env.id for item in reply.inbox]
        if held and await resend_statuses(self.store, held):
            self._wake()

    async def _changed(self, reply: SyncReply) -> None:
        seen = await note_epoch(self.store, reply.epoch, reply.time_ms)
        self._known = reply.epoch
        if not seen.before:
            log.info("hub epoch %s", reply.epoch[:16])
            return
        counts = (seen.before[:16], seen.after[:16], seen.documents, seen.statuses, seen.inbound)
        log.warning(
            "Máy chủ tỉnh đã được khôi phục từ bản sao lưu (kỷ nguyên %s → %s): gửi lại %d văn "
            "bản và %d trạng thái mà máy chủ có thể đã mất, chờ tỉnh gửi lại %d văn bản đang "
            "tải / The hub was restored from a backup (epoch %s → %s): offering again %d "
            "documents and %d statuses it may have lost; %d documents being downloaded wait "
            "for the hub to offer them again", *counts, *counts)
        if seen.documents:
            self._open = True
        if seen.documents or seen.statuses or seen.inbound:
            self._wake()
