"""Plain-words rendering of documents and of the box for the terminal, stable JSON for scripts.

Every field of a document, its events and the hub's words came from another party: each is
passed through :func:`~gateway.model.safe_text.safe_text` before it reaches the terminal, and
JSON goes out through :func:`~gateway.model.safe_text.safe_json` (true data, inert text).
"""

from __future__ import annotations

import json
import sys

from gateway.cli.table import field_lines, wrap
from gateway.model import Problem, envelope_to_dict
from gateway.model.envelope_codec import Plain
from gateway.model.safe_text import safe_json
from gateway.model.safe_text import safe_text as s
from gateway.services.admin import BoxStatus, ScrubResult
from gateway.services.labels import fmt_time, summary_state
from gateway.services.link import link_head
from gateway.services.signatures import AttachmentVerdict
from gateway.signing.wording import headline
from gateway.store.local import Doc, EventRow


def emit_json(value: object) -> None:
    sys.stdout.write(safe_json(value) + "\n")


def warn(problem: Problem | None, lang: str) -> None:
    """A problem that does not stop the command, on stderr."""
    if problem is not None:
        print(f"gateway: {s(problem.text(lang))}.", file=sys.stderr)





def doc_json(doc: Doc, lang: str, events: list[EventRow] | None = None) -> dict[str, Plain]:
    out: dict[str, Plain] = {
        "id": doc.envelope.id,
        "direction": doc.direction,
        "envelope": envelope_to_dict(doc.envelope),
        "state": summary_state(doc, lang),
        "queue": doc.queue_state,
        "last_error": doc.last_error,
        "inbox_status": doc.inbox_status.value if doc.inbox_status else None,
        "deliveries": [
            {"to": d.recipient, "state": d.state.value, "recall_pending": int(d.recall_pending),
             "updated_ms": d.updated_ms}
            for d in doc.deliveries
        ],
    }
    if events is not None:
        out["events"] = [
            {"at_ms": e.at_ms, "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in events
        ]
    return out


def signatures_json(items: list[AttachmentVerdict]) -> list[Plain]:
    """Per PDF attachment: its name, digest and verdict (``null``: not checked yet)."""
    return [{"name": v.attachment.name, "sha256": v.attachment.sha256,
             "verdict": None if v.verdict is None else json.loads(v.verdict.to_json())}
            for v in items if v.attachment.is_pdf]


def signature_lines(items: list[AttachmentVerdict], lang: str, *,
                    pdf_only: bool = True) -> list[str]:
    """One plain-words line per attachment (per PDF attachment with ``pdf_only``)."""
    en = lang == "en"
    lines = []
    for v in items:
        if not v.attachment.is_pdf:
            if not pdf_only:
                lines.append(f"{s(v.attachment.name)}: " + (
                    "not a PDF, not checked" if en else "không phải PDF, không kiểm tra"))
            continue
        words = (headline(v.verdict, lang) if v.verdict is not None
                 else "not checked yet" if en else "chưa kiểm tra")
        lines.append(f"{s(v.attachment.name)}: {words}")
    if not any(v.attachment.is_pdf for v in items) and not pdf_only:
        lines.append("No PDF attachment to check" if en else "Không có tệp PDF nào để kiểm tra")
    return lines


def status_text(st: BoxStatus, lang: str, agency: str | None = None, width: int = 100) -> str:
    """The box in plain words; ``agency`` is its name as the directory gives it (the code
    when not given), each line wrapped to ``width``."""
    en = lang == "en"
    counts, sync = st.counts, st.sync
    last = sync.last_sync_ms
    lines = [
        f"{'Agency' if en else 'Cơ quan'}: {agency or st.config.agency}",
        f"{'Hub' if en else 'Máy chủ tỉnh'}: {st.config.hub or '-'}",
        f"{'Waiting to send' if en else 'Chờ gửi'}: {counts['outbound_pending']}",
        f"{'At hub, awaiting delivery' if en else 'Đã lên tỉnh, chờ chuyển'}: "
        f"{counts['outbound_accepted']}",
        f"{'Failed (needs a person)' if en else 'Gửi lỗi (cần xử lý)'}: "
        f"{counts['outbound_dead']}",
        f"{'Inbox' if en else 'Văn bản đến'}: {counts['inbox']}"
        f" (+{counts['inbound_downloading']} {'downloading' if en else 'đang tải'})",
        f"{'Link' if en else 'Kết nối'}: {link_head(st.link, st.now_ms, lang)}",
        f"{'Last sync' if en else 'Đồng bộ lần cuối'}: "
        f"{fmt_time(last) if last else ('never' if en else 'chưa')}",
        f"{'Disk free' if en else 'Dung lượng trống'}: {st.disk_free // 2**20} MB",
    ]
    if sync.last_error:
        lines.append(f"{'Link problem (details)' if en else 'Chi tiết sự cố kết nối'}: "
                     f"{s(sync.last_error)}")
    skew = sync.skew_ms
    if skew is not None and abs(skew) > 60_000:
        unit = "min (the hub's time is used)" if en else "phút (dùng giờ máy chủ tỉnh)"
        lines.append(f"{'Clock is off by' if en else 'Đồng hồ của máy lệch'} "
                     f"{round(skew / 60_000):+d} {unit}")
    short = sync.disk_short_bytes
    if short is not None and short > 0:
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
    return "\n".join(out for line in lines for out in _fitted(line, width))


def _fitted(line: str, width: int) -> list[str]:
    label, colon, value = line.partition(": ")
    return field_lines(label, value, width) if colon else wrap(line, width)


def scrub_lines(result: ScrubResult, lang: str) -> list[str]:
    en = lang == "en"
    lines = [f"{'database' if en else 'cơ sở dữ liệu'}: {problem}"
             for problem in result.database]
    lines.append(f"{'checked' if en else 'đã kiểm tra'}: {result.blobs.checked}")
    lines += [f"{'corrupt, quarantined, fetching again' if en else 'hỏng, đã cách ly, tải lại'}"
              f": {sha}" for sha in result.blobs.corrupt]
    lines += [f"{'missing, fetching again' if en else 'thiếu, tải lại'}: {sha}"
              for sha in result.blobs.missing]
    if result.swept:
        lines.append(f"{'unreferenced files removed' if en else 'đã xóa tệp thừa'}: "
                     f"{len(result.swept)}")
    return lines
