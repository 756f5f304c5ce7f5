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
from gateway.testbed.demo_progress import CommuneProgress, header, legend, progress_line
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
    ok: bool  # every delivery that arrived is intact (all of them, unless ``stopped``)
    documents: int
    deliveries: int
    raw_bytes: int
    wire_bytes: int
    elapsed_s: float
    limit_s: float
    urgent_latency_s: float | None
    stopped: bool = False  # the person running it stopped it (Ctrl-C) before the end
    arrived: int = 0  # deliveries that arrived


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
        """Queues the documents and reports progress until all have arrived or ``stop`` is
        set (Ctrl-C), which is checked between every step."""
        self.say(self.t(f"Tỉnh mẫu tại {self.root}", f"Sample province in {self.root}"))
        self.say(self.t(f"Đường truyền: {self.profile.describe()}",
                        f"Link: {self.profile.describe()}"))
        await self.tb.start(COMMUNES)
        started = time.monotonic()
        files = await asyncio.to_thread(write_samples, self.root / "samples", self.seed, 11,
                                        scale=self.scale)
        a, b, c = COMMUNES
        plan: list[tuple[str, tuple[str, ...], Path, str]] = [
            (COMMUNES[i % 3], (COMMUNES[(i + 1) % 3],), path, "thuong")
            for i, path in enumerate(files[:9])]  # bulk, each commune to the next
        plan += [(b, (a, c), files[9], "khan"),  # broadcast to every other commune
                 (c, (a, b), files[10], "thuong")]
        for sender, to, path, urgency in plan:
            if stop.is_set():
                return await self._summary(time.monotonic() - started, stopped=True)
            await self.queue(sender, to, path, urgency)
        await _sleep_or_stop(stop, 1.0)  # the Hỏa tốc document is queued behind the bulk
        if not stop.is_set():
            urgent = self.root / "samples" / "hoa-toc.pdf"
            await asyncio.to_thread(urgent.write_bytes,
                                    text_pdf(random.Random(self.seed), URGENT_SUBJECT, 60))
            await self.queue(a, (b,), urgent, "hoa-toc")
        self.say(self.t(f"Đã xếp hàng {len(self.sent)} văn bản ({self._raw_up() // 1024} KB).",
                    f"Queued {len(self.sent)} documents ({self._raw_up() // 1024} KB)."))
        for line in [*legend(self.lang), "",
                     *header([self.names[x].name for x in COMMUNES], self.lang)]:
            self.say(line)
        finished = False
        while not stop.is_set() and not (finished := await self._progress()):
            await _sleep_or_stop(stop, 2.0)
        return await self._summary(time.monotonic() - started, stopped=not finished)

    def _raw_up(self) -> int:
        return sum(s.path.stat().st_size for s in self.sent)

    async def _progress(self) -> bool:
        now = time.monotonic()
        inboxes = {a: {d.envelope.id for d in await self.tb.inbox(a)} for a in COMMUNES}
        for s in self.sent:
            if s.arrived_at is None and all(s.doc_id in inboxes[r] for r in s.recipients):
                s.arrived_at = now
        finished = True
        cells = []
        for agency in COMMUNES:
            want = [s for s in self.sent if agency in s.recipients]
            got = sum(1 for s in want if s.doc_id in inboxes[agency])
            outbox = await self.tb.outbox(agency)
            acked = sum(1 for d in outbox if all(
                RANK.get(x.state, 99) >= RANK[State.DELIVERED] for x in d.deliveries))
            finished &= got == len(want) and acked == len(outbox)
            stats = self.tb.nodes[agency].proxy.stats
            cells.append(CommuneProgress(acked, len(outbox), got, len(want), stats.bytes_up,
                                         stats.bytes_down, stats.cuts))
        self.say(progress_line(now - self.sent[0].queued_at, cells))
        return finished

    async def _summary(self, elapsed: float, *, stopped: bool = False) -> DemoResult:
        """Re-reads every delivery that arrived and checks it against the file sent; a run
        that was stopped only counts what arrived, and says so."""
        ok = True
        arrived = 0
        for s in self.sent:
            for r in s.recipients:
                docs = {d.envelope.id: d for d in await self.tb.inbox(r)}
                doc = docs.get(s.doc_id)
                if doc is None:
                    ok &= stopped
                    continue
                arrived += 1
                store = self.tb.gateway(r).store
                ok &= all(att.sha256 == s.sha256 and store.blobs.verify(att.sha256)
                          for att in doc.envelope.attachments)
        wire = sum(n.proxy.stats.bytes_up + n.proxy.stats.bytes_down
                   for n in self.tb.nodes.values())
        raw = sum(s.path.stat().st_size * (1 + len(s.recipients)) for s in self.sent)
        limit = max(self._limit(agency) for agency in COMMUNES)
        urgent = next((s for s in self.sent if s.urgent), None)
        latency = (urgent.arrived_at - urgent.queued_at
                   if urgent and urgent.arrived_at else None)
        result = DemoResult(ok, len(self.sent), sum(len(s.recipients) for s in self.sent),
                            raw, wire, elapsed, limit, latency, stopped, arrived)
        self.say(format_stopped(result, self.lang) if stopped
                 else format_summary(result, self.lang))
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


def format_stopped(r: DemoResult, lang: str) -> str:
    """The end of a run stopped half-way: what had arrived by then, and whether it was
    intact; nothing about what was still on its way, which is neither lost nor damaged."""
    def _t(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    intact = (_t("đều nguyên vẹn (sha256 khớp)", "all intact (sha256 match)") if r.ok
              else _t("CÓ VĂN BẢN HỎNG", "SOME DOCUMENTS DAMAGED"))
    lines = ["", _t(f"Đã dừng theo yêu cầu sau {r.elapsed_s:.1f} s, trước khi chuyển xong.",
                    f"Stopped at your request after {r.elapsed_s:.1f} s, before the end.")]
    if r.deliveries:
        lines.append(_t(f"  Đã đến: {r.arrived}/{r.deliveries} lượt nhận, {intact}.",
                        f"  Arrived: {r.arrived}/{r.deliveries} deliveries, {intact}."))
    return "\n".join(lines)


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
            demo.say(demo.t("Tỉnh mẫu vẫn chạy (Ctrl-C để dừng); thử:",
                            "The province keeps running (Ctrl-C stops it); try:"))
            demo.say(f"  gateway list --data {data} --inbox")
            await stop.wait()
            demo.say(demo.t("Đã dừng theo yêu cầu.", "Stopped at your request."))
        return result
    finally:
        await demo.close()
