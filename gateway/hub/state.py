"""What the hub's handlers share, reachable through a typed application key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from gateway.hub.axis_settings import AxisSettings
from gateway.hub.held_frames import HeldFrames
from gateway.hub.notify import Notifier
from gateway.hub.signatures import HubSignatures
from gateway.hub.status_policy import StatusRate
from gateway.protocol.compression import SyncCompressor
from gateway.protocol.limits import MAX_FRAME_RAW
from gateway.security.ca import CertificateAuthority
from gateway.store.hub.documents import HubStore


@dataclass
class UploadSlot:
    """One blob's upload: a lock so two requests never append at once, and the transport of
    the request holding it, so a gateway that reconnected after a cut can evict its own
    half-dead previous request instead of waiting for it to time out."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holder: asyncio.Transport | None = None
    users: int = 0  # requests holding or waiting for the lock: the slot is dropped at 0


@dataclass
class HubState:
    store: HubStore
    ca: CertificateAuthority | None  # None: the CA key is offline (gateway/security/offline_ca)
    compressor: SyncCompressor = field(default_factory=SyncCompressor)
    notifier: Notifier = field(default_factory=Notifier)
    uploads: dict[str, UploadSlot] = field(default_factory=dict)
    frame_max: int = MAX_FRAME_RAW
    max_wait_s: int = 60
    reserve_bytes: int = 100 * 2**20  # free disk below which no new document is accepted
    requests: dict[str, int] = field(default_factory=dict)
    lost_bytes: int = 0  # upload bytes that crossed the link but died in a cut mid-frame
    held_frames: HeldFrames = field(default_factory=HeldFrames)  # … or were kept to go on with
    status_rate: StatusRate = field(default_factory=StatusRate)
    refusals: dict[str, int] = field(default_factory=dict)  # content refused, by reason
    body_idle_s: float = 60.0  # a request body silent this long is given up (slow clients)
    progress: dict[str, int] = field(default_factory=dict)  # agency: last blob download (ms)
    signatures: HubSignatures = field(default_factory=HubSignatures)  # PDF verdicts, KPI
    axis: AxisSettings | None = None  # the link to the national axis, when configured
    cert_expiry_s: dict[str, int] = field(default_factory=dict)  # "ca"/"server": not-after
    ca_pem: bytes = b""  # the CA certificate, served at /v1/ca even when its key is offline
    restore_days: int = 90  # how far back a replacement box may ask (hub.json restore_days)
    epoch: str = ""  # this hub's history id (gateway/store/hub/epoch.py), read at start

    def count(self, name: str) -> None:
        self.requests[name] = self.requests.get(name, 0) + 1

    def refusal(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1


HUB = web.AppKey("hub", HubState)
