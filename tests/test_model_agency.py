from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import AgencyCode, Directory, Refused


def test_full_code_levels_and_parents() -> None:
    province = AgencyCode.parse("000.00.00.H35")
    dept = AgencyCode.parse("000.00.05.h35")
    unit = AgencyCode.parse("000.21.31.H35")
    leaf = AgencyCode.parse("004.21.31.H35")
    assert (province.level, dept.level, unit.level, leaf.level) == (1, 2, 3, 4)
    assert province.parent is None
    assert dept.parent == province
    assert unit.parent == AgencyCode("000.00.31.H35")
    assert leaf.parent == unit
    assert dept.text == "000.00.05.H35" and dept.province == "H35"


def test_legacy_codes_are_accepted_and_flagged() -> None:
    code = AgencyCode.parse("28.22.H17")
    assert code.legacy and code.level == 3
    assert code.parent == AgencyCode("22.H17", legacy=True)
    assert AgencyCode.parse("G22").parent is None


@pytest.mark.parametrize("text", ["", "H35.000", "000.00.00.35H", "000.0.00.H35", "x" * 500,
                                  "000.00.00.H35.1", "../../etc"])
def test_invalid_codes_refused_with_both_languages(text: str) -> None:
    with pytest.raises(Refused) as info:
        AgencyCode.parse(text)
    problem = info.value.problems[0]
    assert problem.code == "agency.invalid"
    assert "Mã định danh" in problem.vi and "agency code" in problem.en


@given(st.text(max_size=60))
def test_parse_never_crashes(text: str) -> None:
    try:
        code = AgencyCode.parse(text)
    except Refused:
        return
    assert 1 <= code.level <= 4
    # Walking up the parents always terminates at a level-1 body.
    seen = 0
    parent = code.parent
    while parent is not None:
        seen += 1
        assert parent.level < code.level or parent.legacy
        parent = parent.parent
    assert seen < code.level or code.legacy


@given(st.tuples(st.integers(0, 999), st.integers(0, 99), st.integers(0, 99),
                 st.sampled_from("GH"), st.integers(0, 99)))
def test_every_well_formed_code_round_trips(parts: tuple[int, int, int, str, int]) -> None:
    a, b, c, letter, n = parts
    text = f"{a:03d}.{b:02d}.{c:02d}.{letter}{n:02d}"
    code = AgencyCode.parse(text)
    assert str(code) == text and not code.legacy


def test_sample_directory_has_province_office_departments_communes() -> None:
    directory = Directory.sample()
    assert "000.00.00.H35" in directory
    communes = [a for a in directory.values() if a.name.startswith("UBND xã")]
    assert len(communes) >= 10
    assert directory["000.00.01.H35"].parent == AgencyCode("000.00.00.H35")
    assert len(directory.children("000.00.00.H35")) == len(directory) - 1


def test_directory_round_trip_and_replace() -> None:
    directory = Directory.sample()
    again = Directory.from_json(directory.to_json())
    assert list(again) == list(directory)
    smaller = Directory.from_json(json.dumps({"agencies": [
        {"code": "000.00.00.H01", "name": "Tỉnh mới"}]}))
    assert list(smaller) == ["000.00.00.H01"]


def test_directory_reports_every_bad_entry() -> None:
    text = json.dumps({"agencies": [
        {"code": "bad", "name": "x"}, {"code": "000.00.02.H35", "name": ""},
        {"code": "000.00.03.H35", "name": "ok"}]})
    with pytest.raises(Refused) as info:
        Directory.from_json(text, source="t.json")
    assert len(info.value.problems) == 2
    with pytest.raises(Refused):
        Directory.from_json("{not json")
    with pytest.raises(Refused):
        Directory.from_json(json.dumps({"agencies": "nope"}))
