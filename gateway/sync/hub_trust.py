"""The hub's trust bundle on the box: fetched when the sync config names a new one, installed
atomically in the data directory, used for signature checks unless the box's own config names
a bundle (``signing.trust.roots``, an override for a box outside the province's scheme).

The bundle is a blob like any other: the downloader fetches it through the usual resumable,
verified download path (:mod:`gateway.sync.downloads`), then :meth:`HubTrust.install` copies
its bytes to ``trust/hub-roots.pem`` with a rename, so a power cut leaves the old bundle or
the new one, and the signature checker then makes the verdicts of signed PDFs again. The blob
itself is left to the blob store's sweep.
"""

from __future__ import annotations

import hashlib
import logging

from gateway.protocol.wire import TrustBundle
from gateway.store.blobs import BlobStore
from gateway.store.layout import Layout, write_atomic

log = logging.getLogger("gateway.signing")


class HubTrust:
    def __init__(self, layout: Layout) -> None:
        self.path = layout.hub_trust
        self.wanted: TrustBundle | None = None
        self.installed = _digest_of(layout)  # sha256 of the bundle in place, if any

    def offered(self, bundle: TrustBundle | None) -> bool:
        """The hub's current bundle (None: it has none, the installed one stays); True when
        it is new here and must be fetched."""
        if bundle is None or bundle == self.wanted:
            return False
        self.wanted = bundle
        return self.pending() is not None

    def pending(self) -> TrustBundle | None:
        """The bundle to fetch or install, if the hub named one that is not in place."""
        wanted = self.wanted
        return None if wanted is None or wanted.sha256 == self.installed else wanted

    def install(self, blobs: BlobStore) -> None:
        """Puts the downloaded (hence verified) bundle in place."""
        wanted = self.pending()
        if wanted is None or not blobs.has(wanted.sha256):
            return
        self.path.parent.mkdir(mode=0o755, exist_ok=True)
        write_atomic(self.path, blobs.path(wanted.sha256).read_bytes())
        self.installed = wanted.sha256
        log.info("trust roots from the hub installed (%s)", wanted.sha256[:12])


def _digest_of(layout: Layout) -> str | None:
    try:
        return hashlib.sha256(layout.hub_trust.read_bytes()).hexdigest()
    except OSError:
        return None
