"""Signatures end to end: a box with the agency's PKCS#12 key signs a PDF at send, it crosses a
real hub to another box, whose `gateway show`/`verify` call it valid and trusted, and poppler
agrees on the exported file; a tampered PDF and a damaged one still arrive, shown for what they
are."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.linkemu import PROFILES
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from gateway.testbed.pdf_samples import make_pdf
from tests.conftest import COMMUNE_A, COMMUNE_B, run_gateway
from tests.signing_helpers import PASSWORD_ENV, sign_as
from tests.signing_pki import P12_PASSWORD, Pki, shared_pki

LAN = PROFILES["lan"]


def configure(data: Path, pki: Pki, *, key: bool) -> None:
    """Adds a ``signing`` section: the test root as trust, and the agency's key if ``key``."""
    config = json.loads((data / "config.json").read_text())
    signing: dict[str, object] = {"trust": {"roots": str(pki.roots_pem)}}
    if key:
        signing["key"] = {"type": "pkcs12", "path": str(pki.agency.p12),
                          "password_env": PASSWORD_ENV}
    config["signing"] = signing
    (data / "config.json").write_text(json.dumps(config))


def pdfsig_valid(pki: Pki, pdf: Path, tmp: Path) -> list[str]:
    db = tmp / "nss"
    db.mkdir()
    for args in (["certutil", "-N", "-d", f"sql:{db}", "--empty-password"],
                 ["certutil", "-A", "-d", f"sql:{db}", "-n", "root", "-t", "CT,C,C", "-i",
                  str(pki.roots_pem)]):
        subprocess.run(args, check=True, capture_output=True, timeout=60)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{db}", str(pdf)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return [line.split(":", 1)[1].strip() for line in out.splitlines()
            if "Validation:" in line]


async def arrived(tb: Testbed, agency: str, doc_id: str) -> bool:
    return any(d.envelope.id == doc_id for d in await tb.inbox(agency))


@pytest.mark.skipif(shutil.which("pdfsig") is None or shutil.which("certutil") is None,
                    reason="needs poppler-utils and libnss3-tools (.ci/run installs them)")
async def test_signed_at_send_valid_at_the_recipient(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pki = shared_pki()
    monkeypatch.setenv(PASSWORD_ENV, P12_PASSWORD)
    tb = Testbed(tmp_path / "province", LAN, wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))
    try:
        for agency, key in ((COMMUNE_A, True), (COMMUNE_B, False)):
            await tb.stop_gateway(agency)
            configure(tb.nodes[agency].data, pki, key=key)
            await tb.start_gateway(agency)
        original = tmp_path / "cong-van.pdf"
        original.write_bytes(make_pdf())
        signed_id = await tb.send(COMMUNE_A, [COMMUNE_B], [original])
        await asyncio.to_thread(sign_as, pki.signer, make_pdf(), tmp_path / "by-signer.pdf")
        tampered = tmp_path / "da-sua.pdf"
        tampered.write_bytes((tmp_path / "by-signer.pdf").read_bytes().replace(
            b"123/UBND-VP) Tj", b"923/UBND-VP) Tj"))
        damaged = tmp_path / "hong.pdf"
        damaged.write_bytes(make_pdf()[:300])
        other_id = await tb.send(COMMUNE_B, [COMMUNE_A], [tampered, damaged])

        (sent,) = await tb.outbox(COMMUNE_A)
        (att,) = sent.envelope.attachments
        assert att.sha256 != (await tb.outbox(COMMUNE_B))[0].envelope.attachments[0].sha256
        assert att.size > original.stat().st_size  # the envelope describes the signed bytes

        async def checked() -> bool:
            return (await arrived(tb, COMMUNE_B, signed_id)
                    and await arrived(tb, COMMUNE_A, other_id)
                    and tb.gateway(COMMUNE_B).client.signatures.checked >= 1
                    and tb.gateway(COMMUNE_A).client.signatures.checked >= 2)

        assert await wait_until(checked, 60), "documents or verdicts missing"
        b_data, a_data = str(tb.nodes[COMMUNE_B].data), str(tb.nodes[COMMUNE_A].data)

        shown = run_gateway("show", "--data", b_data, signed_id)
        assert shown.returncode == 0, shown.stderr
        assert "Chữ ký số:" in shown.stdout
        assert "cong-van.pdf: Chữ ký hợp lệ — " in shown.stdout
        as_json = json.loads(run_gateway("show", "--data", b_data, signed_id, "--json").stdout)
        (sig,) = as_json["signatures"]
        assert sig["verdict"]["state"] == "signed"
        (one,) = sig["verdict"]["signatures"]
        assert one["status"] == "valid_trusted"
        assert one["revocation"] == {"state": "not_checked", "why_not": "offline",
                                     "revoked_at": None}
        verified = run_gateway("verify", "--data", b_data, signed_id)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith("cong-van.pdf: Chữ ký hợp lệ — ")

        out = tmp_path / "out"
        out.mkdir()  # export writes into an existing folder only
        assert run_gateway("export", "--data", b_data, signed_id, "--to", str(out)
                           ).returncode == 0
        assert pdfsig_valid(pki, out / "cong-van.pdf", tmp_path) == [
            "Signature is Valid.", "Certificate is Trusted."]

        bad = run_gateway("verify", "--data", a_data, other_id, env={"GATEWAY_LANG": "en"})
        assert bad.returncode == 1
        assert bad.stdout.splitlines() == [
            "da-sua.pdf: Invalid signature: the content was altered or the signature is damaged"
            " — Nguyễn Văn An (UBND xã Tân Phong)",
            "hong.pdf: Signatures could not be checked: damaged PDF file"]
        shown = run_gateway("show", "--data", a_data, other_id)
        assert "da-sua.pdf: Chữ ký không hợp lệ" in shown.stdout
    finally:
        await tb.stop()
