"""``gateway list`` triages as the TUI's inbox does (issue 15, CLI parity): the real command in
a subprocess on a real box, with search that ignores diacritics, the two filters under their
Vietnamese and English names, both sorts, unhandled Hỏa tốc/Khẩn on top, the unread marker,
overdue marked and the count line; ``gateway show`` words an undone status."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import Envelope, Urgency
from gateway.services.box import wall_ms
from gateway.services.triage import found
from gateway.store.db import Conn
from gateway.store.layout import Layout
from gateway.store.local import Doc, LocalStore, add_event, insert_document
from tests.conftest import COMMUNE_A, COMMUNE_B, run_gateway
from tests.factories import envelope

TODAY = date.today()
# subject, urgency, due date, opened by the clerk; stored one minute apart, oldest first
SEED = [
    ("V/v báo cáo tình hình sơ tán dân", Urgency.THUONG, TODAY - timedelta(days=3), False),
    ("Công điện về mưa lũ", Urgency.HOA_TOC, TODAY + timedelta(days=9), False),
    ("Giấy mời họp giao ban", Urgency.KHAN, TODAY + timedelta(days=9), True),
    ("Kế hoạch đã hoàn thành", Urgency.HOA_TOC, TODAY - timedelta(days=3), False),
    ("Thông báo lịch trực Tết", Urgency.THUONG, TODAY + timedelta(days=9), False),
]
SEVO, CONG_DIEN, GIAY_MOI, DONE, LICH_TRUC = (s[0] for s in SEED)


async def _seed(data: Path) -> dict[str, str]:
    store = await LocalStore.open(Layout(data), wall_ms)
    ids: dict[str, str] = {}
    try:
        base = wall_ms() - 3_600_000
        for n, (subject, urgency, due, _) in enumerate(SEED):
            env = replace(envelope(sender=COMMUNE_B, recipients=(COMMUNE_A,), urgency=urgency,
                                   now_ms=base + n * 60_000), subject=subject, due_date=due)
            ids[subject] = env.id

            async def tx(conn: Conn, env: Envelope = env, at: int = base + n * 60_000) -> None:
                await insert_document(conn, env, "in", at)
                await add_event(conn, env.id, at, "hub", "received")

            await store.db.write(tx)
        for subject, *_, opened in SEED:
            if opened:
                await store.mark_opened(ids[subject])

        async def undone(conn: Conn) -> None:  # a status the clerk took back (undo)
            await add_event(conn, ids[SEVO], wall_ms(), "clerk", "status 03")
            await add_event(conn, ids[SEVO], wall_ms(), "clerk", "withdrawn 03")

        await store.db.write(undone)
    finally:
        await store.close()
    return ids


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    data = tmp_path_factory.mktemp("triage") / "gw"
    made = run_gateway("init", "--data", str(data), "--agency", COMMUNE_A)
    assert made.returncode == 0, made.stderr
    ids = asyncio.run(_seed(data))
    marked = run_gateway("mark", "--data", str(data), ids[DONE], "--status", "06")
    assert marked.returncode == 0, marked.stderr
    return data, ids


def gw(box: tuple[Path, dict[str, str]], *args: str, width: int = 100,
       lang: str = "vi") -> subprocess.CompletedProcess[str]:
    return run_gateway(args[0], "--data", str(box[0]), *args[1:],
                       env={"COLUMNS": str(width), "GATEWAY_LANG": lang})


def listed(box: tuple[Path, dict[str, str]], *args: str, width: int = 100,
           lang: str = "vi") -> tuple[list[str], str]:
    """The subjects in the order printed, and the count line."""
    out = gw(box, "list", "--inbox", *args, width=width, lang=lang)
    assert out.returncode == 0, out.stderr
    *rows, counts = out.stdout.splitlines()[1:]
    return [next(s for s, *_ in SEED if s[:12] in row) for row in rows], counts


def test_unhandled_hoa_toc_and_khan_are_on_top_and_the_counts_follow(box: tuple[Path, dict[
        str, str]]) -> None:
    order, counts = listed(box)
    # Pinned: Hỏa tốc over Khẩn; then newest first, a finished Hỏa tốc among them.
    assert order == [CONG_DIEN, GIAY_MOI, LICH_TRUC, DONE, SEVO]
    assert counts == "5 văn bản đến, 4 chưa đọc, 1 quá hạn"
    assert listed(box, "--sort", "urgency")[0] == [CONG_DIEN, GIAY_MOI, DONE, LICH_TRUC, SEVO]
    english = listed(box, lang="en")
    assert english == (order, "5 incoming, 4 unread, 1 overdue")


@pytest.mark.parametrize("width", [100, 80])
def test_unread_marker_and_overdue_in_the_table(box: tuple[Path, dict[str, str]],
                                                width: int) -> None:
    out = gw(box, "list", width=width).stdout.splitlines()
    assert out[0].startswith("  Mã ")
    row = {s: next(line for line in out if s[:12] in line) for s, *_ in SEED}
    assert [row[s][0] for s, *_ in SEED] == ["•", "•", " ", "•", "•"]  # opened: no marker
    assert "Quá hạn ·" in row[SEVO]  # at 80 columns the state after it is cut
    assert "Quá hạn" not in row[DONE]  # finished: not overdue, though its date has passed
    assert all(len(line) <= width for line in out)


def test_filters_under_both_names(box: tuple[Path, dict[str, str]]) -> None:
    unhandled, counts = listed(box, "--filter", "chua-xu-ly")
    assert unhandled == [CONG_DIEN, GIAY_MOI, LICH_TRUC, SEVO]
    assert counts == "Đang hiện 4 trên 5 văn bản. 5 văn bản đến, 4 chưa đọc, 1 quá hạn"
    assert listed(box, "--filter", "unhandled")[0] == unhandled
    assert listed(box, "--filter", "qua-han")[0] == listed(box, "--filter", "overdue")[0] == [SEVO]
    wrong = gw(box, "list", "--filter", "khan")
    assert wrong.returncode == 2 and "chua-xu-ly" in wrong.stderr


def test_search_ignores_diacritics_and_case(box: tuple[Path, dict[str, str]]) -> None:
    assert listed(box, "--search", "so tan")[0] == [SEVO]
    assert listed(box, "--search", "CONG DIEN")[0] == [CONG_DIEN]
    assert listed(box, "--search", "lịch trực")[0] == [LICH_TRUC]
    nothing = gw(box, "list", "--search", "không có")
    assert nothing.stdout.splitlines() == [
        "Chưa có văn bản nào.", "Đang hiện 0 trên 5 văn bản. 5 văn bản đến, 4 chưa đọc, "
        "1 quá hạn"]
    ids = box[1]
    as_json = json.loads(gw(box, "list", "--json", "--filter", "qua-han").stdout)
    assert [d["id"] for d in as_json] == [ids[SEVO]]


def test_show_words_an_undone_status(box: tuple[Path, dict[str, str]]) -> None:
    doc = box[1][SEVO]
    shown = gw(box, "show", doc)
    assert "Văn thư: Hoàn tác trạng thái: Đã tiếp nhận" in shown.stdout
    assert "withdrawn" not in shown.stdout
    assert "Clerk: Status undone: Accepted" in gw(box, "show", doc, lang="en").stdout


# Vietnamese letters by the plain letter a clerk types for them without an input method.
LETTERS = {"a": "aàáảãạăằắẳẵặâầấẩẫậ", "d": "dđ", "e": "eèéẻẽẹêềếểễệ", "i": "iìíỉĩị",
           "o": "oòóỏõọôồốổỗộơờớởỡợ", "u": "uùúủũụưừứửữự", "y": "yỳýỷỹỵ", "n": "n", "t": "t",
           "h": "h", "c": "c", "g": "g"}
_letter = st.sampled_from(sorted(LETTERS)).flatmap(
    lambda plain: st.tuples(st.just(plain), st.sampled_from(LETTERS[plain])))
_word = st.lists(_letter, min_size=1, max_size=8)


@given(words=st.lists(_word, min_size=1, max_size=6), pick=st.data(), upper=st.booleans())
def test_a_query_typed_without_accents_finds_the_accented_subject(
        words: list[list[tuple[str, str]]], pick: st.DataObject, upper: bool) -> None:
    subject = " ".join("".join(v for _, v in w) for w in words)
    doc = Doc(replace(envelope(), subject=subject.upper() if upper else subject), "in", None,
              (), None, "", 0)
    chosen = pick.draw(st.lists(st.sampled_from(words), min_size=1, max_size=3))
    query = " ".join("".join(p for p, _ in w) for w in chosen)
    assert found(doc, query, {})
    assert found(doc, query.upper(), {})
    assert not found(doc, query + " qqq", {})  # every word must be there
