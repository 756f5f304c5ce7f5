"""A SoftHSM2 token standing in for the agency's USB token, for every test that signs with
PKCS#11 (the signing package's own tests, the clerk's screen, the ``gateway send`` command).

Test modules take the fixture by assigning it (``token = softhsm.token``). It points
``SOFTHSM2_CONF`` of this process (and so of the subprocesses it starts) at a token made in a
temp directory, holding the shared test agency's key, its certificate and the intermediate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.signing_pki import Pki, shared_pki

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
LABEL = "gw-agency"
PIN = "aas2dd68"  # letters the Telex and VNI input methods would change
SO_PIN = "13579"
needs_softhsm = pytest.mark.skipif(
    not MODULE.exists() or shutil.which("softhsm2-util") is None
    or shutil.which("pkcs11-tool") is None,
    reason="needs softhsm2 (softhsm2-util, libsofthsm2.so) and opensc (pkcs11-tool); "
           ".ci/run installs them")


def run(*args: str | Path) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)


def signing_key(**extra: object) -> dict[str, object]:
    """The ``signing.key`` config object naming the token (add ``pin_file`` in ``extra``)."""
    return {"type": "pkcs11", "module": str(MODULE), "token_label": LABEL,
            "key_label": "agency", **extra}


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
    run("softhsm2-util", "--init-token", "--free", "--label", LABEL, "--pin", PIN,
        "--so-pin", SO_PIN)
    run("softhsm2-util", "--import", pki.agency.key_pem, "--token", LABEL,
        "--label", "agency", "--id", "01", "--pin", PIN)
    for tag, cert, ident in (("agency", pki.agency.cert, "01"),
                             ("inter", pki.intermediate.cert, "02")):
        der = d / f"{tag}.der"
        der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        run("pkcs11-tool", "--module", MODULE, "--token-label", LABEL, "--login",
            "--pin", PIN, "--write-object", der, "--type", "cert", "--label", tag,
            "--id", ident)
    yield pki
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old
