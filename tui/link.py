"""The plain-words link and queue indicator, from the daemon's bookkeeping (pure, no Textual).

The sync daemon is another process; all the TUI can see is what it wrote to the store:
``last_sync_ms`` after each completed exchange with the hub (a long poll returns at least every
~25 s while the link is up) and the queue counts. The clerk must never have to wonder whether
a document left: the line says how fresh the link is and how many documents are still waiting.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from tui.format import ago
from tui.i18n import t

CONNECTED_MS = 90_000  # a few long polls: the link is up
UNSTEADY_MS = 10 * 60_000  # the daemon is backing off and retrying
SKEW_WARN_MS = 5 * 60_000


class Link(enum.Enum):
    CONNECTED = "connected"
    UNSTEADY = "unsteady"
    OFFLINE = "offline"
    NEVER = "never"
    UNCONFIGURED = "unconfigured"


@dataclass(frozen=True)
class LinkInfo:
    """What the store says about sync; ``last_sync_ms`` is ``None`` before the first sync."""

    last_sync_ms: int | None
    skew_ms: int
    counts: Mapping[str, int]
    hub_configured: bool


def link_state(info: LinkInfo, now_ms: int) -> Link:
    if info.last_sync_ms is None:
        return Link.NEVER if info.hub_configured else Link.UNCONFIGURED
    age = now_ms - info.last_sync_ms
    if age <= CONNECTED_MS:
        return Link.CONNECTED
    if age <= UNSTEADY_MS:
        return Link.UNSTEADY
    return Link.OFFLINE


def describe(info: LinkInfo, now_ms: int) -> tuple[Link, str, str]:
    """The state, the link sentence and the queue sentence, e.g. 'Đang kết nối với tỉnh —
    đồng bộ lần cuối 2 phút trước' and '3 văn bản chờ gửi'."""
    state = link_state(info, now_ms)
    age = ago(now_ms - info.last_sync_ms) if info.last_sync_ms is not None else ""
    head = {
        Link.CONNECTED: "link.ok", Link.UNSTEADY: "link.slow", Link.OFFLINE: "link.offline",
        Link.NEVER: "link.never", Link.UNCONFIGURED: "link.unset",
    }[state]
    parts: list[str] = []
    counts = info.counts
    pending = counts.get("outbound_pending", 0)
    parts.append(t("q.pending", n=pending) if pending else t("q.none"))
    if counts.get("outbound_dead", 0):
        parts.append(t("q.dead", n=counts["outbound_dead"]))
    if counts.get("statuses_unsent", 0):
        parts.append(t("q.statuses", n=counts["statuses_unsent"]))
    if counts.get("inbound_downloading", 0):
        parts.append(t("q.downloading", n=counts["inbound_downloading"]))
    if state is Link.CONNECTED and abs(info.skew_ms) >= SKEW_WARN_MS:
        parts.append(t("q.skew", n=abs(info.skew_ms) // 60_000))
    return state, t(head, ago=age), " — ".join(parts)
