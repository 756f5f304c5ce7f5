"""The ``signing`` config section: parsed strictly, and docs/signing.md documents every key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.signing.config import KEYS, SigningConfig
from gateway.signing.errors import SigningConfigError
from gateway.signing.keys import Pkcs11Key, Pkcs12Key
from gateway.signing.stamp import DEFAULT_FONT, Position

DOC = Path(__file__).resolve().parent.parent / "docs" / "signing.md"


def test_defaults_verify_only() -> None:
    cfg = SigningConfig.from_json(None)
    assert cfg.key is None and cfg.tsa_url is None and not cfg.allow_fetching
    assert cfg.stamp.font == DEFAULT_FONT and cfg.stamp.position is Position.TOP_RIGHT


def test_full_pkcs11_section() -> None:
    cfg = SigningConfig.from_json({
        "key": {"type": "pkcs11", "module": "/usr/lib/softhsm/libsofthsm2.so",
                "token_label": "T", "key_label": "agency", "pin_file": "/etc/gw/pin"},
        "tsa_url": "http://127.0.0.1:8080/tsa",
        "stamp": {"position": "bottom-left", "page": 2, "box": [1, 2, 3, 4], "visible": True},
        "trust": {"roots": "/r.pem", "crls": ["/a.crl"], "allow_fetching": False},
        "verify": {"timeout_s": 5, "memory_mib": 512, "max_pdf_mib": 64}})
    assert cfg.key == Pkcs11Key(Path("/usr/lib/softhsm/libsofthsm2.so"), "agency", "T", None,
                                None, Path("/etc/gw/pin"))
    assert cfg.stamp.position is Position.BOTTOM_LEFT and cfg.stamp.box == (1, 2, 3, 4)
    assert cfg.roots == Path("/r.pem") and cfg.crls == (Path("/a.crl"),)
    assert (cfg.limits.timeout_s, cfg.limits.memory, cfg.limits.max_pdf) == (5, 512 << 20,
                                                                             64 << 20)


def test_pkcs12_section() -> None:
    cfg = SigningConfig.from_json({"key": {"type": "pkcs12", "path": "/k.p12",
                                           "password_env": "GW_P12"}})
    assert cfg.key == Pkcs12Key(Path("/k.p12"), None, "GW_P12")


@pytest.mark.parametrize("bad", [
    [], {"pasword_file": "x"}, {"key": {"type": "pem"}}, {"key": {"type": "pkcs12"}},
    {"key": {"type": "pkcs11", "module": "/m.so"}}, {"tsa_url": "ftp://x"},
    {"stamp": {"position": "middle"}}, {"stamp": {"page": 0}}, {"stamp": {"box": [1, 2]}},
    {"trust": {"crls": "/a.crl"}}, {"trust": {"allow_fetching": "yes"}},
    {"verify": {"memory_mib": 1}}, {"key": {"type": "pkcs11", "module": "/m", "key_label": "k",
                                            "slot": True}},
])
def test_mistakes_are_refused_in_both_languages(bad: object) -> None:
    with pytest.raises(SigningConfigError) as refused:
        SigningConfig.from_json(bad)
    assert refused.value.text("vi").startswith("Cấu hình ký số sai")
    assert refused.value.text("en").startswith("The signing configuration is wrong")


def test_doc_lists_exactly_the_keys_the_parser_knows() -> None:
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", DOC.read_text(encoding="utf-8"),
                                re.MULTILINE))
    known = set().union(*KEYS.values())
    assert documented == known


def test_config_and_verdicts_do_not_import_the_pdf_stack() -> None:
    """The daemon loads its config and reads verdicts without carrying pyhanko's memory."""
    code = ("import sys, gateway.signing, gateway.signing.config, gateway.signing.wording;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pyhanko', 'pyhanko_certvalidator', 'fontTools', 'asn1crypto', 'uharfbuzz'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
