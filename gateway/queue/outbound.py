"""The outbound queue the sync engine uses for blob uploads: the policy of
:mod:`gateway.queue.order` applied to the state in :mod:`gateway.store.outbound`.

The hub says which blobs it still needs; the queue says which of them may go now and in which
order (the most urgent, then oldest, document that uses each), and what a failure that
concerns a blob does to the documents that use it: a later retry, or at the limit a dead
letter whose reason `gateway status`, `show` and the TUI display.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.model import Problem
from gateway.queue.order import MAX_ATTEMPTS, due_ms, on_failure, ready_jobs, retry_backoff
from gateway.store import outbound
from gateway.store.local import LocalStore

Clock = Callable[[], int]


@dataclass(frozen=True)
class Order:
    """Blobs that may go now, best first, and when the first held-back one may go (ms)."""

    ready: tuple[str, ...]
    due_ms: int | None


@dataclass(frozen=True)
class Outcome:
    """What a failure did: documents to try again after ``wait_s`` (the shortest), and the
    ones dead-lettered."""

    retrying: tuple[str, ...]
    wait_s: float
    dead: tuple[str, ...]


def gave_up(reason: str) -> Problem:
    reason = reason[:120]  # the whole bilingual text must fit the stored reason
    return Problem("queue.gave_up",
        f"Máy chủ tỉnh không nhận văn bản sau {MAX_ATTEMPTS} lần thử (lỗi cuối: {reason}); "
        "kiểm tra rồi gửi lại.",
        f"The hub did not take the document after {MAX_ATTEMPTS} attempts (last error: "
        f"{reason}); check, then send it again.")


class OutboundQueue:
    def __init__(self, store: LocalStore, clock: Clock, rng: random.Random) -> None:
        self.store = store
        self.clock = clock
        self.backoff = retry_backoff(rng)

    async def order(self, digests: Sequence[str]) -> Order:
        """The blobs of ``digests`` whose documents may go now; a blob no queued document
        uses (dead-lettered, or not this box's) never goes."""
        docs = await outbound.blob_documents(self.store, digests)
        now = self.clock()
        ready = dict.fromkeys(d.sha256 for d in ready_jobs(docs, now))
        return Order(tuple(ready), due_ms(docs, now))

    async def failed(self, sha256: str, reason: str) -> Outcome:
        """A failure that concerns this blob: each document using it backs off, or dies."""
        now = self.clock()
        verdicts = [on_failure(d, now, self.backoff)
                    for d in await outbound.blob_documents(self.store, [sha256])]
        why = gave_up(reason)
        dead = await outbound.record_failures(self.store, [
            outbound.Failed(v.doc_id, v.attempts, v.next_ms, v.dead,
                            f"{why.vi} / {why.en}" if v.dead else reason,
                            why.code if v.dead else "")
            for v in verdicts])
        retrying = [v for v in verdicts if not v.dead]
        wait_s = min((v.next_ms - now for v in retrying), default=0) / 1000
        return Outcome(tuple(v.doc_id for v in retrying), wait_s, tuple(dead))

    async def succeeded(self, sha256: str) -> None:
        """The hub holds this blob: the documents using it start their count again."""
        docs = await outbound.blob_documents(self.store, [sha256])
        await outbound.clear_failures(self.store, {d.doc_id for d in docs if d.attempts})
