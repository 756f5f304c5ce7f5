"""The CA key kept off the hub: enrollment still works end to end through the offline
signing round (requests → sign at the CA → install → the box asks again), hostile files are
refused, and a renewed server certificate is trusted by an enrolled box after a restart."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from gateway.cli.hub_admin import init_offline as hub_init_offline
from gateway.hub.enrollment import create_token
from gateway.hub.runtime import serve_hub
from gateway.model import Refused
from gateway.security.ca import PkiError, create_ca
from gateway.security.identity import generate_key_and_csr
from gateway.security.offline_ca import SignRequest, parse_signed, requests_file, sign_requests
from gateway.services.daemon import enroll
from gateway.services.hub import hub_token
from gateway.services.hub_ca import install_signed, renew_certificate, sign_file, write_requests
from gateway.store.hub.documents import HubStore
from gateway.sync.daemon import open_gateway
from tests.conftest import COMMUNE_A
from tests.e2e_helpers import gw

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")



async def _fleet_requests(store: HubStore, url: str, hub_dir: Path) -> object:
    """What ``/v1/fleet`` says about enrollments waiting for the offline CA."""
    admin = await create_token(store, "admin", timedelta(hours=1), kind="admin")
    ctx = ssl.create_default_context(cafile=str(hub_dir / "ca" / "ca.pem"))
    async with aiohttp.ClientSession() as session, session.get(
            f"{url}/v1/fleet", headers={"Authorization": f"Bearer {admin}"}, ssl=ctx) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert isinstance(body, dict)
    return body["enroll_requests"]


def _served_cert(port: int) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


async def test_enrollment_and_renewal_with_the_ca_key_offline(tmp_path: Path) -> None:
    hub_dir, ca_dir, box = tmp_path / "hub", tmp_path / "usb-ca", tmp_path / "box"
    await hub_init_offline(argparse.Namespace(
        data=str(hub_dir), province="H35", directory=None, names=["127.0.0.1"],
        ca_offline=str(ca_dir)))
    assert not (hub_dir / "ca" / "ca-key.pem").exists()
    assert (ca_dir / "ca-key.pem").stat().st_mode & 0o077 == 0
    hub = await serve_hub(hub_dir)
    try:
        url = f"https://127.0.0.1:{hub.port}"
        token = await hub_token(str(hub_dir), COMMUNE_A, "1h")
        # 1. The box enrolls: the hub keeps its request and says it waits for signing.
        code, _, err = await gw("init", "--data", str(box), "--agency", COMMUNE_A,
                                "--hub", url, "--token", token)
        assert code == 1 and "chờ tỉnh ký" in err, err
        assert not (box / "identity" / "cert.pem").exists()
        assert await _fleet_requests(hub.state.store, url, hub_dir) == 1  # the IT team sees it
        # 2. To the CA and back (the commands' services, in this process).
        requests, signed = tmp_path / "requests.json", tmp_path / "signed.json"
        assert await write_requests(str(hub_dir), str(requests)) == 1
        assert "enr_" not in requests.read_text()  # the token never leaves the hub
        assert sign_file(ca_dir, requests, signed) == 1
        assert await install_signed(str(hub_dir), str(signed)) == (1, 0)
        assert await install_signed(str(hub_dir), str(signed)) == (0, 1)  # twice: no change
        assert await _fleet_requests(hub.state.store, url, hub_dir) == 0
        # 3. The same enrollment again: the box gets its certificate and syncs over mTLS.
        await enroll(str(box), url, token)
        gateway = await open_gateway(box, wait_s=0)
        try:
            assert await gateway.client.sync_once() is not None
        finally:
            await gateway.close()

        # 4. Renewal: a new server certificate from the same (offline) CA.
        before = await asyncio.to_thread(_served_cert, hub.port)
        port = hub.port
    finally:
        await hub.close()
    with pytest.raises(Refused, match=r"ca-key\.pem"):  # without the key: says which file
        renew_certificate(hub_dir, [], None)
    code, out, err = await gw("hub", "renew-cert", "--data", str(hub_dir), "--ca", str(ca_dir))
    assert code == 0 and "127.0.0.1" in out and "systemctl restart commune-hub" in out, err
    hub = await serve_hub(hub_dir, port=port)
    try:
        assert await asyncio.to_thread(_served_cert, hub.port) != before
        gateway = await open_gateway(box, wait_s=0)
        try:
            assert await gateway.client.sync_once() is not None
        finally:
            await gateway.close()
    finally:
        await hub.close()


def _pem(path: Path) -> bytes:
    return path.read_bytes()


async def test_hostile_signing_files_are_refused(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    create_ca(ca_dir, "H35", now=datetime.now(UTC))
    bad_csr = {"format": "commune-enroll-requests/1", "ca": "",
               "requests": [{"id": "a" * 64, "agency": COMMUNE_A,
                             "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                    "-----END CERTIFICATE REQUEST-----\n"}]}
    for name, content in (("csr.json", json.dumps(bad_csr)), ("junk.json", "[" * 100_000),
                          ("big.json", " " * (9 * 2**20))):
        (tmp_path / name).write_text(content)
        with pytest.raises(Refused) as caught:
            sign_file(ca_dir, tmp_path / name, tmp_path / f"{name}.out")
        assert caught.value.codes == ("ca.refused",)
        assert not (tmp_path / f"{name}.out").exists()
    # A certificate signed by a foreign CA, filed as ours, is refused at install.
    foreign = create_ca(tmp_path / "foreign", "H99", now=datetime.now(UTC))
    _key, csr = generate_key_and_csr(COMMUNE_A)
    raw = requests_file([SignRequest("b" * 64, COMMUNE_A, csr.decode())], b"")
    signed, count = sign_requests(foreign, raw, now=datetime.now(UTC))
    assert count == 1
    with pytest.raises(PkiError, match="not issued by this hub's CA"):
        parse_signed(signed, _pem(ca_dir / "ca.pem"))
