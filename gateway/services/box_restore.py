"""A replacement box takes back its commune's recent documents from the hub.

``gateway init … --token T --restore DAYS`` (or ``gateway enroll … --restore DAYS``): once the
new box is enrolled, it asks the hub (``POST /v1/restore``, its new certificate) for what the
commune received and sent in the last ``DAYS`` days, page by page, and stores it
(:mod:`gateway.store.restore`); the daemon then fetches the attachments. The hub's answer is
read with limits like any other: size, item counts, every envelope validated and checked to
concern this agency.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gateway.model import Envelope, Problem, Refused, envelope_from_dict
from gateway.model.document import DEFAULT_LIMITS
from gateway.model.safe_text import safe_text
from gateway.protocol.limits import (
    MAX_INT,
    MAX_RESTORE_BODY,
    MAX_RESTORE_DAYS,
    MAX_RESTORE_PAGE,
    MAX_STATUSES_PER_DOC,
)
from gateway.security.identity import load_identity
from gateway.security.tls import client_context
from gateway.services.box import read_config, wake_daemon, wall_ms
from gateway.store.local import LocalStore
from gateway.store.restore import Received, Sent, restore_received, restore_sent

# Every recipient's "at hub", "delivered" and at most MAX_STATUSES_PER_DOC statuses.
MAX_RECEIPTS_PER_DOC = DEFAULT_LIMITS.max_recipients * (MAX_STATUSES_PER_DOC + 2)


@dataclass(frozen=True)
class Restored:
    received: int  # documents new to this box
    sent: int
    pages: int


def _bad(detail: str) -> Refused:
    return Refused(Problem("restore.failed",
        f"Không lấy lại được văn bản từ máy chủ tỉnh: {detail}. Chạy lại lệnh khi có mạng.",
        f"Could not take the documents back from the hub: {detail}. Run it again when the "
        "link is up."))


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT:
        raise _bad(f"malformed answer ({what})")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > 1000:
        raise _bad(f"malformed answer ({what})")
    return value


def _envelope(value: object) -> Envelope:
    try:
        return envelope_from_dict(value)
    except Refused as exc:
        raise _bad(f"malformed answer ({exc.problems[0].en[:80]})") from None


def parse_received(items: list[object], agency: str) -> list[Received]:
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad("malformed answer (item)")
        env = _envelope(item.get("envelope"))
        if agency not in env.recipients:
            raise _bad("the hub sent a document not addressed to this box")
        out.append(Received(_int(item.get("seq"), "seq"), env,
                            _int(item.get("routed_ms"), "routed_ms"),
                            _str(item.get("status"), "status")[:2]))
    return out


def parse_sent(items: list[object], agency: str) -> list[Sent]:
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad("malformed answer (item)")
        env = _envelope(item.get("envelope"))
        if env.sender != agency:
            raise _bad("the hub sent a document this box did not issue")
        raw = item.get("receipts")
        if not isinstance(raw, list) or len(raw) > MAX_RECEIPTS_PER_DOC:
            raise _bad("malformed answer (receipts)")
        receipts = []
        for r in raw:
            if not isinstance(r, list) or len(r) != 4:
                raise _bad("malformed answer (receipt)")
            receipts.append((_str(r[0], "to"), _str(r[1], "event"), _int(r[2], "at_ms"),
                             _str(r[3], "note")))
        out.append(Sent(env, _int(item.get("accepted_ms"), "accepted_ms"), tuple(receipts)))
    return out


async def _page(session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext,
                body: dict[str, object]) -> tuple[list[object], dict[str, object]]:
    """One page: its items and the whole answer (``next``, ``rcursor``)."""
    try:
        async with session.post(f"{url}/v1/restore", json=body, ssl=ctx) as resp:
            raw = await resp.content.read(MAX_RESTORE_BODY + 1)
            if resp.status != 200:
                reason = safe_text(raw[:200].decode("utf-8", "replace").strip())
                raise _bad(f"{resp.status} {reason}")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise _bad(f"cannot reach the hub ({type(exc).__name__})") from None
    if len(raw) > MAX_RESTORE_BODY:
        raise _bad("answer too large")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad("malformed answer (not JSON)") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(items, list) or len(items) > MAX_RESTORE_PAGE:
        raise _bad("malformed answer (items)")
    return items, data


async def restore_box(data: str, days: int) -> Restored:
    """Takes back what the commune received and sent in the last ``days`` days."""
    if not 1 <= days <= MAX_RESTORE_DAYS:
        raise Refused(Problem("restore.days", f"Số ngày phải từ 1 đến {MAX_RESTORE_DAYS}.",
                              f"Days must be from 1 to {MAX_RESTORE_DAYS}."))
    layout, config = read_config(data)
    identity = load_identity(Path(data))
    if identity is None or not config.hub:
        raise Refused(Problem(
            "restore.not_enrolled", "Máy chưa đăng ký với máy chủ tỉnh: --restore cần đi kèm "
            "--hub và --token (hoặc dùng 'gateway enroll … --restore').",
            "This box is not enrolled: --restore needs --hub and --token (or use 'gateway "
            "enroll … --restore')."))
    ctx = client_context(identity.ca_path, identity.cert_path, identity.key_path)
    store = await LocalStore.open(layout, wall_ms)
    counts = {"in": 0, "out": 0}
    pages = 0
    try:
        timeout = aiohttp.ClientTimeout(total=None, connect=20, sock_read=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for kind in ("in", "out"):
                offset: int | None = 0
                while offset is not None:
                    items, page = await _page(session, config.hub.rstrip("/"), ctx,
                                              {"kind": kind, "days": days, "offset": offset})
                    pages += 1
                    if kind == "in":
                        counts[kind] += await restore_received(
                            store, parse_received(items, config.agency))
                    else:
                        counts[kind] += await restore_sent(
                            store, parse_sent(items, config.agency),
                            _int(page.get("rcursor"), "rcursor"))
                    following = page.get("next")
                    if following is not None and _int(following, "next") <= offset:
                        raise _bad("malformed answer (next)")  # a page must move forward
                    offset = following if isinstance(following, int) else None
    finally:
        await store.close()
    wake_daemon(layout)
    return Restored(counts["in"], counts["out"], pages)
