"""Signing with a key on a PKCS#11 token (SoftHSM2 standing in for the agency's USB token)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.signing import SigStatus, verify_pdf
from gateway.signing.errors import KeyUnavailable
from gateway.signing.keys import Pkcs11Key, _pin_refusal, open_signer
from gateway.signing.sign import sign_pdf
from gateway.signing.stamp import StampConfig
from gateway.testbed.pdf_samples import make_pdf
from tests import softhsm
from tests.signing_helpers import ISSUE, sign_as, trust
from tests.signing_pki import Pki
from tests.softhsm import MODULE, PIN

pytestmark = softhsm.needs_softhsm
token = softhsm.token


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
    assert wrong.value.problem.code == "signing.pin_wrong"
    text = wrong.value.text("vi")
    assert text.startswith("Sai mã PIN của thiết bị ký số (USB token).")
    assert "sẽ tự khóa sau vài lần nhập sai liên tiếp (thường 5 đến 10 lần" in text
    assert "000000" not in text + wrong.value.text("en") + str(wrong.value)
    asked: list[bool] = []

    def prompt() -> str:
        asked.append(True)
        return PIN

    with pytest.raises(KeyUnavailable) as missing, open_signer(Pkcs11Key(
            MODULE, key_label="agency", token_label="no-such-token"), pin_prompt=prompt):
        pass
    assert missing.value.problem.code == "signing.token_missing"
    assert missing.value.text("en").startswith(
        "The signing token (USB token) 'no-such-token' is not there. Plug it in")
    assert asked == []  # no PIN is asked for a token that is not there


def test_no_pin_and_empty_pin_are_refused_without_trying(token: Pki) -> None:
    key = Pkcs11Key(MODULE, key_label="agency", token_label="gw-agency")
    with pytest.raises(KeyUnavailable) as none, open_signer(key):
        pass
    assert none.value.problem.code == "signing.pin_missing"
    assert "chạy lệnh trong một cửa sổ dòng lệnh (terminal)" in none.value.text("vi")
    with pytest.raises(KeyUnavailable) as empty, open_signer(key, pin_prompt=lambda: ""):
        pass
    assert empty.value.problem.code == "signing.pin_empty"


def test_locked_and_expired_pins_in_plain_words() -> None:
    """SoftHSM never locks a token, so the token's own exceptions are handed over here."""
    from pkcs11 import exceptions

    key = Pkcs11Key(MODULE, key_label="agency", token_label="gw-agency")
    locked = _pin_refusal(exceptions.PinLocked(), key).problem
    assert locked.code == "signing.pin_locked"
    assert locked.vi.startswith("Thiết bị ký số (USB token) đã bị khóa vì nhập sai mã PIN")
    assert "do not try more PINs" in locked.en
    assert _pin_refusal(exceptions.PinExpired(), key).problem.code == "signing.pin_expired"
    pulled = _pin_refusal(exceptions.TokenNotPresent(), key).problem
    assert pulled.code == "signing.token_missing" and "'gw-agency'" in pulled.vi


def test_world_readable_pin_file_is_refused(tmp_path: Path, token: Pki) -> None:
    path = pin_file(tmp_path, PIN)
    path.chmod(0o644)
    with pytest.raises(KeyUnavailable) as refused, open_signer(Pkcs11Key(
            MODULE, key_label="agency", token_label="gw-agency", pin_file=path)):
        pass
    assert "chmod o-r" in refused.value.text("en")
