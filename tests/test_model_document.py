from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import (
    Attachment,
    Limits,
    Refused,
    Secrecy,
    Urgency,
    envelope_from_dict,
    envelope_to_dict,
    uuid7,
    validate_envelope,
)
from tests.factories import attachment, envelope

KNOWN = {"000.00.31.H35", "000.00.32.H35", "000.00.33.H35"}


def known(code: str) -> bool:
    return code in KNOWN


def codes(exc: pytest.ExceptionInfo[Refused]) -> set[str]:
    return set(exc.value.codes)


def test_valid_envelope_passes() -> None:
    validate_envelope(envelope(), known)


@pytest.mark.parametrize("word", ["mật", "Mật", "mat", "tối mật", "Toi-Mat", "tuyệt mật",
                                  "TUYET_MAT", "secret", "something odd"])
def test_any_secret_level_is_refused(word: str) -> None:
    assert Secrecy.parse(word) is not Secrecy.NONE
    with pytest.raises(Refused) as info:
        validate_envelope(envelope(), known, secrecy=Secrecy.parse(word))
    assert "document.secret" in codes(info)
    assert "mật" in info.value.text("vi") and "Secret" in info.value.text("en")


@pytest.mark.parametrize("word", [None, "", "  ", "không", "none"])
def test_not_secret(word: str | None) -> None:
    assert Secrecy.parse(word) is Secrecy.NONE


def test_all_problems_reported_together() -> None:
    env = replace(
        envelope(),
        recipients=("000.00.32.H35", "000.00.32.H35", "000.00.99.H35"),
        subject="  ",
        attachments=(attachment("../etc/passwd"), attachment("a\\b.pdf"),
                     replace(attachment("big.pdf"), size=10**12)),
    )
    with pytest.raises(Refused) as info:
        validate_envelope(env, known)
    assert {"recipients.duplicate", "recipients.unknown", "subject.empty",
            "attachment.bad_name", "attachment.too_large", "attachments.too_large"} <= codes(info)


def test_recipient_rules() -> None:
    with pytest.raises(Refused) as info:
        validate_envelope(replace(envelope(), recipients=()), known)
    assert "recipients.empty" in codes(info)
    with pytest.raises(Refused) as info:
        validate_envelope(replace(envelope(), recipients=("000.00.31.H35",)), known)
    assert "recipients.self" in codes(info)
    limits = Limits(max_recipients=1)
    with pytest.raises(Refused) as info:
        validate_envelope(replace(envelope(), recipients=("000.00.32.H35", "000.00.33.H35")),
                          known, limits=limits)
    assert "recipients.too_many" in codes(info)


def test_dates_and_names() -> None:
    with pytest.raises(Refused) as info:
        validate_envelope(replace(envelope(), due_date=date(2000, 1, 1)), known)
    assert "document.due_before_issue" in codes(info)
    two = (attachment("a.pdf"), attachment("a.pdf"))
    with pytest.raises(Refused) as info:
        validate_envelope(replace(envelope(), attachments=two), known)
    assert "attachment.duplicate_name" in codes(info)


def test_urgency_slugs() -> None:
    assert Urgency.from_slug("hoa-toc") is Urgency.HOA_TOC
    assert Urgency.from_slug("Hỏa tốc") is Urgency.HOA_TOC
    assert Urgency.from_slug("thuong-khan") is Urgency.THUONG_KHAN
    assert Urgency.from_slug("0") is Urgency.THUONG
    assert Urgency.HOA_TOC.label_vi == "Hỏa tốc"
    with pytest.raises(Refused):
        Urgency.from_slug("asap")


@given(st.integers(0, 2**48 - 1), st.binary(min_size=10, max_size=10))
def test_uuid7_layout(ms: int, rand: bytes) -> None:
    value = uuid.UUID(uuid7(ms, lambda n: rand[:n]))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == ms


@given(st.integers(0, 2**47), st.integers(1, 10**6))
def test_uuid7_sorts_by_time(ms: int, later: int) -> None:
    a = uuid7(ms, lambda n: b"\xff" * n)
    b = uuid7(ms + later, lambda n: b"\x00" * n)
    assert a < b


texts = st.text(max_size=40)
attachments = st.builds(
    Attachment, name=st.text(min_size=1, max_size=30),
    media_type=st.text(max_size=20), sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(0, 2**20))


@given(st.builds(
    lambda subject, urgency, atts, recipients: replace(
        envelope(), subject=subject, urgency=urgency, attachments=tuple(atts),
        recipients=tuple(recipients)),
    texts, st.sampled_from(Urgency), st.lists(attachments, max_size=5),
    st.lists(st.text(min_size=1, max_size=20), max_size=5)))
def test_envelope_dict_round_trip(env: object) -> None:
    assert envelope_from_dict(envelope_to_dict(env)) == env  # type: ignore[arg-type]


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@given(plain)
def test_hostile_dicts_never_crash(value: object) -> None:
    try:
        envelope_from_dict(value)
    except Refused as exc:
        assert exc.codes == ("envelope.malformed",)


@given(st.sampled_from(sorted(envelope_to_dict(envelope()))), plain)
def test_one_bad_field_is_refused_not_trusted(key: str, value: object) -> None:
    data: dict[str, object] = dict(envelope_to_dict(envelope()))
    data[key] = value
    try:
        env = envelope_from_dict(data)
    except Refused:
        return
    assert envelope_to_dict(env)[key] == value or key == "extra"
