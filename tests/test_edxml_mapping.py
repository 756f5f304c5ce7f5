"""Envelope ↔ package and status ↔ delivery events."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from datetime import date, datetime

import pytest

from gateway.edxml import (
    DocumentPackage,
    EdxmlRefused,
    Organ,
    StatusPackage,
    package_bytes,
    read_package,
)
from gateway.edxml.dates import parse_date, parse_timestamp
from gateway.edxml.mapping import (
    K_ID,
    document_id,
    envelope_from_package,
    package_from_envelope,
    status_package,
    status_update,
)
from gateway.model.delivery import Event, Party
from gateway.model.document import Attachment, Envelope, Urgency
from tests.edxml_fixtures import small_document

NOW = datetime(2025, 3, 5, 8, 30, 0)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def _organ(code: str) -> Organ:
    return Organ(organ_id=code, organ_name=f"Cơ quan {code}")


def _envelope(urgency: Urgency = Urgency.KHAN) -> Envelope:
    sha = hashlib.sha256(PDF).hexdigest()
    return Envelope(id="e1", sender="000.00.21.H35", recipients=("000.00.05.G10",),
                    number="15", notation="UBND-VP", doc_type="Công văn",
                    subject="Xin ý kiến", issue_place="Xã Một", issue_date=date(2025, 3, 4),
                    signer="Lò Văn A", urgency=urgency, due_date=date(2025, 3, 30),
                    attachments=(Attachment("cv.pdf", "application/pdf", sha, len(PDF)),))


def test_envelope_package_envelope_round_trip() -> None:
    env = _envelope()
    pkg = package_from_envelope(env, {env.attachments[0].sha256: PDF}, organ=_organ, now=NOW)
    data = package_bytes(pkg)
    parsed = read_package(data).package
    assert isinstance(parsed, DocumentPackage)
    assert parsed.header.document_id == "000.00.21.H35,2025/03/04,15/UBND-VP" == document_id(env)
    back = envelope_from_package(parsed, envelope_id="e1")
    assert replace(back.envelope, extra={}) == env
    assert back.blobs == {env.attachments[0].sha256: PDF}  # byte-identical attachment
    assert back.envelope.extra[K_ID] == document_id(env)
    again = package_from_envelope(back.envelope, back.blobs, organ=_organ, now=NOW,
                                  original=parsed)
    assert envelope_from_package(again, envelope_id="e1").envelope == back.envelope


def test_legacy_urgency_is_never_sent() -> None:
    env = _envelope(Urgency.HOA_TOC_HEN_GIO)
    pkg = package_from_envelope(env, {env.attachments[0].sha256: PDF}, organ=_organ, now=NOW)
    assert pkg.header.other_info is not None and pkg.header.other_info.priority == "3"


def test_incoming_fixture_and_zip_unwrapping() -> None:
    mapped = envelope_from_package(_as_doc(small_document()), envelope_id="i1")
    env = mapped.envelope
    assert (env.sender, env.recipients, env.code) == ("000.00.21.H35", ("000.00.05.G10",),
                                                      "12/UBND-VP")
    assert env.issue_date == date(2025, 3, 4) and env.urgency is Urgency.THUONG_KHAN
    assert env.extra["edxml.kind"] == "1"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner.bin", PDF)
    pkg = _as_doc(small_document())
    att = replace(pkg.attachments[0], content=buf.getvalue(), content_type="application/zip",
                  attachment_name="qd.pdf")
    assert pkg.attachment_encoded is not None
    pkg = replace(pkg, attachment_encoded=replace(pkg.attachment_encoded, attachment=(att,)))
    out = envelope_from_package(pkg, envelope_id="i2")
    assert out.envelope.attachments[0].media_type == "text/plain"  # the manifest's real type
    assert list(out.blobs.values()) == [PDF]


def test_bad_sender_is_refused() -> None:
    pkg = _as_doc(small_document().replace(b"<OrganId>000.00.21.H35", b"<OrganId>nonsense"))
    with pytest.raises(EdxmlRefused) as info:
        envelope_from_package(pkg, envelope_id="x")
    assert info.value.codes == ("edxml.agency.unusable",)


def test_status_both_ways() -> None:
    pkg = status_package(original_id="D1", original_sender="000.00.21.H35",
                         original_code="15/UBND-VP", original_date="2025/03/04", code="03",
                         party=Party.RECIPIENT, organ=_organ("000.00.05.G10"), staff=None,
                         description="Tiếp nhận", now=NOW)
    parsed = read_package(package_bytes(pkg)).package
    assert isinstance(parsed, StatusPackage) and parsed == pkg
    update = status_update(parsed)
    assert (update.document_id, update.code, update.event) == ("D1", "03", Event.STATUS_03)
    assert update.timestamp == "2025/03/05 08:30:00"
    assert status_update(replace_code(parsed, "09")).event is None
    with pytest.raises(EdxmlRefused):
        status_package(original_id="D1", original_sender="a", original_code="c",
                       original_date="d", code="13", party=Party.RECIPIENT,
                       organ=_organ("x"), staff=None, description="", now=NOW)


def replace_code(pkg: StatusPackage, code: str) -> StatusPackage:
    assert pkg.envelope is not None and pkg.envelope.header is not None
    head = pkg.envelope.header
    assert head.message_header is not None
    return replace(pkg, envelope=replace(pkg.envelope, header=replace(
        head, message_header=replace(head.message_header, status_code=code))))


def test_dates() -> None:
    assert parse_date("2019/01/16") == date(2019, 1, 16) == parse_date("16/01/2019")
    assert parse_date("2014/02/30") is None and parse_date("") is None
    assert parse_timestamp("2018/09/28 17:25:11") == datetime(2018, 9, 28, 17, 25, 11)


def _as_doc(data: bytes) -> DocumentPackage:
    pkg = read_package(data).package
    assert isinstance(pkg, DocumentPackage)
    return pkg
