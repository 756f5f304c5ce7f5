"""``gateway demo``: a province on one machine, three communes behind bad links, live.

Every number printed comes from the running product: the proxies count bytes on the wire, the
gateways' stores say what arrived, and the summary re-reads every received attachment and
compares its sha256 with the file that was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gateway.linkemu import LinkProfile
from gateway.model import Directory, State
from gateway.model.delivery import RANK
from gateway.testbed.bed import Testbed
from gateway.testbed.samples import text_pdf, write_samples

COMMUNES = ("000.00.31.H35", "000.00.32.H35", "000.00.33.H35")
URGENT_SUBJECT = "V/v ứng phó khẩn cấp với lũ quét"


@dataclass
class Sent:
    doc_id: str
    sender: str
    recipients: tuple[str, ...]
    path: Path
    sha256: str
    urgent: bool
    queued_at: float
    arrived_at: float | None = None


@dataclass(frozen=True)
class DemoResult:
    ok: bool
    documents: int
    deliveries: int
    raw_bytes: int
    wire_bytes: int
    elapsed_s: float
    limit_s: float
    urgent_latency_s: float | None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Demo:
    def __init__(self, root: Path, profile: LinkProfile, seed: int, out: TextIO,
                 scale: float = 1.0, lang: str = "vi") -> None:
        self.root = root
        self.lang = lang
        self.profile = profile
        self.seed = seed
        self.out = out
        self.scale = scale
        self.tb = Testbed(root / "province", profile, seed=seed, wait_s=10)
        self.sent: list[Sent] = []
        self.names = Directory.sample()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def t(self, vi: str, en: str) -> str:
        return en if self.lang == "en" else vi

    async def queue(self, sender: str, to: tuple[str, ...], path: Path, urgency: str) -> None:
        doc_id = await self.tb.send(sender, list(to), [path], urgency=urgency,
                                    subject=f"{path.stem} ({self.names[sender].name})")
        digest = await asyncio.to_thread(_sha256, path)
        self.sent.append(Sent(doc_id, sender, to, path, digest, urgency == "hoa-toc",
                              time.monotonic()))

    async def run(self, stop: asyncio.Event) -> DemoResult:
        self.say(self.t(f"Tỉnh mẫu tại {self.root} — đường truyền: {self.profile.describe()}",
                    f"Sample province in {self.root} — link: {self.profile.describe()}"))
        await self.tb.start(COMMUNES)
        started = time.monotonic()
        files = await asyncio.to_thread(write_samples, self.root / "samples", self.seed, 11,
                                        scale=self.scale)
        a, b, c = COMMUNES
        for i, path in enumerate(files[:9]):  # bulk, each commune to the next
            sender = COMMUNES[i % 3]
            await self.queue(sender, (COMMUNES[(i + 1) % 3],), path, "thuong")
        await self.queue(b, (a, c), files[9], "khan")  # broadcast to every other commune
        await self.queue(c, (a, b), files[10], "thuong")
        await asyncio.sleep(1.0)  # the Hỏa tốc document is queued behind the bulk upload
        urgent = self.root / "samples" / "hoa-toc.pdf"
        await asyncio.to_thread(urgent.write_bytes,
                                text_pdf(random.Random(self.seed), URGENT_SUBJECT, 60))
        await self.queue(a, (b,), urgent, "hoa-toc")
        self.say(self.t(f"Đã xếp hàng {len(self.sent)} văn bản ({self._raw_up() // 1024} KB).",
                    f"Queued {len(self.sent)} documents ({self._raw_up() // 1024} KB)."))
        while not stop.is_set() and not await self._progress():
            await _sleep_or_stop(stop, 2.0)
        elapsed = time.monotonic() - started
        return await self._summary(elapsed)

    def _raw_up(self) -> int:
        return sum(s.path.stat().st_size for s in self.sent)

    async def _progress(self) -> bool:
        now = time.monotonic()
        inboxes = {a: {d.envelope.id for d in await self.tb.inbox(a)} for a in COMMUNES}
        for s in self.sent:
            if s.arrived_at is None and all(s.doc_id in inboxes[r] for r in s.recipients):
                s.arrived_at = now
        finished = True
        parts = []
        for agency in COMMUNES:
            want = [s for s in self.sent if agency in s.recipients]
            got = sum(1 for s in want if s.doc_id in inboxes[agency])
            outbox = await self.tb.outbox(agency)
            acked = sum(1 for d in outbox if all(
                RANK.get(x.state, 99) >= RANK[State.DELIVERED] for x in d.deliveries))
            finished &= got == len(want) and acked == len(outbox)
            stats = self.tb.nodes[agency].proxy.stats
            parts.append(f"{self.names[agency].name[:22]}: ↑{acked}/{len(outbox)} "
                         f"↓{got}/{len(want)} ({stats.bytes_up // 1024}/"
                         f"{stats.bytes_down // 1024} KB, {stats.cuts} "
                         f"{self.t('lần mất mạng', 'cuts')})")
        self.say(f"[{now - self.sent[0].queued_at:6.1f}s] " + " | ".join(parts))
        return finished

    async def _summary(self, elapsed: float) -> DemoResult:
        ok = True
        for s in self.sent:
            for r in s.recipients:
                docs = {d.envelope.id: d for d in await self.tb.inbox(r)}
                doc = docs.get(s.doc_id)
                store = self.tb.gateway(r).store
                ok &= doc is not None and all(
                    att.sha256 == s.sha256 and store.blobs.verify(att.sha256)
                    for att in doc.envelope.attachments)
        wire = sum(n.proxy.stats.bytes_up + n.proxy.stats.bytes_down
                   for n in self.tb.nodes.values())
        raw = sum(s.path.stat().st_size * (1 + len(s.recipients)) for s in self.sent)
        limit = max(self._limit(agency) for agency in COMMUNES)
        urgent = next((s for s in self.sent if s.urgent), None)
        latency = (urgent.arrived_at - urgent.queued_at
                   if urgent and urgent.arrived_at else None)
        result = DemoResult(ok, len(self.sent), sum(len(s.recipients) for s in self.sent),
                            raw, wire, elapsed, limit, latency)
        self.say(format_summary(result, self.lang))
        return result

    def _limit(self, agency: str) -> float:
        """The link's physical limit for this commune: bytes ÷ rate, plus time it was down."""
        up = sum(s.path.stat().st_size for s in self.sent if s.sender == agency)
        down = sum(s.path.stat().st_size for s in self.sent if agency in s.recipients)
        p = self.profile
        up_s = up * 8 / p.up_bps if p.up_bps else 0.0
        down_s = down * 8 / p.down_bps if p.down_bps else 0.0
        return max(up_s, down_s) + self.tb.nodes[agency].proxy.stats.blackout_seconds

    async def close(self) -> None:
        await self.tb.stop()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def format_summary(r: DemoResult, lang: str) -> str:
    def _t(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    ratio = f"{r.elapsed_s / r.limit_s:.2f}×" if r.limit_s else _t("không giới hạn", "unlimited")
    lines = [
        "",
        _t("Tổng kết", "Summary"),
        f"  {_t('Văn bản', 'Documents')}: {r.documents} ({r.deliveries} "
        f"{_t('lượt nhận', 'deliveries')}), "
        + (_t("tất cả nguyên vẹn (sha256 khớp)", "all intact (sha256 match)") if r.ok
           else _t("CÓ VĂN BẢN THIẾU HOẶC HỎNG", "SOME DOCUMENTS MISSING OR DAMAGED")),
        f"  {_t('Byte trên đường truyền', 'Bytes on the wire')}: {r.wire_bytes / 1e6:.2f} MB "
        f"{_t('so với dữ liệu gốc', 'vs raw')} {r.raw_bytes / 1e6:.2f} MB "
        f"({r.wire_bytes / max(1, r.raw_bytes):.2f}×)",
        f"  {_t('Thời gian', 'Time')}: {r.elapsed_s:.1f} s, "
        f"{_t('giới hạn vật lý của đường truyền', 'physical limit of the link')}: "
        f"{r.limit_s:.1f} s ({ratio})",
    ]
    if r.urgent_latency_s is not None:
        lines.append(f"  {_t('Văn bản Hỏa tốc đến sau', 'Hỏa tốc document arrived after')}: "
                     f"{r.urgent_latency_s:.1f} s")
    return "\n".join(lines)


async def run(root: Path, profile: LinkProfile, seed: int, out: TextIO, *, once: bool,
              stop: asyncio.Event, scale: float = 1.0, lang: str = "vi",
              on_ready: Callable[[Demo], None] | None = None) -> DemoResult:
    demo = Demo(root, profile, seed, out, scale, lang)
    try:
        result = await demo.run(stop)
        if on_ready is not None:
            on_ready(demo)
        if not once and not stop.is_set():
            data = demo.tb.nodes[COMMUNES[1]].data
            demo.say(demo.t(f"Tỉnh mẫu vẫn chạy; thử: gateway list --data {data} --inbox"
                        "  (Ctrl-C để dừng)",
                        f"The province keeps running; try: gateway list --data {data} "
                        "--inbox  (Ctrl-C stops)"))
            await stop.wait()
        return result
    finally:
        await demo.close()
