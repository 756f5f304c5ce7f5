"""Independent cross-checks with poppler's ``pdfsig`` and an NSS database made in the test:
poppler accepts what we sign, and we judge what poppler signs the same way poppler does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.signing import SigStatus, verify_pdf
from gateway.testbed.pdf_samples import make_pdf
from tests.signing_helpers import sign_as, trust
from tests.signing_pki import P12_PASSWORD, Pki, shared_pki

TOOLS = ("pdfsig", "certutil", "pk12util")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS),
    reason="needs poppler-utils (pdfsig) and libnss3-tools (certutil, pk12util); "
           ".ci/run installs them")


def run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def pki() -> Pki:
    return shared_pki()


@pytest.fixture(scope="module")
def nss(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database trusting the test root for signatures, holding the agency's key."""
    d = tmp_path_factory.mktemp("nss")
    db = f"sql:{d}"
    run("certutil", "-N", "-d", db, "--empty-password")
    run("certutil", "-A", "-d", db, "-n", "test-root", "-t", "CT,C,C", "-i", pki.roots_pem)
    run("pk12util", "-i", pki.agency.p12, "-d", db, "-W", P12_PASSWORD, "-K", "")
    return db


def pdfsig_report(nss: str, pdf: Path) -> tuple[list[str], list[str]]:
    """Signature validations and certificate validations, as poppler words them (it prints
    no certificate line for a signature whose digest is wrong)."""
    out = run("pdfsig", "-nssdir", nss, pdf)
    sig = [line.split(":", 1)[1].strip() for line in out.splitlines()
           if "Signature Validation:" in line]
    cert = [line.split(":", 1)[1].strip() for line in out.splitlines()
            if "Certificate Validation:" in line]
    return sig, cert


def test_poppler_accepts_our_two_signatures(tmp_path: Path, pki: Pki, nss: str) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "one.pdf", visible=False)
    sign_as(pki.agency, tmp_path / "one.pdf", tmp_path / "two.pdf")
    assert pdfsig_report(nss, tmp_path / "two.pdf") == (
        ["Signature is Valid."] * 2, ["Certificate is Trusted."] * 2)


def test_poppler_rejects_what_we_call_broken(tmp_path: Path, pki: Pki, nss: str) -> None:
    sign_as(pki.agency, make_pdf(), tmp_path / "s.pdf")
    data = (tmp_path / "s.pdf").read_bytes().replace(b"123/UBND-VP) Tj", b"923/UBND-VP) Tj")
    (tmp_path / "t.pdf").write_bytes(data)
    (sig_state,), _ = pdfsig_report(nss, tmp_path / "t.pdf")
    assert sig_state != "Signature is Valid."
    (ours,) = verify_pdf(tmp_path / "t.pdf", trust(pki)).signatures
    assert ours.status is SigStatus.BROKEN


def test_we_accept_what_poppler_signs(tmp_path: Path, pki: Pki, nss: str) -> None:
    (tmp_path / "in.pdf").write_bytes(make_pdf())
    run("pdfsig", "-add-signature", "-nssdir", nss, "-nick", "agency", "-reason", "issue",
        tmp_path / "in.pdf", tmp_path / "out.pdf")
    (sig,) = verify_pdf(tmp_path / "out.pdf", trust(pki)).signatures
    assert sig.status is SigStatus.VALID_TRUSTED
    assert (sig.signer, sig.serial) == ("UBND xã Tân Phong", "5102")


def test_poppler_adds_the_agency_signature_after_ours(tmp_path: Path, pki: Pki,
                                                      nss: str) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "one.pdf", visible=False)
    run("pdfsig", "-add-signature", "-nssdir", nss, "-nick", "agency",
        tmp_path / "one.pdf", tmp_path / "two.pdf")
    person, agency = verify_pdf(tmp_path / "two.pdf", trust(pki)).signatures
    assert person.status is agency.status is SigStatus.VALID_TRUSTED
    assert (person.signer, agency.signer) == ("Nguyễn Văn An", "UBND xã Tân Phong")
    # and a root nobody configured makes poppler's own signature untrusted for us too
    (stranger_view,) = verify_pdf(tmp_path / "two.pdf",
                                  trust(pki, roots=pki.other_root_pem)).signatures[1:]
    assert stranger_view.status is SigStatus.VALID_UNTRUSTED_ROOT
