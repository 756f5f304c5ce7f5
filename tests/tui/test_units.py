"""Pure parts of the TUI: the link sentence, formatting, dates and file names."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gateway.model.agency import fold
from gateway.services.link import hhmm, link_view
from gateway.store.local import EventRow
from gateway.store.status import SyncMarks
from tests.tui.conftest import NOW_MS
from tui.__main__ import main
from tui.format import event_label
from tui.i18n import set_language
from tui.link import Link, LinkInfo, describe
from tui.screens.compose import parse_due

COUNTS = {"outbound_pending": 3, "outbound_dead": 0, "statuses_unsent": 0,
          "inbound_downloading": 1}


def marks(age_ms: int | None, *, error: str | None = None) -> SyncMarks:
    last = None if age_ms is None else NOW_MS - age_ms
    return SyncMarks(last_sync_ms=last, hub_time_ms=None, skew_ms=None, last_error=error,
                     last_error_ms=NOW_MS - 120_000 if error else None,
                     link_reason="unreachable" if error else None,
                     next_try_ms=NOW_MS + 30_000 if error else None, disk_short_bytes=None,
                     rcursor=None)


def info(age_ms: int | None, *, hub: bool = True, skew: int = 0,
         error: str | None = None) -> LinkInfo:
    return LinkInfo(link_view(marks(age_ms, error=error), hub, NOW_MS), skew, COUNTS)


@pytest.mark.parametrize(("age", "state", "head"), [
    (None, Link.NEVER, "Chưa kết nối được với tỉnh lần nào"),
    (10_000, Link.CONNECTED, "Đang kết nối với tỉnh — đồng bộ lần cuối vừa xong"),
    (89_000, Link.CONNECTED, "Đang kết nối với tỉnh — đồng bộ lần cuối 1 phút trước"),
    (5 * 60_000, Link.STALE, "Không có tin từ dịch vụ đồng bộ (đồng bộ lần cuối 5 phút trước)"),
    (3 * 86_400_000, Link.STALE, "Không có tin từ dịch vụ đồng bộ (đồng bộ lần cuối 3 ngày"),
])
def test_link_sentence(age: int | None, state: Link, head: str) -> None:
    got_state, got_head, queue = describe(info(age), NOW_MS)
    assert got_state is state
    assert got_head.startswith(head)
    assert queue == "3 văn bản chờ gửi — đang tải 1 văn bản đến"


def test_a_published_failure_wins_over_a_recent_sync() -> None:
    """The daemon said the hub is unreachable 10 s after a good sync: the line says so, with
    the time it began, the next try and the reason, in plain words."""
    state, head, _ = describe(info(10_000, error="Cannot connect to host"), NOW_MS)
    assert state is Link.RETRYING
    assert head == (f"Mất kết nối với tỉnh từ {hhmm(NOW_MS - 120_000)} — thử lại sau 30 giây: "
                    "máy chủ tỉnh không nhận kết nối (máy chủ tắt hoặc mất mạng)")
    _, head, _ = describe(info(10_000, error="x"), NOW_MS + 31_000)
    assert "— đang thử lại:" in head


def test_link_without_hub_and_with_skew() -> None:
    state, head, _ = describe(info(None, hub=False), NOW_MS)
    assert state is Link.UNCONFIGURED and "hãy báo cán bộ CNTT" in head
    _, _, queue = describe(info(1000, skew=-7 * 60_000), NOW_MS)
    assert queue.endswith("đồng hồ của máy lệch 7 phút so với tỉnh")
    set_language("en")
    assert describe(info(1000), NOW_MS)[1] == "Connected to the province — last sync just now"


def test_parse_due_accepts_what_clerks_type() -> None:
    assert parse_due("31/12/2026") == date(2026, 12, 31)
    assert parse_due("2026-12-31") == date(2026, 12, 31)
    assert parse_due(" ") is None
    with pytest.raises(ValueError):
        parse_due("31/13/2026")


def test_fold_and_event_words() -> None:
    assert fold("UBND xã Nậm Cuổi") == "ubnd xa nam cuoi"
    assert fold("Đường") == "duong"
    assert event_label(EventRow(0, "clerk", "status 05", "")) == "Ghi trạng thái: Đang xử lý"
    assert event_label(EventRow(0, "000.00.32.H35", "delivered", "")) == \
        "Đã chuyển tới nơi nhận"
    assert event_label(EventRow(0, "hub", "queued", "")) == "Xếp hàng chờ gửi"


def test_entry_point_refuses_an_uninitialised_folder(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "chưa được khởi tạo; chạy 'gateway init' trước" in err


def test_the_tui_never_loads_hub_code() -> None:
    """Besides the import-linter contract: importing the whole app pulls in no hub module."""
    code = ("import sys, tui.app, tui.__main__; "
            "print(sorted(m for m in sys.modules if m.startswith('gateway.hub')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
