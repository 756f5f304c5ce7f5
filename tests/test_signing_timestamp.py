"""PAdES B-T: a timestamp from a real RFC 3161 server on 127.0.0.1 (aiohttp in front of
pyhanko's test TSA), proven time in the verdict; an unreachable TSA is a plain error."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from gateway.signing import SigStatus, verify_pdf
from gateway.signing.errors import SignFailed
from gateway.signing.keys import Pkcs12Key, open_signer
from gateway.signing.sign import sign_pdf_async
from gateway.signing.stamp import StampConfig
from gateway.testbed.pdf_samples import make_pdf
from tests.signing_helpers import ISSUE, PASSWORD_ENV, trust
from tests.signing_pki import P12_PASSWORD, shared_pki


@pytest.fixture
async def tsa_url() -> AsyncIterator[str]:
    pki = shared_pki()
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki.tsa.cert.public_bytes(
            serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(pki.tsa.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())))

    async def answer(request: web.Request) -> web.Response:
        req = tsp.TimeStampReq.load(await request.read())
        resp = await stamper.async_request_tsa_response(req)
        return web.Response(body=resp.dump(), content_type="application/timestamp-reply")

    app = web.Application()
    app.router.add_post("/tsa", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/tsa"
    await runner.cleanup()


async def test_b_t_has_a_proven_time(tmp_path: Path, tsa_url: str) -> None:
    pki = shared_pki()
    os.environ[PASSWORD_ENV] = P12_PASSWORD
    with open_signer(Pkcs12Key(pki.agency.p12, password_env=PASSWORD_ENV)) as signer:
        result = await sign_pdf_async(make_pdf(), tmp_path / "s.pdf", signer, StampConfig(),
                                      ISSUE, tsa_url=tsa_url)
    assert result.level == "B-T"
    (sig,) = verify_pdf(tmp_path / "s.pdf", trust(pki)).signatures
    assert sig.status is SigStatus.VALID_TRUSTED
    assert sig.proven_time is not None and sig.timestamp_trusted
    assert sig.claimed_time is not None
    assert abs((sig.proven_time - sig.claimed_time).total_seconds()) < 120


async def test_unreachable_tsa_is_a_plain_error(tmp_path: Path) -> None:
    pki = shared_pki()
    os.environ[PASSWORD_ENV] = P12_PASSWORD
    key = Pkcs12Key(pki.agency.p12, password_env=PASSWORD_ENV)
    with open_signer(key) as signer, pytest.raises(SignFailed) as failed:
        await sign_pdf_async(make_pdf(), tmp_path / "s.pdf", signer, StampConfig(), ISSUE,
                             tsa_url="http://127.0.0.1:9/tsa", tsa_timeout_s=3)
    assert "Không ký số được" in failed.value.text("vi")
    assert not (tmp_path / "s.pdf").exists()
