"""Signing with a key on a PKCS#11 token (SoftHSM2 standing in for the agency's USB token)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.signing import SigStatus, verify_pdf
from gateway.signing.errors import KeyUnavailable
from gateway.signing.keys import Pkcs11Key, open_signer
from gateway.signing.sign import sign_pdf
from gateway.signing.stamp import StampConfig
from gateway.testbed.pdf_samples import make_pdf
from tests.signing_helpers import ISSUE, sign_as, trust
from tests.signing_pki import Pki, shared_pki

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "246810"
pytestmark = pytest.mark.skipif(
    not MODULE.exists() or shutil.which("softhsm2-util") is None
    or shutil.which("pkcs11-tool") is None,
    reason="needs softhsm2 (softhsm2-util, libsofthsm2.so) and opensc (pkcs11-tool); "
           ".ci/run installs them")


def run(*args: str | Path) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    """A token 'gw-agency' holding the agency's key and certificate and the intermediate."""
    pki = shared_pki()
    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run("softhsm2-util", "--init-token", "--free", "--label", "gw-agency", "--pin", PIN,
        "--so-pin", "13579")
    run("softhsm2-util", "--import", pki.agency.key_pem, "--token", "gw-agency",
        "--label", "agency", "--id", "01", "--pin", PIN)
    for tag, cert, ident in (("agency", pki.agency.cert, "01"),
                             ("inter", pki.intermediate.cert, "02")):
        der = d / f"{tag}.der"
        der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        run("pkcs11-tool", "--module", MODULE, "--token-label", "gw-agency", "--login",
            "--pin", PIN, "--write-object", der, "--type", "cert", "--label", tag,
            "--id", ident)
    yield pki
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


def pin_file(tmp_path: Path, pin: str) -> Path:
    path = tmp_path / "pin"
    path.write_text(pin + "\n")
    path.chmod(0o600)
    return path


def test_token_signature_is_valid_and_keeps_the_signer(tmp_path: Path, token: Pki) -> None:
    sign_as(token.signer, make_pdf(), tmp_path / "one.pdf", visible=False)
    key = Pkcs11Key(MODULE, key_label="agency", token_label="gw-agency",
                    pin_file=pin_file(tmp_path, PIN))
    with open_signer(key) as signer:
        sign_pdf(tmp_path / "one.pdf", tmp_path / "two.pdf", signer, StampConfig(), ISSUE)
    person, agency = verify_pdf(tmp_path / "two.pdf", trust(token)).signatures
    assert person.status is agency.status is SigStatus.VALID_TRUSTED
    assert (agency.signer, agency.serial) == ("UBND xã Tân Phong", "5102")


def test_pin_from_a_prompt(tmp_path: Path, token: Pki) -> None:
    asked: list[bool] = []

    def prompt() -> str:
        asked.append(True)
        return PIN

    with open_signer(Pkcs11Key(MODULE, key_label="agency", token_label="gw-agency"),
                     pin_prompt=prompt) as signer:
        sign_pdf(make_pdf(), tmp_path / "s.pdf", signer, StampConfig(visible=False), ISSUE)
    assert asked == [True]
    assert verify_pdf(tmp_path / "s.pdf", trust(token)).all_valid_trusted


def test_wrong_pin_and_missing_token_are_plain_errors(tmp_path: Path, token: Pki) -> None:
    with pytest.raises(KeyUnavailable) as wrong, open_signer(Pkcs11Key(
            MODULE, key_label="agency", token_label="gw-agency",
            pin_file=pin_file(tmp_path, "000000"))):
        pass
    assert "Không mở được khóa ký số" in wrong.value.text("vi")
    with pytest.raises(KeyUnavailable), open_signer(Pkcs11Key(
            MODULE, key_label="agency", token_label="no-such-token",
            pin_file=pin_file(tmp_path, PIN))):
        pass


def test_world_readable_pin_file_is_refused(tmp_path: Path, token: Pki) -> None:
    path = pin_file(tmp_path, PIN)
    path.chmod(0o644)
    with pytest.raises(KeyUnavailable) as refused, open_signer(Pkcs11Key(
            MODULE, key_label="agency", token_label="gw-agency", pin_file=path)):
        pass
    assert "chmod o-r" in refused.value.text("en")
