"""Verdict JSON is stable and decoded with limits; the words are right in both languages."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.signing.verdict import (
    MAX_SIGNATURES,
    LaterChanges,
    NotChecked,
    PdfState,
    PdfVerdict,
    Revocation,
    RevocationState,
    SignatureVerdict,
    SigStatus,
    VerdictDecodeError,
)
from gateway.signing.wording import describe, headline, summary

times = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=7))]))
text = st.text(max_size=40)
revocations = st.builds(Revocation, st.sampled_from(RevocationState),
                        st.none() | st.sampled_from(NotChecked), times)
signatures = st.builds(SignatureVerdict, text, st.sampled_from(SigStatus),
                       st.sampled_from(LaterChanges), text, text, times, times, st.booleans(),
                       st.text("0123456789abcdef", max_size=40), revocations, text)
verdicts = (st.builds(lambda s: PdfVerdict(PdfState.SIGNED, tuple(s)),
                      st.lists(signatures, min_size=1, max_size=4))
            | st.just(PdfVerdict(PdfState.UNSIGNED))
            | st.builds(lambda r, d: PdfVerdict(PdfState.UNREADABLE, reason=r, detail=d),
                        st.sampled_from(["timeout", "memory", "parse"]), text))


@given(verdicts)
def test_json_round_trip(v: PdfVerdict) -> None:
    assert PdfVerdict.from_json(v.to_json()) == v
    assert PdfVerdict.from_json(v.to_json().encode()) == v
    assert describe(v, "vi") and describe(v, "en") and headline(v)


@given(st.binary(max_size=200))
def test_garbage_is_a_decode_error_never_a_crash(data: bytes) -> None:
    with contextlib.suppress(VerdictDecodeError):
        PdfVerdict.from_json(data)


GOOD = PdfVerdict(PdfState.SIGNED, (SignatureVerdict(
    "F1", SigStatus.VALID_TRUSTED, signer="Nguyễn Văn An", organisation="UBND xã Tân Phong",
    claimed_time=datetime(2025, 5, 12, 7, 3, tzinfo=UTC), serial="5101",
    revocation=Revocation(RevocationState.GOOD)),))


def test_json_is_stable_and_versioned() -> None:
    data = json.loads(GOOD.to_json())
    assert data["v"] == 1 and data["state"] == "signed"
    assert data["signatures"][0]["claimed_time"] == "2025-05-12T07:03:00+00:00"
    assert GOOD.to_json() == PdfVerdict.from_json(GOOD.to_json()).to_json()


@pytest.mark.parametrize("change", [
    {"v": 2}, {"state": "maybe"}, {"signatures": []}, {"signatures": "x"},
    {"signatures": [{"status": "valid_trusted", "field": 1}]},
    {"signatures": [{"status": "valid_trusted", "claimed_time": "2025-01-01T00:00:00"}]},
    {"signatures": [{"status": "great"}]},
    {"signatures": [{"status": "valid_trusted", "timestamp_trusted": "yes"}]},
    {"signatures": [{"status": "valid_trusted", "signer": "x" * 1000}]},
    {"signatures": [{"status": "valid_trusted"}] * (MAX_SIGNATURES + 1)},
])
def test_bad_json_is_refused(change: dict[str, object]) -> None:
    data = json.loads(GOOD.to_json()) | change
    with pytest.raises(VerdictDecodeError):
        PdfVerdict.from_json(json.dumps(data))


def test_unknown_keys_from_a_newer_writer_are_ignored() -> None:
    data = json.loads(GOOD.to_json()) | {"future": 1}
    assert PdfVerdict.from_json(json.dumps(data)) == GOOD


def test_plain_words() -> None:
    assert describe(GOOD, "vi") == [
        "1. Chữ ký hợp lệ — Nguyễn Văn An (UBND xã Tân Phong)",
        "   Ký lúc (theo máy người ký): 14:03 12/05/2025 (UTC+7)",
        "   Thu hồi: đã kiểm tra, chưa bị thu hồi", "   Số hiệu chứng thư: 5101"]
    tampered = PdfVerdict(PdfState.SIGNED, (
        GOOD.signatures[0], SignatureVerdict("F2", SigStatus.MODIFIED_AFTER_SIGNING,
                                             signer="UBND xã Tân Phong")))
    assert headline(tampered, "vi") == "Văn bản đã bị sửa sau khi ký — UBND xã Tân Phong"
    assert headline(tampered, "en").startswith("The document was changed after signing")
    assert summary(tampered) == "signed:1/2" and summary(PdfVerdict(PdfState.UNSIGNED)) == \
        "unsigned"
    assert headline(PdfVerdict(PdfState.UNREADABLE, reason="timeout"), "vi") == \
        "Không kiểm tra được chữ ký số: quá thời gian cho phép"


def test_names_from_certificates_are_made_safe() -> None:
    evil = PdfVerdict(PdfState.SIGNED, (SignatureVerdict(
        "F", SigStatus.VALID_TRUSTED, signer="A\x1b]52;c;x\x07\u202eB"),))
    line = headline(evil, "vi")
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
