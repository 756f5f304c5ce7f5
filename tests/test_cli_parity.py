"""CLI parity (issue 15), tried as a clerk would: the real ``gateway`` command in a subprocess
on a real box (SQLite store, directory file), at 100 and 80 columns, in Vietnamese and English,
with hostile remote text; and ``gateway demo`` stopped half-way with a real SIGINT."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from gateway.cli.table import cell_width
from gateway.model import Directory, Envelope, Urgency
from gateway.model.document import VN_TZ
from gateway.services.box import wall_ms
from gateway.store.db import Conn
from gateway.store.layout import Layout
from gateway.store.local import LocalStore, add_event, insert_document
from tests.conftest import COMMUNE_A, COMMUNE_B, COMMUNE_C, OFFICE, run_gateway
from tests.factories import envelope
from tests.hostile_text import TERMINAL_ATTACK, attack, unsafe

HOSTILE_AGENCY = "000.00.34.H35"
LONG_AGENCY = "000.00.35.H35"
AMBIGUOUS = ("abcd1111-0000-7000-8000-000000000001", "abcd2222-0000-7000-8000-000000000002")
HOSTILE_SUBJECT = (attack("Trích yếu") * 4 + " rất dài" * 100)[:1000]  # the longest allowed
DAY_MS = 86_400_000  # the seeded documents' ids are made days apart, as in real life
SUBJECT = "V/v kế hoạch phòng chống lụt bão và tìm kiếm cứu nạn năm 2026 trên địa bàn xã"


def _directory(path: Path) -> Path:
    """The sample directory plus two agencies whose names attack the terminal or run long."""
    entries = json.loads(Directory.sample().to_json())["agencies"]
    entries += [{"code": HOSTILE_AGENCY, "name": attack("UBND xã Độc")},
                {"code": LONG_AGENCY, "name": "UBND xã " + "Rất Dài " * 36}]
    path.write_text(json.dumps({"agencies": entries}, ensure_ascii=False), encoding="utf-8")
    return path


async def _seed(data: Path, docs: list[tuple[Envelope, list[tuple[str, str, str]]]]) -> None:
    """Inbound documents as the sync engine stores them, with their events."""
    store = await LocalStore.open(Layout(data), wall_ms)
    try:
        async def tx(conn: Conn) -> None:
            for env, events in docs:
                await insert_document(conn, env, "in", wall_ms())
                for actor, kind, detail in events:
                    await add_event(conn, env.id, wall_ms(), actor, kind, detail)

        await store.db.write(tx)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A box of 000.00.31.H35: two documents it sent (through ``gateway send``), and inbound
    ones from a named commune, from the hostile and the long-named agency, and two whose ids
    share their first characters."""
    root = tmp_path_factory.mktemp("parity")
    data = root / "gw"
    made = run_gateway("init", "--data", str(data), "--agency", COMMUNE_A, "--directory",
                       str(_directory(root / "agencies.json")))
    assert made.returncode == 0, made.stderr
    pdf = root / "ke-hoach.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")
    for to, urgency in ((f"{COMMUNE_B},{OFFICE}", "hoa-toc"), (COMMUNE_C, "thuong-khan")):
        sent = run_gateway("send", "--data", str(data), "--to", to, "--subject", SUBJECT,
                           "--number", "45/UBND-VP", "--urgency", urgency, str(pdf))
        assert sent.returncode == 0, sent.stderr
    inbound = [
        (replace(envelope(sender=COMMUNE_B, recipients=(COMMUNE_A,), urgency=Urgency.KHAN,
                          now_ms=DAY_MS * 20_400),
                 subject="V/v báo cáo tình hình sơ tán dân"),
         [("hub", "received", ""), ("clerk", "status 03", "vào sổ")]),
        (replace(envelope(sender=HOSTILE_AGENCY, recipients=(COMMUNE_A,), now_ms=DAY_MS * 20_401),
                 subject=HOSTILE_SUBJECT, number=attack("12")),
         [("hub", "received", ""), (HOSTILE_AGENCY, attack("kind"), attack("detail"))]),
        (envelope(sender=LONG_AGENCY, recipients=(COMMUNE_A,), subject="Văn bản từ xã tên dài",
                  now_ms=DAY_MS * 20_402),
         []),
    ]
    inbound += [(replace(envelope(sender=COMMUNE_C, recipients=(COMMUNE_A,)), id=i,
                         subject=f"Giấy mời họp số {n}"), []) for n, i in enumerate(AMBIGUOUS)]
    asyncio.run(_seed(data, inbound))
    return data


def gw(*args: str, width: int = 100, lang: str = "vi") -> subprocess.CompletedProcess[str]:
    return run_gateway(*args, env={"COLUMNS": str(width), "GATEWAY_LANG": lang})


def _check_terminal_safe(text: str, width: int) -> None:
    assert unsafe(text, newlines=True) == [], "a control or bidi character reached the terminal"
    assert all(cell_width(line) <= width for line in text.splitlines()), text


@pytest.mark.parametrize("width", [100, 80])
def test_list_prints_names_a_header_and_one_fitted_line_per_document(box: Path,
                                                                      width: int) -> None:
    shown = gw("list", "--data", str(box), width=width)
    assert shown.returncode == 0, shown.stderr
    _check_terminal_safe(shown.stdout, width)
    lines = shown.stdout.splitlines()
    assert len(lines) == 1 + 7 + 1  # header, one line per document (nothing wrapped), counts
    assert lines.pop() == "5 văn bản đến, 5 chưa đọc, 5 quá hạn"
    wanted = ["Mã", "Ngày", "Độ"] if width == 100 else ["Mã", "Độ", "khẩn"]  # date dropped
    assert lines[0].split()[:3] == wanted
    assert "Trích yếu" in lines[0] and "Trạng thái" in lines[0]
    text = shown.stdout
    assert "Hỏa tốc" in text and "Thượng khẩn" in text and "Khẩn" in text and "Thường" in text
    assert "000.00." not in text  # names, not codes
    assert all(" ← UBND x" in line or " → UBND x" in line for line in lines[1:])  # cut at 80
    assert "V/v báo cáo tình hình" in text and "…" in text  # long subjects cut, not wrapped
    # States in words; the factory's due date (1/12/2026) has passed, so "Quá hạn" comes first.
    assert "Quá hạn ·" in text and "Chờ gửi" in text
    if width == 100:
        assert "UBND xã Nậm C" in text and "UBND xã Pa T" in text  # the rest may be cut
        assert "UBND xã Độc<" in text and "UBND xã Rất D" in text  # cut (inert: see above)


def test_list_in_english_and_json_unchanged(box: Path) -> None:
    english = gw("list", "--data", str(box), "--outbox", lang="en")
    assert english.stdout.splitlines()[0].split()[:4] == ["ID", "Issued", "Urgency", "To"]
    assert "Immediate" in english.stdout and "Very urgent" in english.stdout
    assert "Hoa Toc" not in english.stdout and "Queued 2/2" in english.stdout
    listed = json.loads(gw("list", "--data", str(box), "--json").stdout)
    assert len(listed) == 7 and {d["direction"] for d in listed} == {"in", "out"}
    hostile = next(d for d in listed if d["envelope"]["from"] == HOSTILE_AGENCY)
    assert hostile["envelope"]["subject"] == HOSTILE_SUBJECT  # the data stays true


def test_show_uses_names_plain_events_and_wraps_inside_the_terminal(box: Path) -> None:
    listed = json.loads(gw("list", "--data", str(box), "--json").stdout)
    mine = next(d["id"] for d in listed if d["envelope"]["urgency"] == 3)
    shown = gw("show", "--data", str(box), mine[:13], width=80)
    assert shown.returncode == 0, shown.stderr
    _check_terminal_safe(shown.stdout, 80)
    assert f"Văn bản: {mine}" in shown.stdout
    assert f"Nơi nhận: UBND xã Nậm Cuổi (mẫu) ({COMMUNE_B})" in shown.stdout
    assert "Độ khẩn: Hỏa tốc" in shown.stdout and "Văn thư: Xếp hàng chờ gửi" in shown.stdout
    sevo = next(d["id"] for d in listed if d["envelope"]["subject"].endswith("sơ tán dân"))
    inbound = gw("show", "--data", str(box), sevo)
    assert "Máy chủ tỉnh: Văn bản đến máy" in inbound.stdout
    assert "Văn thư: Ghi trạng thái: Đã tiếp nhận" in inbound.stdout
    assert "status 03" not in inbound.stdout and "received" not in inbound.stdout
    english = gw("show", "--data", str(box), sevo, lang="en")
    assert "Province hub: Arrived on this box" in english.stdout
    assert "Urgency: Urgent" in english.stdout


def test_hostile_names_and_subjects_stay_on_their_line(box: Path) -> None:
    listed = json.loads(gw("list", "--data", str(box), "--json").stdout)
    for sender in (HOSTILE_AGENCY, LONG_AGENCY):
        doc_id = next(d["id"] for d in listed if d["envelope"]["from"] == sender)
        shown = gw("show", "--data", str(box), doc_id, width=80)
        assert shown.returncode == 0, shown.stderr
        _check_terminal_safe(shown.stdout, 80)
        assert "\x1b" not in shown.stdout and TERMINAL_ATTACK not in shown.stdout
        if sender == HOSTILE_AGENCY:
            assert "␛[2J" in shown.stdout and "⟨U+202E⟩" in shown.stdout  # shown, inert
            assert "kind<␛[2J" in shown.stdout  # an unknown event kind, made safe
        else:
            assert shown.stdout.count("Rất Dài") == 36  # wrapped over lines, all of it


def test_a_unique_prefix_names_a_document_everywhere(box: Path, tmp_path: Path) -> None:
    listed = json.loads(gw("list", "--data", str(box), "--json").stdout)
    table = gw("list", "--data", str(box)).stdout.splitlines()[1:-1]
    printed = [line[2:].split()[0] for line in table]  # after the unread marker column
    assert all(len(p) >= 8 for p in printed) and len(set(printed)) == len(printed)
    sent = [line.split()[0] for line in gw("list", "--data", str(box), "--outbox")
            .stdout.splitlines()[1:]]  # no marker column, no count line: nothing sent is unread
    assert len(sent) == 2 and set(sent) <= set(printed)
    for short in sent:  # what the list prints is what the clerk types (the two sent
        # in the same second: the longest shared prefix)
        full = next(d["id"] for d in listed if d["id"].startswith(short))
        shown = gw("show", "--data", str(box), short)
        assert shown.returncode == 0 and f"Văn bản: {full}" in shown.stdout, shown.stderr
    sevo = next(d["id"] for d in listed if d["envelope"]["subject"].endswith("sơ tán dân"))
    prefix = sevo[:13].upper()  # any case
    out = tmp_path / "usb"
    out.mkdir()
    # Its attachment has the bytes of the file the box sent, so the blob store holds it.
    assert gw("export", "--data", str(box), prefix, "--to", str(out)).returncode == 0
    assert [p.name for p in out.iterdir()] == ["cv.pdf"]
    outbound = gw("mark", "--data", str(box), sent[0], "--status", "03")
    assert outbound.returncode == 1 and "Chỉ ghi trạng thái cho văn bản đến" in outbound.stderr
    marked = gw("mark", "--data", str(box), prefix, "--status", "05")
    assert marked.returncode == 0, marked.stderr
    assert json.loads(gw("show", "--data", str(box), prefix, "--json").stdout)[
        "inbox_status"] == "05"


def test_ambiguous_short_and_unknown_prefixes(box: Path) -> None:
    both = gw("show", "--data", str(box), "abcd")
    assert both.returncode == 2 and both.stdout == ""
    first, *rest = both.stderr.splitlines()
    assert first.startswith("gateway: Có nhiều văn bản có mã bắt đầu bằng 'abcd'")
    assert [line.split()[0] for line in rest] == list(AMBIGUOUS)
    assert all("20/11/2026" in line and "Giấy mời họp số" in line for line in rest)
    english = gw("mark", "--data", str(box), "ABCD", "--status", "03", lang="en")
    assert english.returncode == 2 and "Several documents" in english.stderr
    short = gw("retry", "--data", str(box), "abc")
    assert short.returncode == 2 and "ít nhất 4 ký tự" in short.stderr
    assert len(short.stderr.splitlines()) == 1
    unknown = gw("verify", "--data", str(box), "ffffffff")
    assert unknown.returncode == 1
    assert unknown.stderr == ("gateway: Không có văn bản nào có mã bắt đầu bằng 'ffffffff' "
                              "(xem 'gateway list').\n")
    whole = gw("show", "--data", str(box), AMBIGUOUS[1])
    assert whole.returncode == 0 and "Giấy mời họp số 1" in whole.stdout


def test_due_as_clerks_write_it(gw_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.7 x")
    base = ("send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "Hạn", "--number",
            "7/UBND", str(pdf))
    for due in ("31/12/2026", "5/1/2027", "31/12"):
        sent = gw(*base, "--due", due)
        assert sent.returncode == 0, sent.stderr
    listed = json.loads(gw("list", "--data", str(gw_dir), "--json").stdout)
    year = datetime.now(VN_TZ).year  # "31/12" is this year's, on the box's calendar
    assert sorted(d["envelope"]["due"] for d in listed) == sorted(
        ["2026-12-31", "2027-01-05", f"{year}-12-31"])
    for lang, words in (("vi", "Ngày không hợp lệ: '31/02/2026' (viết ngày/tháng/năm, ví dụ "
                               "31/12/2026, hoặc 2026-12-31)."),
                        ("en", "Invalid date: '31/02/2026' (write day/month/year, e.g. "
                               "31/12/2026, or 2026-12-31).")):
        refused = gw(*base, "--due", "31/02/2026", lang=lang)
        assert refused.returncode == 1 and refused.stderr == f"gateway: {words}\n"


def test_a_damaged_directory_shows_codes_not_nothing(gw_dir: Path) -> None:
    asyncio.run(_seed(gw_dir, [(envelope(sender=COMMUNE_B, recipients=(COMMUNE_A,)), [])]))
    (gw_dir / "directory.json").write_text('{"agencies": [', encoding="utf-8")
    listed = gw("list", "--data", str(gw_dir))
    assert listed.returncode == 0 and f"← {COMMUNE_B}" in listed.stdout
    assert listed.stderr.startswith("gateway: Không đọc được danh bạ cơ quan, nên hiện mã")
    assert len(listed.stderr.splitlines()) == 1


def test_demo_stopped_half_way_says_so(tmp_path: Path) -> None:
    """``make demo``, Ctrl-C during the transfer: a plain "stopped", exit 130, no "damaged";
    every line fits 100 columns and the legend explains the columns."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--profile", "adsl", "--once",
         "--data", str(tmp_path / "province")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "GATEWAY_LANG": "vi"})
    assert demo.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        seen.append(line.rstrip("\n"))
        if "│" in line and line.split("│")[0].strip().replace(".", "").isdigit():
            break  # the first progress row: documents are on their way
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=60)
    lines = seen + out.splitlines()
    assert demo.returncode == 130, (lines, err)
    assert err == ""
    assert any(line.startswith("Đã dừng theo yêu cầu sau") for line in lines)
    assert any("Đã đến:" in line and "lượt nhận" in line for line in lines)
    assert not any("HỎNG" in line or "THIẾU" in line for line in lines)
    assert all(cell_width(line) <= 100 for line in lines), lines
    assert any(line.startswith("  gửi = ") for line in lines)
    assert any("lên/xuống" in line and "mất" in line and "giây" in line for line in lines)
