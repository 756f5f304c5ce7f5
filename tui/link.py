"""The plain-words link and queue indicator, from what the daemon published (pure, no Textual).

The sync daemon is another process; all the TUI can see is what it wrote to the store: the
last completed exchange, the current link problem with its reason and next try, and the
queue counts. The link sentence is the one ``gateway status`` prints
(:mod:`gateway.services.link`); the clerk must never have to wonder whether a document left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.services.link import Link, LinkView, link_head
from tui.i18n import lang, t

SKEW_WARN_MS = 5 * 60_000

__all__ = ["Link", "LinkInfo", "describe"]


@dataclass(frozen=True)
class LinkInfo:
    """The daemon's published link state, its clock skew and the queue counts."""

    view: LinkView
    skew_ms: int
    counts: Mapping[str, int]


def describe(info: LinkInfo, now_ms: int) -> tuple[Link, str, str]:
    """The state, the link sentence and the queue sentence, e.g. 'Đang kết nối với tỉnh —
    đồng bộ lần cuối 2 phút trước' and '3 văn bản chờ gửi'."""
    state = info.view.state
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
    return state, link_head(info.view, now_ms, lang()), " — ".join(parts)
