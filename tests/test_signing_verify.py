"""Verdicts for real PDFs signed in the test with a throwaway CA: each status a clerk can see."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from gateway.signing import PdfState, PdfVerdict, SigStatus, Verifier, verify_pdf
from gateway.signing.trust import TrustConfig
from gateway.signing.verdict import LaterChanges, NotChecked, RevocationState
from gateway.signing.wording import describe, headline
from gateway.testbed.pdf_samples import make_pdf
from tests.signing_helpers import sign_as, trust
from tests.signing_pki import Pki, shared_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return shared_pki()


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier() as v:
        yield v


def check(v: Verifier, source: Path | bytes, t: TrustConfig) -> PdfVerdict:
    verdict = v.verify(source, t)
    assert PdfVerdict.from_json(verdict.to_json()) == verdict  # what is stored is what we saw
    return verdict


def test_unsigned(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    verdict = check(verifier, make_pdf(), trust(pki))
    assert verdict.state is PdfState.UNSIGNED and not verdict.signatures
    assert headline(verdict, "vi") == "Không có chữ ký số"


def test_valid_trusted_with_crl_checked(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    verdict = check(verifier, tmp_path / "s.pdf", trust(pki))
    (sig,) = verdict.signatures
    assert sig.status is SigStatus.VALID_TRUSTED and sig.later_changes is LaterChanges.NONE
    assert (sig.signer, sig.organisation) == ("Nguyễn Văn An", "UBND xã Tân Phong")
    assert sig.serial == "5101" and sig.claimed_time is not None and sig.proven_time is None
    assert sig.revocation.state is RevocationState.GOOD
    assert describe(verdict, "vi")[0] == "1. Chữ ký hợp lệ — Nguyễn Văn An (UBND xã Tân Phong)"
    assert verdict.has_valid_trusted and verdict.all_valid_trusted


def test_offline_without_crl_says_not_checked(tmp_path: Path, pki: Pki,
                                              verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    (sig,) = check(verifier, tmp_path / "s.pdf", trust(pki, crl=False)).signatures
    assert sig.status is SigStatus.VALID_TRUSTED
    assert (sig.revocation.state, sig.revocation.why_not) == (RevocationState.NOT_CHECKED,
                                                              NotChecked.OFFLINE)
    assert "máy ngoại tuyến" in "\n".join(describe(PdfVerdict(PdfState.SIGNED, (sig,)), "vi"))


def test_untrusted_root(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.stranger, make_pdf(), tmp_path / "s.pdf")
    (sig,) = check(verifier, tmp_path / "s.pdf", trust(pki)).signatures
    assert sig.status is SigStatus.VALID_UNTRUSTED_ROOT
    assert sig.revocation.why_not is NotChecked.CHAIN_UNTRUSTED
    # the same file is trusted once its root is configured: trust is data, not code
    (again,) = check(verifier, tmp_path / "s.pdf",
                     trust(pki, roots=pki.other_root_pem)).signatures
    assert again.status is SigStatus.VALID_TRUSTED


def test_tampered_bytes_break_the_signature(tmp_path: Path, pki: Pki,
                                            verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    data = (tmp_path / "s.pdf").read_bytes()
    assert data.count(b"123/UBND-VP) Tj") == 1
    tampered = data.replace(b"123/UBND-VP) Tj", b"923/UBND-VP) Tj")
    (sig,) = check(verifier, tampered, trust(pki)).signatures
    assert sig.status is SigStatus.BROKEN
    assert not check(verifier, tampered, trust(pki)).has_valid_trusted


def _change_page_text(signed: bytes) -> bytes:
    """A later revision that rewrites the page's text: what a forger would append."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref, _ = w.find_page_for_modification(0)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    page["/Contents"] = w.add_object(generic.StreamObject(
        stream_data=b"BT /F1 14 Tf 72 770 Td (Cong van so 999/UBND-VP) Tj ET"))
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_changed_after_signing(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    changed = _change_page_text((tmp_path / "s.pdf").read_bytes())
    verdict = check(verifier, changed, trust(pki))
    (sig,) = verdict.signatures
    assert sig.status is SigStatus.MODIFIED_AFTER_SIGNING
    assert sig.later_changes is LaterChanges.DISALLOWED
    assert headline(verdict, "vi").startswith("Văn bản đã bị sửa sau khi ký")


def test_signer_then_agency_both_valid(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "one.pdf", visible=False)
    result = sign_as(pki.agency, tmp_path / "one.pdf", tmp_path / "two.pdf")
    first, second = (tmp_path / "one.pdf").read_bytes(), (tmp_path / "two.pdf").read_bytes()
    assert second.startswith(first) and len(second) > len(first)  # an incremental update
    verdict = check(verifier, tmp_path / "two.pdf", trust(pki))
    person, agency = verdict.signatures
    assert person.status is agency.status is SigStatus.VALID_TRUSTED
    assert person.later_changes is LaterChanges.ALLOWED
    assert agency.later_changes is LaterChanges.NONE and agency.field == result.field
    assert agency.signer == "UBND xã Tân Phong"
    lines = describe(verdict, "en")
    assert lines[0].startswith("1. Valid signature — Nguyễn Văn An") and "allowed" in lines[0]


def test_revoked_signer_with_crl(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.revoked, make_pdf(), tmp_path / "s.pdf")
    verdict = check(verifier, tmp_path / "s.pdf", trust(pki))
    (sig,) = verdict.signatures
    assert sig.status is SigStatus.CERT_INVALID
    assert sig.revocation.state is RevocationState.REVOKED and sig.revocation.revoked_at
    assert "ĐÃ BỊ THU HỒI" in "\n".join(describe(verdict, "vi"))
    # without the CRL the same file looks fine but says revocation was not checked
    (offline,) = check(verifier, tmp_path / "s.pdf", trust(pki, crl=False)).signatures
    assert offline.status is SigStatus.VALID_TRUSTED
    assert offline.revocation.why_not is NotChecked.OFFLINE


def test_default_verifier_and_paths(tmp_path: Path, pki: Pki) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    assert verify_pdf(tmp_path / "s.pdf", trust(pki)).all_valid_trusted
    assert verify_pdf(tmp_path / "missing.pdf", trust(pki)).reason == "parse"
    assert verify_pdf(tmp_path, trust(pki)).state is PdfState.UNREADABLE
