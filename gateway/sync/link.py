"""The engine's seam to the hub: what the sync engine asks of a link, and how a link fails.

:class:`gateway.sync.client.SyncClient` is given a :class:`HubLink`: in a box the aiohttp
:class:`gateway.sync.transport.HubClient` over mutual TLS, in scheduling tests the in-memory
:class:`gateway.testbed.fake_hub.FakeHub`. Nothing here imports a network library.

Failures say whether they concern the link or one blob, because only the second may count
towards a document's dead letter (a link that is down for a week dead-letters nothing)::

    HubError (gateway.errors.GatewayError)
    ├── HubUnavailable   the link is down, the hub restarts or is busy; the data is fine
    │   └── HubFault     the hub answered this request with a server error (5xx but 502/504):
    │                    for a blob request it concerns the documents of that blob
    ├── BlobRejected     422: every byte arrived and they did not match the digest
    └── HubRefused       the hub said no (4xx); its status and reason are kept
        ├── DictRefused  … to the dictionary an upload named (409): send without one
        └── ResumeRefused … to going on with a frame it no longer holds (409): send it whole
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import GatewayError
from gateway.protocol.crossdoc import Reference
from gateway.protocol.frame_resume import HeldPiece
from gateway.protocol.wire import SyncReply, SyncRequest


class HubError(GatewayError):
    """The hub could not be asked, or it said no; ``kind`` names why for the clerk (a key of
    :data:`gateway.model.link.REASONS`)."""

    kind = "network"
    blob = ""
    """The blob an upload's answer concerns (set by :meth:`HubLink.upload`: in a chained
    request, docs/protocol.md §4, the one the hub was at); "" for any other request."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class HubUnavailable(HubError):
    """Transient: the link is down, the hub is restarting or busy."""


class HubFault(HubUnavailable):
    """The hub answered with a server error; ``status`` is the HTTP status."""

    kind = "server"

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}".strip())
        self.status = status


class BlobRejected(HubError):
    """The hub received every byte of a blob and they did not match its digest (422): the
    sender's copy may be damaged, or the bytes were changed on the way."""


class HubRefused(HubError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"hub refused ({status}): {reason}",
                         "rejected" if status in (401, 403) else "refused")
        self.status = status
        self.reason = reason


class DictRefused(HubRefused):
    """The hub will not decode this upload against the dictionary it names (409 with
    ``Upload-Dict-Refused``): the blob goes again without one; nothing was stored."""


class ResumeRefused(HubRefused):
    """The hub holds no such piece of the frame an upload went on with (409 with
    ``Upload-Dict-Refused: resume``): the frame goes whole; nothing was stored."""


@dataclass(frozen=True)
class UploadResult:
    """How much of a blob the hub holds, and whether it is complete and verified; after an
    upload, ``blob`` names that blob (the one the hub was at in a chained request, §4)."""

    offset: int
    complete: bool
    news: str = ""  # the hub's X-Sync-News after this request ("" from an older hub)
    blob: str = ""


class HubLink(Protocol):
    """What the sync engine does with the hub (docs/protocol.md §3–§5)."""

    async def sync(self, req: SyncRequest, seen: str = "") -> SyncReply:
        """``POST /v1/sync``: envelopes, acks and statuses out; needs, inbox, receipts in.
        ``seen`` names the inbox the box already holds (X-Sync-Seen, docs/protocol.md §3): a
        long-poll waits while the hub has no other inbox for it."""
        ...

    async def head(self, sha256: str) -> UploadResult:
        """How much of a blob the hub holds: asked after a cut, before sending more."""
        ...

    news: str
    """The X-Sync-News of the last sync reply: the hub's inbox mark (docs/protocol.md §3), ""
    from a hub that does not send it (then the box long-polls during uploads as before)."""

    upload_dict_max: int
    """The longest dictionary (§7) the hub said it decodes against; 0 for none (an older hub)."""

    upload_chain: bool
    """Whether the hub's last sync reply with needs said it takes chained uploads (§4)."""

    upload_recode: bool
    """Whether that reply offered recoded frames with the rules and zlib of ours (§7)."""

    upload_dict_refs: int
    """How many references one dictionary may name, as that reply said (1 from an older hub)."""

    upload_resume: bool
    """Whether that reply said the hub goes on with frames a cut interrupted (§4)."""

    frames_held: dict[str, HeldPiece]
    """The pieces of interrupted frames the hub said it holds, by blob: from the last sync
    reply, and each ``HEAD`` since; an upload's body, as it starts, takes its blob's out."""

    async def upload(self, sha256: str, offset: int, size: int, frames: AsyncIterator[bytes],
                     references: tuple[Reference, ...] = (),
                     recode: bool = False, resume: HeldPiece | None = None) -> UploadResult:
        """Streams frames from ``offset``, made against ``references`` if any (DictRefused
        when the hub will not use it), perhaps chained on into other blobs (§4), recoded
        frames among them and dictionaries expanded if ``recode``; ``resume``: the body
        starts inside the frame at ``offset``, after the piece the hub holds (ResumeRefused
        when it does not). Returns what the hub holds afterwards of the blob it names. Its
        answers about a blob (HubFault, HubRefused, BlobRejected) name that blob in ``blob``."""
        ...

    def download(self, sha256: str, offset: int, limit: int,
                 frame: int) -> AsyncIterator[bytes]:
        """Yields verified payloads of up to ``limit`` bytes from ``offset``."""
        ...

    async def close(self) -> None:
        ...
