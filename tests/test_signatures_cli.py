"""`gateway send` with the box's ``signing`` section: signs and records the verdict at send,
or refuses in one bilingual line and queues nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.testbed.pdf_samples import make_pdf
from tests.conftest import COMMUNE_B, CliRunner
from tests.signing_helpers import PASSWORD_ENV
from tests.signing_pki import P12_PASSWORD, shared_pki


def set_signing(data: Path, section: object) -> None:
    config = json.loads((data / "config.json").read_text())
    config["signing"] = section
    (data / "config.json").write_text(json.dumps(config))


def send(cli: CliRunner, data: Path, pdf: Path, env: dict[str, str] | None = None
         ) -> tuple[int, str, str]:
    r = cli("send", "--data", str(data), "--to", COMMUNE_B, "--subject", "Thử ký số",
            "--number", "7/UBND-VP", str(pdf), env=env)
    return r.returncode, r.stdout.strip(), r.stderr


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "to-trinh.pdf"
    path.write_bytes(make_pdf())
    return path


def key_section() -> dict[str, object]:
    pki = shared_pki()
    return {"key": {"type": "pkcs12", "path": str(pki.agency.p12), "password_env": PASSWORD_ENV},
            "trust": {"roots": str(pki.roots_pem)}}


def test_send_signs_and_shows_the_verdict(cli: CliRunner, gw_dir: Path, pdf: Path) -> None:
    set_signing(gw_dir, key_section())
    code, doc_id, err = send(cli, gw_dir, pdf, {PASSWORD_ENV: P12_PASSWORD})
    assert code == 0, err
    shown = cli("show", "--data", str(gw_dir), doc_id, env={"GATEWAY_LANG": "en"})
    assert "  to-trinh.pdf: Valid signature — " in shown.stdout


@pytest.mark.parametrize(("section", "env", "words"), [
    ({"key": {"type": "pkcs12", "path": "/x.p12", "pasword_file": "/p"}}, {},
     "Cấu hình ký số sai ở 'key': unknown key 'pasword_file'"),
    (None, {}, "Không mở được khóa ký số của cơ quan: environment variable"),
    (None, {PASSWORD_ENV: "sai"}, "Không mở được khóa ký số của cơ quan:"),
])
def test_a_signing_failure_queues_nothing(cli: CliRunner, gw_dir: Path, pdf: Path,
                                          section: object, env: dict[str, str],
                                          words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)  # other tests' helpers may have set it
    set_signing(gw_dir, section or key_section())
    code, out, err = send(cli, gw_dir, pdf, env)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and words in err, err
    assert cli("list", "--data", str(gw_dir), "--json").stdout.strip() == "[]"
