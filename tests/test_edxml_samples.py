"""Every SDK sample package imports with the right fields and round-trips loss-free."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.edxml import (
    BussinessDocType,
    DocumentPackage,
    StatusPackage,
    package_bytes,
    read_package,
    read_package_file,
)
from tests.edxml_fixtures import SAMPLES_DIR

SAMPLES = Path(SAMPLES_DIR)
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="interop samples not present")
FILES = sorted(p.name for p in SAMPLES.glob("*.edxml")) if SAMPLES.is_dir() else []


def _doc(name: str) -> DocumentPackage:
    pkg = read_package_file(SAMPLES / name).package
    assert isinstance(pkg, DocumentPackage)
    return pkg


def test_all_fifteen_samples_present() -> None:
    assert len(FILES) == 15


@pytest.mark.parametrize("name", FILES)
def test_export_import_round_trip_is_equal(name: str) -> None:
    first = read_package_file(SAMPLES / name).package
    again = read_package(package_bytes(first)).package
    assert again == first


def test_new_document_fields() -> None:
    imported = read_package_file(SAMPLES / "edoc_new.edxml")
    pkg = imported.package
    assert isinstance(pkg, DocumentPackage)
    h = pkg.header
    assert h.from_ is not None and h.from_.organ_id == "002.00.20.H13"
    assert h.from_.fax == "048989898789"
    assert [o.organ_id for o in h.to] == ["28.22.H17"]
    assert h.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert h.code is not None and h.code.code_number == "74fass22"
    assert h.code.code_notation == "VPCP-TTĐT"
    assert h.promulgation_info is not None and h.promulgation_info.promulgation_date == "2019/01/16"
    assert h.document_type is not None and h.document_type.type_name == "Công văn"
    assert h.signer_info is not None and h.signer_info.full_name == "Nguyen Thanh Phuc"
    assert h.other_info is not None and h.other_info.priority == "0"
    assert h.other_info.direction == "false"
    assert h.other_info.appendixes is not None and len(h.other_info.appendixes.appendix) == 1
    assert h.to_places is not None and h.to_places.place == (
        "Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    assert h.steering_type == "1"
    assert pkg.bussiness is not None and pkg.bussiness.doc_type is BussinessDocType.NEW
    assert pkg.bussiness.staff_info is not None
    assert pkg.bussiness.staff_info.staff == "Nguyễn Thị Ngọc Trâm"
    assert pkg.trace.trace_header[0].timestamp == "2018/09/28 00:00:00"
    att = pkg.attachments[0]
    assert att.content_id == "cid:209" and att.content_type == "application/zip"
    assert att.content is not None and att.content.startswith(b"PK\x03\x04")
    assert pkg.references[0].attachment_name == "1896_QD-TTg_m_294779.doc"
    codes = {w.code for w in imported.warnings}
    assert {"edxml.leading_junk", "edxml.agency.legacy"} <= codes
    signature = pkg.envelope.header.extras if pkg.envelope and pkg.envelope.header else ()
    assert [e.tag.rsplit("}", 1)[-1] for e in signature] == ["Signature"]


def test_business_document_types() -> None:
    revoke_bus = _doc("edoc_revocation.edxml").bussiness
    assert revoke_bus is not None and revoke_bus.doc_type is BussinessDocType.REVOKE
    update = _doc("edoc_update.edxml").bussiness
    assert update is not None and update.doc_type is BussinessDocType.UPDATE
    info = update.bussiness_document_info
    assert info is not None and info.receiver_list is not None
    assert [r.receiver_type for r in info.receiver_list.receiver] == ["0", "1"]
    replace = _doc("edoc_replacement.edxml")
    bus = replace.bussiness
    assert bus is not None and bus.doc_type is BussinessDocType.REPLACE
    assert bus.replacement_info_list is not None
    first = bus.replacement_info_list.replacement_info[0]
    assert first.document_id == "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
    assert first.organ_id_list is not None
    assert first.organ_id_list.organ_id == ("000.00.00.H41", "000.00.00.H14")
    assert [o.organ_id for o in replace.header.to] == [
        "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]
    revoke = _doc("edoc_revocation.edxml")
    assert revoke.header.response_for[0].document_id == "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"


def test_oldest_sample_quirks_are_tolerated() -> None:
    imported = read_package_file(SAMPLES / "edoc.edxml")
    pkg = imported.package
    assert isinstance(pkg, DocumentPackage)
    assert pkg.header.document_id == "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb"
    assert pkg.header.response_for[0].organ_id == ""  # present but empty, not absent
    att = pkg.attachments[0]
    assert att.content is None and att.unreadable == "${__StringFromFile(test.txt,,,)}"
    assert att.content_type == "application/pdf"
    ref = pkg.references[0]
    assert ref.content_type is None and ref.description == "Description 1"
    assert ref.attrs == (("{http://www.w3.org/1999/xlink}href", ""),)
    assert {w.code for w in imported.warnings} >= {"edxml.prefix.undeclared",
                                                    "edxml.payload.unreadable"}


@pytest.mark.parametrize(("name", "code"), [
    ("status.edxml", "01"), ("status_inbox_01.edxml", "01"), ("status_rejection_02.edxml", "02"),
    ("status_acceptance_03.edxml", "03"), ("status_assignment_04.edxml", "04"),
    ("status_processing_05.edxml", "05"), ("status_finish_06.edxml", "06"),
    ("status_cancellation_13.edxml", "13"), ("status_change-acceptance_15.edxml", "15"),
    ("status_change-rejection_16.edxml", "16"),
])
def test_status_packages(name: str, code: str) -> None:
    pkg = read_package_file(SAMPLES / name).package
    assert isinstance(pkg, StatusPackage)
    h = pkg.header
    assert h.status_code == code
    assert h.response_for is not None
    assert h.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert h.staff_info is not None and h.staff_info.mobile == "84912000001"
    assert h.from_ is not None and h.from_.organ_id in ("000.00.00.H41", "000.00.00.G22")
    if name == "status.edxml":
        assert h.timestamp == "2018/09/28 17:25:11"
        assert h.from_.organ_name == "UBND Tỉnh Nghệ An"
