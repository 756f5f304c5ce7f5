"""Box-level subcommands: init, status, scrub, agencies."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gateway.commands.common import load_directory, load_directory_file, opened, wake_daemon
from gateway.commands.render import emit_json, fmt_ms
from gateway.model import AgencyCode, Directory, Problem, Refused, ui_language
from gateway.model.safe_text import safe_text
from gateway.store.layout import (
    GatewayConfig,
    Layout,
    check_hub_url,
    save_config,
    write_atomic,
)
from gateway.store.local import LocalStore
from gateway.store.repair import record_scrub, sweep_orphans
from gateway.store.status import sync_marks


def _existing_agency(layout: Layout) -> str | None:
    """The agency an existing config names; ``None`` when there is none or it is too damaged
    to say, so that ``init`` can write a fresh one (the repair its damage message suggests)."""
    try:
        existing = json.loads(layout.config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    agency = existing.get("agency") if isinstance(existing, dict) else None
    return agency if isinstance(agency, str) else None


async def init(data: str, agency: str, hub: str | None, directory_file: str | None) -> Layout:
    layout = Layout(Path(data))
    if hub is not None:
        check_hub_url(hub)
    code = AgencyCode.parse(agency)
    directory = load_directory_file(directory_file)
    if code.text not in directory:
        raise Refused(Problem("agency.unknown",
            f"Mã {code} không có trong danh bạ cơ quan.",
            f"Agency {code} is not in the directory."))
    existing = _existing_agency(layout)
    if existing not in (None, code.text):
        raise Refused(Problem("data.other_agency",
            f"Thư mục này đã thuộc cơ quan {existing}.",
            f"This data directory already belongs to {existing}."))
    layout.root.mkdir(parents=True, exist_ok=True)
    write_atomic(layout.directory, directory.to_json().encode())
    save_config(layout, GatewayConfig(agency=code.text, hub=hub))
    store = await LocalStore.open(layout, lambda: 0)
    await store.close()
    return layout


async def status(data: str, as_json: bool) -> None:
    async with opened(data) as (_, config, store):
        counts = await store.counts()
        sync = (await sync_marks(store)).recorded()
        free = store.blobs.free_bytes()
    report: dict[str, object] = {
        "agency": config.agency, "hub": config.hub, "disk_free": free,
        "reserve": config.reserve_bytes, **counts, **sync,
    }
    if as_json:
        emit_json(report)
        return
    en = ui_language() == "en"
    last = sync.get("last_sync_ms")
    lines = [
        f"{'Agency' if en else 'Cơ quan'}: {config.agency}",
        f"{'Hub' if en else 'Máy chủ tỉnh'}: {config.hub or '-'}",
        f"{'Waiting to send' if en else 'Chờ gửi'}: {counts['outbound_pending']}",
        f"{'At hub, awaiting delivery' if en else 'Đã lên tỉnh, chờ chuyển'}: "
        f"{counts['outbound_accepted']}",
        f"{'Failed (needs a person)' if en else 'Gửi lỗi (cần xử lý)'}: "
        f"{counts['outbound_dead']}",
        f"{'Inbox' if en else 'Văn bản đến'}: {counts['inbox']}"
        f" (+{counts['inbound_downloading']} {'downloading' if en else 'đang tải'})",
        f"{'Last sync' if en else 'Đồng bộ lần cuối'}: "
        f"{fmt_ms(int(str(last))) if last else ('never' if en else 'chưa')}",
        f"{'Disk free' if en else 'Dung lượng trống'}: {free // 2**20} MB",
    ]
    error = sync.get("last_error")
    if error:
        lines.append(f"{'Link problem' if en else 'Sự cố kết nối'}: {safe_text(str(error))}")
    skew = sync.get("skew_ms")
    if isinstance(skew, int) and abs(skew) > 60_000:
        unit = "min (the hub's time is used)" if en else "phút (dùng giờ máy chủ tỉnh)"
        lines.append(f"{'Clock is off by' if en else 'Đồng hồ của máy lệch'} "
                     f"{round(skew / 60_000):+d} {unit}")
    short = sync.get("disk_short_bytes")
    if isinstance(short, int) and short > 0:
        lines.append(f"Disk full: {short // 2**20} MB needed; downloads resume by themselves"
                     if en else f"Đĩa đầy: cần thêm {short // 2**20} MB; việc tải văn bản đến "
                     "sẽ tự tiếp tục")
    if counts["blobs_refetching"]:
        label = ("Damaged attachments, quarantined, being fetched again from the hub" if en
                 else "Tệp đính kèm hỏng, đã cách ly, đang tải lại từ máy chủ tỉnh")
        lines.append(f"{label}: {counts['blobs_refetching']}")
    if counts["blobs_lost"]:
        label = ("Damaged attachments that only the original file can replace" if en
                 else "Tệp đính kèm hỏng, chỉ thay được bằng tệp gốc")
        lines.append(f"{label}: {counts['blobs_lost']}")
    print("\n".join(lines))


async def scrub(data: str) -> bool:
    """Verifies every stored attachment; damaged ones are quarantined and fetched again from
    the hub by the daemon, and blob files of sends killed before their commit are swept."""
    async with opened(data) as (layout, _, store):
        report = await asyncio.to_thread(store.blobs.scrub, await store.referenced_digests())
        damaged = await store.db.integrity_problems()
        await record_scrub(store, report)
        swept = await sweep_orphans(store)
        if not report.ok:
            wake_daemon(layout)
    en = ui_language() == "en"
    for problem in damaged:
        print(f"{'database' if en else 'cơ sở dữ liệu'}: {problem}")
    print(f"{'checked' if en else 'đã kiểm tra'}: {report.checked}")
    for sha in report.corrupt:
        print(f"{'corrupt, quarantined, fetching again' if en else 'hỏng, đã cách ly, tải lại'}"
              f": {sha}")
    for sha in report.missing:
        print(f"{'missing, fetching again' if en else 'thiếu, tải lại'}: {sha}")
    if swept:
        print(f"{'unreferenced files removed' if en else 'đã xóa tệp thừa'}: {len(swept)}")
    return report.ok and not damaged


def agencies(data: str | None, as_json: bool) -> None:
    directory = load_directory(Layout(Path(data))) if data else Directory.sample()
    entries = [directory[c] for c in directory]
    if as_json:
        emit_json([a.to_dict() for a in entries])
        return
    for a in entries:
        parent = a.parent.text if a.parent else "-"
        print(f"{a.code.text:<16} {a.level}  {parent:<16} {safe_text(a.name)}")
