"""``gateway hub report``: the provincial KPIs as a plain Vietnamese table or as CSV.

The table is for a person (durations in days, hours and minutes, the share signed in percent
or "chưa rõ" while unknown); the CSV is for a spreadsheet (one header row, seconds, "unknown"
for the share signed while unknown).
Agency names come from the directory file, which someone else wrote: they go through
:func:`safe_text`, and a CSV cell never starts like a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io

from gateway.hub.kpi import KpiReport, UnitKpi
from gateway.model.safe_text import safe_text

UNKNOWN_VI = "chưa rõ"
CSV_HEADER = ("agency", "name", "issued", "signed", "signed_share", "arrived", "reached_03",
              "avg_to_03_s", "reached_06", "avg_to_06_s", "overdue")
_COLUMNS = ("Mã đơn vị", "Phát hành", "Ký số", "Đã đến", "TB đến 03", "TB đến 06", "Quá hạn",
            "Tên đơn vị")


def duration_vi(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} phút"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} giờ {minutes:02d} phút"
    days, hours = divmod(hours, 24)
    return f"{days} ngày {hours} giờ"


def _signed_vi(unit: UnitKpi) -> str:
    share = unit.signed_share
    if unit.signed is None:
        return UNKNOWN_VI
    return f"{unit.signed}" if share is None else f"{unit.signed} ({share * 100:.1f}%)".replace(
        ".", ",")


def _row_vi(unit: UnitKpi) -> tuple[str, ...]:
    f = unit.facts
    return (unit.agency or "Tổng cộng", str(f.issued), _signed_vi(unit), str(f.arrived),
            _with_count(duration_vi(unit.avg_to_03_s), f.reached_03),
            _with_count(duration_vi(unit.avg_to_06_s), f.reached_06), str(f.overdue),
            "" if not unit.agency else safe_text(unit.name))


def _with_count(text: str, count: int) -> str:
    return f"{text} ({count})" if count else text


def text_report(kpi: KpiReport) -> str:
    rows = [_COLUMNS, *(_row_vi(u) for u in kpi.units), _row_vi(kpi.total)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS) - 1)]
    lines = [f"Chỉ số trao đổi văn bản từ ngày {kpi.period.first.isoformat()} đến trước ngày "
             f"{kpi.period.end.isoformat()} (giờ Việt Nam, UTC+7)",
             "Phát hành: văn bản điện tử gửi qua cổng tỉnh; Ký số: số văn bản có chữ ký số "
             "hợp lệ; Đã đến: văn bản đã về máy của đơn vị;",
             "TB đến 03 / 06: thời gian trung bình từ lúc đến tới Tiếp nhận (03) / Hoàn thành "
             "(06), trong ngoặc là số văn bản; Quá hạn: hết hạn xử lý mà chưa Hoàn thành.", ""]
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            lines.append("-" * (sum(widths) + 2 * len(widths)))
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:-1], widths[1:],
                                                                       strict=True))]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _cell(key: str, value: str | int | float | None) -> str:
    if value is None:  # unknown (signatures) or nothing to average
        return "unknown" if key.startswith("signed") else ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_report(kpi: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for unit in [*kpi.units, kpi.total]:
        data = unit.to_json()
        data["name"] = safe_text(str(data["name"]))
        data["agency"] = unit.agency or "total"
        writer.writerow([_cell(k, data[k]) for k in CSV_HEADER])
    return out.getvalue()
