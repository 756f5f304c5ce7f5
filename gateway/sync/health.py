"""The box's own health, for a technician on site: loopback HTTP and a note on the boot card.

``gateway run`` serves, on the configured address (loopback by default, port
:data:`DEFAULT_HEALTH_PORT`): ``/healthz`` (the process answers; costs nothing), ``/readyz``
(the store answers a query: 200, else 503) and ``/status`` (JSON: link, queue, last sync,
last error, disk, clock skew, version). The same facts, in plain Vietnamese, go to
``commune-status.txt``, rewritten atomically and only when its text changes (an SD card wears
with every write). On the appliance the note is written in the daemon's runtime directory and a
root unit copies it to the boot partition, which any PC can read off the SD card
(``systemd/commune-gateway-note.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from gateway import __version__
from gateway.store.layout import write_atomic
from gateway.sync.client import SyncClient

DEFAULT_HEALTH_PORT = 8473  # unassigned by IANA; nothing else on the image listens there
STATUS_EVERY_S = 5.0  # a few cheap counts; the file is written only when its text changes
READY_TIMEOUT_S = 5.0
VN = timedelta(hours=7)
DISK_LOW_BYTES = 500 * 2**20  # as the hub's fleet view judges it
log = logging.getLogger("gateway.sync")
CLIENT = web.AppKey("client", SyncClient)


@dataclass(frozen=True)
class BoxStatus:
    online: bool
    last_sync_ms: int | None  # box clock corrected by the hub's (the box has no RTC)
    last_error: str
    queue: int
    dead: int
    inbox_downloading: int
    disk_free: int
    skew_ms: int
    version: str


async def status(client: SyncClient) -> BoxStatus:
    counts = await client.store.counts()
    skew = await client.store.hub_skew_ms()
    stats = client.stats
    return BoxStatus(
        online=stats.online, last_sync_ms=stats.last_sync_ms + skew if stats.last_sync_ms
        else None, last_error=stats.last_error,
        queue=counts["outbound_pending"] + counts["outbound_accepted"],
        dead=counts["outbound_dead"], inbox_downloading=counts["inbound_downloading"],
        disk_free=client.store.blobs.free_bytes(), skew_ms=skew, version=__version__)


def _vn_time(ms: int) -> str:
    return (datetime.fromtimestamp(ms / 1000, UTC) + VN).strftime("%H:%M ngày %d/%m/%Y")


def note(s: BoxStatus, agency: str) -> str:
    """The boot-partition note: what a technician needs, in plain Vietnamese (CRLF for
    Notepad). No clock of its own: the time of writing would rewrite it every minute."""
    if s.online:
        state = "ĐANG HOẠT ĐỘNG: kết nối được với máy chủ tỉnh."
    elif s.last_sync_ms is None:
        state = "CHƯA KẾT NỐI ĐƯỢC với máy chủ tỉnh lần nào."
    else:
        state = "MẤT KẾT NỐI với máy chủ tỉnh; văn bản vẫn được lưu và sẽ gửi khi có mạng."
    lines = [
        f"Cổng văn bản xã — mã {agency} — phiên bản {s.version}",
        f"Trạng thái: {state}",
        "Lần đồng bộ cuối: " + (_vn_time(s.last_sync_ms) + " (giờ Việt Nam)"
                                if s.last_sync_ms else "chưa có"),
        f"Lỗi gần nhất: {s.last_error or 'không có'}",
        f"Văn bản chờ gửi: {s.queue}; không gửi được (cần gửi lại): {s.dead}",
        # Whole GB (MB would change, and rewrite the note, with every log line).
        f"Dung lượng trống: {s.disk_free // 2**30} GB"
        + (" — SẮP HẾT" if s.disk_free < DISK_LOW_BYTES else ""),
    ]
    if abs(s.skew_ms) > 300_000:
        lines.append(f"Đồng hồ lệch {s.skew_ms // 60_000} phút so với máy chủ tỉnh.")
    return "\r\n".join(lines) + "\r\n"


class StatusNote:
    """Keeps one note file current: writes only a changed text; a write error is logged once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = ""
        self.failed = False

    def update(self, text: str) -> None:
        if text == self.written:
            return
        try:
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as exc:
            if not self.failed:
                log.warning("cannot write %s: %s", self.path, exc)
            self.failed = True
            return
        self.written, self.failed = text, False


async def keep_note(client: SyncClient, agency: str, target: StatusNote,
                    stop: asyncio.Event) -> None:
    while not stop.is_set():
        target.update(note(await status(client), agency))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[CLIENT].store.db.ping(), READY_TIMEOUT_S)
    except (TimeoutError, OSError, RuntimeError) as exc:
        return web.Response(status=503, text=f"store not answering: {type(exc).__name__}\n")
    return web.Response(text="ready\n")


async def _status(request: web.Request) -> web.Response:
    return web.json_response(asdict(await status(request.app[CLIENT])))


async def serve(client: SyncClient, host: str, port: int) -> web.AppRunner:
    app = web.Application()
    app[CLIENT] = client
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/status", _status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
