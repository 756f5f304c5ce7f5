"""Signature checks on the box: every stored PDF attachment gets a verdict, never in the way.

The downloader stores a received document first (it is delivered, acked and shown at once),
then wakes this checker, which verifies the document's PDFs in the sandboxed worker and keeps
each verdict in the ``verdicts`` table. At start-up it finds PDFs without a verdict (a crash
between storing and checking, documents sent before signing was wired) and checks those too.
A PDF that times out or breaks the worker gets an ``unreadable`` verdict; a trust bundle that
cannot be read is logged and checked again later, the documents stay where they are.

Validation time is the hub-corrected clock (the box has no real-time clock); revocation is
checked only against the CRL files configured (a box never fetches), so without one the
verdict says "not checked: offline".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from gateway.signing import TrustConfig, Verifier, verify_pdf_async
from gateway.signing.config import SigningConfig
from gateway.signing.errors import SigningConfigError
from gateway.signing.verdict import PdfVerdict
from gateway.signing.verify import default_verifier
from gateway.signing.wording import summary
from gateway.store import verdicts
from gateway.store.local import LocalStore
from gateway.sync.transfers import IDLE_S, Signal

log = logging.getLogger("gateway.signing")
CONFIG_RETRY_S = 300.0  # a broken trust bundle is looked at again this often
Pause = Callable[[float, asyncio.Event], Awaitable[None]]


def box_trust(cfg: SigningConfig) -> TrustConfig:
    """The box's trust material; a box never fetches revocation data itself."""
    trust = cfg.trust()
    return TrustConfig(trust.roots_pem, trust.crls, allow_fetching=False)


async def check_blobs(store: LocalStore, digests: Iterable[str], trust: TrustConfig,
                      verifier: Verifier, now_ms: int) -> dict[str, PdfVerdict]:
    """Verifies each stored blob, keeps and returns its verdict (missing blobs are skipped).
    Raises :class:`SigningConfigError` only when the trust material itself is unusable."""
    moment = datetime.fromtimestamp(now_ms / 1000, UTC)
    out: dict[str, PdfVerdict] = {}
    for sha in digests:
        if not store.blobs.has(sha):
            continue
        verdict = await verify_pdf_async(store.blobs.path(sha), trust, verifier=verifier,
                                         moment=moment)
        await verdicts.put(store, sha, verdict.to_json(), now_ms)
        log.info("signatures of %s: %s", sha[:12], summary(verdict))
        out[sha] = verdict
    return out


class SignatureChecker:
    """One task of the engine: checks what has no verdict, sleeps until told there is more."""

    def __init__(self, store: LocalStore, config: SigningConfig | None,
                 clock: Callable[[], int], verifier: Verifier | None = None) -> None:
        self.store = store
        self.config = config  # None: nothing is checked (a wrong section, or engine tests)
        self.clock = clock  # box clock; the hub's skew is added at each check
        self.verifier = verifier or default_verifier(config.limits if config else None)
        self.changed = Signal()
        self.checked = 0

    def stored(self) -> None:
        """A document was stored: its PDFs want a verdict."""
        self.changed.fire()

    async def worker(self, stop: asyncio.Event, pause: Pause) -> None:
        config = self.config
        if config is None:
            await stop.wait()
            return
        while not stop.is_set():
            wait = IDLE_S * 12
            try:
                todo = [s for s in await verdicts.unchecked(self.store)
                        if self.store.blobs.has(s)]
                if todo:
                    now = self.clock() + await self.store.hub_skew_ms()
                    trust = await asyncio.to_thread(box_trust, config)
                    self.checked += len(await check_blobs(self.store, todo, trust,
                                                          self.verifier, now))
                    continue
            except SigningConfigError as exc:
                log.error("signatures not checked: %s", exc)
                wait = CONFIG_RETRY_S
            await pause(wait, self.changed.next())
