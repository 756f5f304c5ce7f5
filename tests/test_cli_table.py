"""The pure parts of CLI parity (issue 15): tables that never wrap, dates as clerks type them,
the shortest id prefixes that stay unique, and the demo's progress lines."""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cli.table import Column, cell_width, clip, fit, wrap
from gateway.model import Refused
from gateway.model.dates import parse_day
from gateway.model.safe_text import safe_text
from gateway.services.lookup import unique_prefix_length
from gateway.testbed.demo_progress import (
    CommuneProgress,
    fmt_bytes,
    header,
    legend,
    progress_line,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None)
# Vietnamese precomposed and with combining marks, CJK and emoji (two cells), controls (made
# safe first, as every caller does).
cell_text = st.text(alphabet=st.one_of(
    st.sampled_from("aăâđêôơưáàảãạ ếệ/VvUBND" + "\u0301\u0323\u0309" + "漢字😀" + "\x1b\r\u202e"),
    st.characters()), max_size=120).map(safe_text)
COLUMNS = [Column("Mã", 8, 8), Column("Ngày", 10, 10, drop=1), Column("Độ khẩn", 16, 16),
           Column("Nơi gửi", 24, 12, count_tail=True), Column("Trích yếu", 1000, 30, flex=True),
           Column("Trạng thái", 20, 10)]


@PROPERTY
@given(st.lists(st.lists(cell_text, min_size=6, max_size=6), max_size=8),
       st.integers(min_value=20, max_value=200))
def test_rows_never_wider_than_the_terminal_nor_wrapped(rows: list[list[str]], width: int) -> None:
    lines = fit(COLUMNS, rows, width)
    assert len(lines) == len(rows) + 1
    assert all(cell_width(line) <= width and "\n" not in line for line in lines)


def test_narrow_terminal_drops_the_date_then_squeezes() -> None:
    rows = [["01a234d0", "02/12/2026", "Thượng khẩn", "UBND xã Nậm Cuổi (mẫu) +1",
             "V/v kế hoạch phòng chống lụt bão và tìm kiếm cứu nạn năm 2026", "Chờ gửi 2/2"]]
    wide, narrow = fit(COLUMNS, rows, 100), fit(COLUMNS, rows, 80)
    assert "02/12/2026" in wide[1] and "02/12/2026" not in narrow[1]
    assert narrow[1].startswith("01a234d0 Thượng khẩn") and narrow[1].endswith("Chờ gửi 2/2")
    assert "… +1 " in narrow[1]  # the recipient count survives the cut of the name
    assert narrow[0].split() == ["Mã", "Độ", "khẩn", "Nơi", "gửi", "Trích", "yếu", "Trạng",
                                 "thái"]


@PROPERTY
@given(cell_text, st.integers(min_value=1, max_value=60))
def test_clip_fits_and_keeps_what_fits(text: str, width: int) -> None:
    cut = clip(text, width)
    assert cell_width(cut) <= width
    assert cut == text or (cut.endswith("…") and text.startswith(cut[:-1]))


@PROPERTY
@given(cell_text, st.integers(min_value=2, max_value=60))
def test_wrap_loses_nothing_and_fits(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(cell_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_combining_marks_take_no_cell() -> None:
    decomposed = unicodedata.normalize("NFD", "Thường")  # written with combining marks
    assert len(decomposed) > len("Thường")
    assert cell_width(decomposed) == cell_width("Thường") == 6
    assert clip("Thượng khẩn", 7) == "Thượng…" and cell_width("漢字") == 4


# --- dates ---------------------------------------------------------------------------------

TODAY = date(2026, 12, 2)


@PROPERTY
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_day_first_and_iso_mean_the_same_day(day: date) -> None:
    assert parse_day(day.strftime("%d/%m/%Y"), TODAY) == day
    assert parse_day(f"{day.day}/{day.month}/{day.year:04d}", TODAY) == day
    assert parse_day(day.isoformat(), TODAY) == day
    if (day.month, day.day) != (2, 29):  # 2026 has no 29 February
        assert parse_day(f"{day.day}/{day.month}", TODAY) == day.replace(year=2026)


@pytest.mark.parametrize("text", ["31/02/2026", "29/02/2027", "12/31/2026", "2026/12/31",
                                  "mai", "", "31/12/26", "٣١/١٢/٢٠٢٦", "0/1/2026"])
def test_other_dates_are_refused_in_both_languages(text: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_day(text, TODAY)
    assert refused.value.codes == ("date.invalid",)
    assert "31/12/2026" in refused.value.text("vi") and "ngày/tháng/năm" in refused.value.text("vi")
    assert "day/month/year" in refused.value.text("en")


def test_short_dates() -> None:
    assert parse_day(" 31/12 ", TODAY) == date(2026, 12, 31)
    assert parse_day("1.2.2027", TODAY) == date(2027, 2, 1)
    assert parse_day("5-1-2027", TODAY) == date(2027, 1, 5)


# --- id prefixes ---------------------------------------------------------------------------

ids = st.lists(st.text(alphabet="0123456789abcdef-", min_size=1, max_size=36), max_size=30)


@PROPERTY
@given(ids, st.integers(min_value=1, max_value=12))
def test_prefixes_of_that_length_tell_every_id_apart(given_ids: list[str], minimum: int) -> None:
    unique = set(given_ids)
    n = unique_prefix_length(unique, minimum)
    assert n >= minimum
    for a, b in itertools.combinations(unique, 2):
        assert a[:n] != b[:n]  # an id shorter than n is printed whole, and found whole
    if n > minimum:  # no shorter length would do
        assert any(a[:n - 1] == b[:n - 1] for a, b in itertools.combinations(unique, 2))


# --- the demo's progress table -------------------------------------------------------------

@pytest.mark.parametrize("lang", ["vi", "en"])
def test_demo_progress_fits_100_columns(lang: str) -> None:
    names = ["UBND xã Bản Lang (mẫu)", "UBND xã Nậm Cuổi (mẫu)",
             "UBND xã có một cái tên rất dài để thử cắt (mẫu)"]
    worst = CommuneProgress(12, 12, 12, 12, 900 * 2**20, 99 * 2**30, 999)
    lines = [*legend(lang), *header(names, lang), progress_line(9999.9, [worst] * 3)]
    assert all(cell_width(line) <= 100 for line in lines), lines
    columns = header(names, lang)[1]
    for word in (("gửi", "nhận", "lên/xuống", "mất") if lang == "vi"
                 else ("sent", "recv", "up/down", "cuts")):
        assert word in columns and f"{word} = " in " ".join(legend(lang))
    assert [fmt_bytes(n) for n in (0, 812 * 1024, 3 * 2**20, 37 * 2**20, 3 * 2**30, 37 * 2**30)] \
        == ["0K", "812K", "3.0M", "37M", "3.0G", "37G"]
