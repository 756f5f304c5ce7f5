"""Signature checks at the hub: every PDF a sender uploads gets a verdict, in the background.

A completed blob is routed first (:mod:`gateway.hub.blob_handlers`) and only then is this
checker woken; it verifies the PDF in the sandboxed worker of a hub-owned :class:`Verifier`
and keeps the verdict for the province's "share digitally signed" figure. Nothing waits for
it: a hostile PDF costs the worker a deadline and ends as ``unreadable``, the document is
delivered all the same. At start-up it checks every uploaded PDF without a verdict (a crash
between upload and check, documents from before this was wired).

Trust is the hub's configuration (``hub.json``: ``trust_roots``, a PEM bundle, and
``trust_crls``, a list of CRL files; relative paths are under the hub's directory), read again
for each batch so a replaced bundle applies at once. The hub fetches nothing: revocation is
checked against the CRL files it has, and without a bundle every signature's root is
untrusted. A bundle that cannot be read is logged and tried again later. The bundle is also
handed to the boxes: stored as a blob, named in each sync reply's config (docs/protocol.md §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gateway.model import Problem, Refused
from gateway.protocol.messages import TrustBundle
from gateway.signing import TrustConfig, Verifier, VerifyLimits, verify_pdf_async
from gateway.signing.errors import SigningConfigError
from gateway.signing.wording import summary
from gateway.store.blobs import BlobStore
from gateway.store.hub.documents import HubStore

log = logging.getLogger("gateway.hub.signatures")
CONFIG_RETRY_S = 300.0  # a broken trust bundle is looked at again this often


@dataclass
class HubSignatures:
    """The hub's trust settings and the checker's wake-up; ``checked`` counts verdicts kept,
    ``idle`` is set while the checker waits with nothing to do (tests and snapshots use it)."""

    roots: Path | None = None
    crls: tuple[Path, ...] = ()
    limits: VerifyLimits = field(default_factory=VerifyLimits)
    checked: int = 0
    bundle: TrustBundle | None = None  # the roots as a blob every box may read (sync config)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def from_settings(cls, root: Path, settings: Mapping[str, object]) -> HubSignatures:
        roots, crls = settings.get("trust_roots"), settings.get("trust_crls", [])
        if roots is not None and not (isinstance(roots, str) and roots):
            raise _bad("trust_roots", "đường dẫn một tệp", "a file path")
        if not isinstance(crls, list) or not all(isinstance(c, str) and c for c in crls):
            raise _bad("trust_crls", "danh sách đường dẫn tệp", "a list of file paths")
        return cls(None if roots is None else root / roots, tuple(root / c for c in crls))

    def publish(self, blobs: BlobStore) -> None:
        """Stores the roots bundle as a blob and names it in every sync reply's config, so the
        boxes check signatures against the province's roots. Read at start-up: a changed
        bundle reaches the boxes after a restart (the hub's own checks use it at once)."""
        if self.roots is None:
            self.bundle = None
            return
        sha, size = blobs.put_bytes(self.trust().roots_pem)
        self.bundle = TrustBundle(sha, size)

    def readable_by_all(self, sha256: str) -> bool:
        """The one blob any enrolled box may download without holding it: the trust bundle
        (public certificates, nothing secret; every box needs it)."""
        return self.bundle is not None and self.bundle.sha256 == sha256

    def stored(self) -> None:
        """A blob was uploaded whole: if it is a PDF it wants a verdict."""
        self.idle.clear()
        self.wake.set()

    def trust(self) -> TrustConfig:
        return TrustConfig.from_files(self.roots, self.crls, allow_fetching=False)

    async def run(self, store: HubStore, verifier: Verifier) -> None:
        """Checks what has no verdict, then sleeps until woken (forever, until cancelled)."""
        while True:
            self.wake.clear()
            wait: float | None = None
            try:
                if await self._check_batch(store, verifier):
                    continue
            except SigningConfigError as exc:
                log.error("signatures not checked: %s", exc)
                wait = CONFIG_RETRY_S
            except Exception:  # the checker must outlive a bad moment of the database
                log.exception("signature check failed")
                wait = CONFIG_RETRY_S
            if not self.wake.is_set():  # woken meanwhile: not idle
                self.idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    async def _check_batch(self, store: HubStore, verifier: Verifier) -> bool:
        todo = [s for s in await store.signatures.unchecked() if store.blobs.has(s)]
        if not todo:
            return False
        trust = await asyncio.to_thread(self.trust)
        for sha in todo:
            now = store.clock()
            verdict = await verify_pdf_async(store.blobs.path(sha), trust, verifier=verifier,
                                             moment=datetime.fromtimestamp(now / 1000, UTC))
            await store.signatures.put(sha, verdict.to_json(), verdict.has_valid_trusted, now)
            log.info("signatures of %s: %s", sha[:12], summary(verdict))
            self.checked += 1
        return True


def _bad(key: str, want_vi: str, want_en: str) -> Refused:
    return Refused(Problem("hub.config", f"hub.json: '{key}' phải là {want_vi}.",
                           f"hub.json: '{key}' must be {want_en}."))
