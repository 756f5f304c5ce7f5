"""Export → import is the identity on the model, for generated packages and our fixtures."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.edxml import (
    Attachment,
    AttachmentEncoded,
    Bussiness,
    DocumentPackage,
    MessageHeader,
    Organ,
    ResponseFor,
    StaffInfo,
    StatusHeader,
    StatusPackage,
    TraceHeader,
    TraceHeaderList,
    package_bytes,
    read_package,
)
from gateway.edxml.model import Code, OtherInfo, Reference, ToPlaces
from gateway.edxml.package import (
    DocumentEnvelope,
    DocumentHeaderBlock,
    StatusEnvelope,
    StatusHeaderBlock,
)
from gateway.edxml.raw import RawElement
from tests.edxml_fixtures import small_document

XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                                 exclude_characters="\ufffe\uffff")
                   | st.sampled_from("\t\n\r <>&\"'"), max_size=30)
OPT = st.none() | XML_TEXT
NAME = st.from_regex(r"X[A-Za-z0-9_]{0,8}", fullmatch=True)
ATTRS = st.dictionaries(NAME, XML_TEXT, max_size=2).map(lambda d: tuple(d.items()))
TAG = st.sampled_from(["{http://www.mic.gov.vn/TBT/QCVN_102_2016}", "{urn:v}", ""]).flatmap(
    lambda ns: NAME.map(lambda n: ns + n))
RAW = st.recursive(
    st.builds(RawElement, TAG, ATTRS, XML_TEXT),
    lambda kids: st.builds(RawElement, TAG, ATTRS,
                           st.just("") | XML_TEXT.filter(lambda t: t.strip() != ""),
                           st.lists(kids, max_size=3).map(tuple)),
    max_leaves=4)
EXTRAS = st.lists(RAW, max_size=2).map(tuple)
ORGAN = st.builds(Organ, organ_id=OPT, organ_name=OPT, email=OPT, attrs=ATTRS, extras=EXTRAS)
HEADER = st.builds(
    MessageHeader, from_=ORGAN, to=st.lists(ORGAN, max_size=3).map(tuple), document_id=OPT,
    code=st.none() | st.builds(Code, code_number=OPT, code_notation=OPT), subject=OPT,
    due_date=OPT, other_info=st.none() | st.builds(OtherInfo, priority=OPT, extras=EXTRAS),
    to_places=st.none() | st.builds(ToPlaces, place=st.lists(XML_TEXT, max_size=3).map(tuple)),
    response_for=st.lists(st.builds(ResponseFor, document_id=OPT), max_size=2).map(tuple),
    extras=EXTRAS)
TRACE = st.builds(
    TraceHeaderList, trace_header=st.lists(st.builds(TraceHeader, OPT, OPT), max_size=2).map(
        tuple), bussiness=st.none() | st.builds(Bussiness, document_id=OPT,
                                                bussiness_doc_type=OPT, staff_info=st.none()
                                                | st.builds(StaffInfo, staff=OPT)))
ATTACHMENT = st.builds(Attachment, content_id=OPT, attachment_name=OPT, content_type=OPT,
                       content=st.none() | st.binary(max_size=300))
DOCUMENT = st.builds(
    DocumentPackage,
    envelope=st.builds(DocumentEnvelope, header=st.builds(
        DocumentHeaderBlock, message_header=HEADER, trace_header_list=TRACE, extras=EXTRAS)),
    attachment_encoded=st.none() | st.builds(
        AttachmentEncoded, attachment=st.lists(ATTACHMENT, max_size=3).map(tuple)),
    attrs=ATTRS, extras=EXTRAS)
STATUS = st.builds(StatusPackage, envelope=st.builds(StatusEnvelope, header=st.builds(
    StatusHeaderBlock, message_header=st.builds(
        StatusHeader, from_=ORGAN, response_for=st.builds(ResponseFor, document_id=OPT),
        status_code=OPT, description=OPT, timestamp=OPT, extras=EXTRAS))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_generated_document_round_trips(pkg: DocumentPackage) -> None:
    pkg = _required(pkg)
    assert read_package(package_bytes(pkg)).package == pkg


@settings(max_examples=60, deadline=None)
@given(STATUS, st.sampled_from([f"{n:02d}" for n in range(1, 17)]))
def test_generated_status_round_trips(pkg: StatusPackage, code: str) -> None:
    h = pkg.header
    assert pkg.envelope is not None and pkg.envelope.header is not None
    fixed = StatusHeader(from_=Organ(organ_id="000.00.00.H35", extras=h.from_.extras
                                     if h.from_ else ()),
                         response_for=ResponseFor(document_id="D1"), status_code=code,
                         description=h.description, timestamp=h.timestamp, extras=h.extras)
    pkg = StatusPackage(StatusEnvelope(StatusHeaderBlock(message_header=fixed)))
    assert read_package(package_bytes(pkg)).package == pkg


def _required(pkg: DocumentPackage) -> DocumentPackage:
    """Gives the sender an OrganId: import refuses a package without one, by design."""
    assert pkg.envelope is not None and pkg.envelope.header is not None
    head = pkg.header
    organ = head.from_ or Organ()
    from dataclasses import replace
    head = replace(head, from_=replace(organ, organ_id="000.00.21.H35"))
    block = replace(pkg.envelope.header, message_header=head)
    return replace(pkg, envelope=replace(pkg.envelope, header=block))


def test_fixture_business_spelling_and_foreign_attributes() -> None:
    first = read_package(small_document(business="Business")).package
    assert isinstance(first, DocumentPackage)
    assert first.bussiness is not None and first.bussiness.bussiness_doc_type == "1"
    out = package_bytes(first)
    assert b"<Bussiness>" in out and b"<Business>" not in out
    assert read_package(out).package == first
    ref: Reference = first.references[0]
    assert ref.attrs == (("{urn:vendor}mark", "x"),)
    assert first.attachments[0].content == "Hello, xã!".encode()
    assert first.header.promulgation_info is not None
    assert first.header.promulgation_info.promulgation_date == "04/03/2025"


def test_unknown_header_elements_survive_in_order() -> None:
    extra = "<Xa>1</Xa><Xb k='v'><Xc>2</Xc></Xb><Subject>second subject</Subject>"
    pkg = read_package(small_document(extra_header=extra)).package
    assert isinstance(pkg, DocumentPackage)
    names = [e.tag.rsplit("}", 1)[-1] for e in pkg.header.extras]
    assert names == ["Xa", "Xb", "Subject"]
    assert pkg.header.subject == "Báo cáo tháng & kế hoạch"
    assert read_package(package_bytes(pkg)).package == pkg
