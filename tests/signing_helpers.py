"""Helpers shared by the signing tests: sign with a test party, trust configs, a verifier."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from gateway.signing.keys import Pkcs12Key, open_signer
from gateway.signing.sign import SignResult, sign_pdf
from gateway.signing.stamp import IssueInfo, StampConfig
from gateway.signing.trust import TrustConfig
from tests.signing_pki import P12_PASSWORD, Party, Pki

PASSWORD_ENV = "GW_TEST_P12_PASSWORD"
ISSUE = IssueInfo("UBND xã Tân Phong", "123/UBND-VP", datetime(2025, 5, 12, 7, 3, tzinfo=UTC))


def sign_as(party: Party, src: Path | bytes, out: Path, *, visible: bool = True,
            tsa_url: str | None = None) -> SignResult:
    os.environ[PASSWORD_ENV] = P12_PASSWORD
    with open_signer(Pkcs12Key(party.p12, password_env=PASSWORD_ENV)) as signer:
        return sign_pdf(src, out, signer, StampConfig(visible=visible), ISSUE, tsa_url=tsa_url)


def trust(pki: Pki, *, crl: bool = True, roots: Path | None = None) -> TrustConfig:
    return TrustConfig.from_files(roots or pki.roots_pem, [pki.crl] if crl else [])
