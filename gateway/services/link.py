"""The link to the province as a clerk reads it: one state and one sentence, for both screens.

The sync daemon publishes what it knows in the store (:mod:`gateway.store.status`): the last
completed exchange, and while the hub cannot be reached, since when, why and when it tries
again. The TUI's link line and ``gateway status`` both say it with :func:`link_head`, so the
two never disagree. Pure once the marks are read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from gateway.model.link import reason_words
from gateway.store.status import SyncMarks

# The daemon completes an exchange at least every long poll (25 s) while the link is up and
# publishes a failure at once; no news for this long means the daemon is not running.
STALE_MS = 90_000


class Link(enum.Enum):
    CONNECTED = "connected"
    RETRYING = "retrying"  # the daemon failed to reach the hub and is trying again
    STALE = "stale"  # no news from the daemon: it is stopped or stuck
    NEVER = "never"
    UNCONFIGURED = "unconfigured"


@dataclass(frozen=True)
class LinkView:
    state: Link
    last_sync_ms: int | None
    down_since_ms: int | None = None
    next_try_ms: int | None = None
    reason: str | None = None


def link_view(marks: SyncMarks, hub_configured: bool, now_ms: int) -> LinkView:
    if not hub_configured:
        return LinkView(Link.UNCONFIGURED, marks.last_sync_ms)
    if marks.last_error is not None:
        return LinkView(Link.RETRYING, marks.last_sync_ms, marks.last_error_ms,
                        marks.next_try_ms, marks.link_reason)
    if marks.last_sync_ms is None:
        return LinkView(Link.NEVER, None)
    stale = now_ms - marks.last_sync_ms > STALE_MS
    return LinkView(Link.STALE if stale else Link.CONNECTED, marks.last_sync_ms)


def hhmm(ms: int) -> str:
    """Local wall time of day, as the box's clock shows it."""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%H:%M")


def ago(age_ms: int, lang: str) -> str:
    minutes = max(age_ms, 0) // 60_000
    en = lang == "en"
    if minutes < 1:
        return "just now" if en else "vừa xong"
    if minutes < 60:
        return f"{minutes} min ago" if en else f"{minutes} phút trước"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago" if en else f"{minutes // 60} giờ trước"
    return f"{minutes // 1440} days ago" if en else f"{minutes // 1440} ngày trước"


def link_head(view: LinkView, now_ms: int, lang: str) -> str:
    """'Mất kết nối với tỉnh từ 14:05 — thử lại sau 30 giây: máy chủ tỉnh không nhận kết nối
    (máy chủ tắt hoặc mất mạng)', or 'Đang kết nối với tỉnh — đồng bộ lần cuối vừa xong'."""
    en = lang == "en"
    last = ago(now_ms - view.last_sync_ms, lang) if view.last_sync_ms is not None else ""
    kept = (" — documents are kept and will be sent when the link is back" if en
            else " — văn bản vẫn được lưu và sẽ tự gửi khi có mạng")
    if view.state is Link.RETRYING:
        since = hhmm(view.down_since_ms) if view.down_since_ms is not None else "?"
        wait_s = -(-((view.next_try_ms or now_ms) - now_ms) // 1000)
        if en:
            retry = f"retrying in {wait_s} s" if wait_s > 0 else "retrying now"
            return f"No link to the province since {since} — {retry}: " \
                   f"{reason_words(view.reason, lang)}"
        retry = f"thử lại sau {wait_s} giây" if wait_s > 0 else "đang thử lại"
        return f"Mất kết nối với tỉnh từ {since} — {retry}: {reason_words(view.reason, lang)}"
    if view.state is Link.CONNECTED:
        return f"Connected to the province — last sync {last}" if en else \
            f"Đang kết nối với tỉnh — đồng bộ lần cuối {last}"
    if view.state is Link.STALE:
        return (f"No news from the sync service (last sync {last}); is it running?{kept}"
                if en else f"Không có tin từ dịch vụ đồng bộ (đồng bộ lần cuối {last}); dịch "
                f"vụ có đang chạy không?{kept}")
    if view.state is Link.NEVER:
        return ("Not connected to the province yet — documents are kept and will be sent "
                "when the link is up" if en else "Chưa kết nối được với tỉnh lần nào — văn bản "
                "vẫn được lưu và sẽ tự gửi khi có mạng")
    return ("This box has no province link configured — documents are kept; call the IT team"
            if en else "Máy chưa được cài đặt kết nối với tỉnh — văn bản vẫn được lưu; hãy báo "
            "cán bộ CNTT")
