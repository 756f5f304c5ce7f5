"""The hub hands its trust roots to the boxes: named in the sync config, served as the one blob
every enrolled box may read, installed by the box in its data directory and used for its
signature checks unless the box's own config names roots."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from gateway.hub.runtime import init_hub, open_hub, serve_hub
from gateway.linkemu import PROFILES
from gateway.model import Directory, Refused
from gateway.protocol.frames import FrameDecoder
from gateway.protocol.wire import TrustBundle
from gateway.services.signatures import verify
from gateway.signing import PdfVerdict, SigStatus
from gateway.store import verdicts
from gateway.testbed import Testbed
from gateway.testbed.bed import wait_until
from gateway.testbed.pdf_samples import make_pdf
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.security.hostile import Hub, doc, upload
from tests.signing_helpers import sign_as
from tests.signing_pki import shared_pki
from tests.test_hub_signatures import configure


async def test_the_sync_config_names_the_bundle_and_any_box_may_read_only_that_blob(
        tmp_path: Path) -> None:
    pki, root = shared_pki(), tmp_path / "hub"
    init_hub(root, "H35", Directory.sample(), ["127.0.0.1"])
    configure(root, trust_roots=str(pki.roots_pem))
    hub = Hub(root, await serve_hub(root))
    try:
        a = await hub.enroll(COMMUNE_A, tmp_path / "gw-a")
        b = await hub.enroll(COMMUNE_B, tmp_path / "gw-b")
        roots = pki.roots_pem.read_bytes()
        bundle = TrustBundle(hashlib.sha256(roots).hexdigest(), len(roots))
        assert (await b.sync()).config.trust == bundle
        got = await b.request("GET", f"/v1/blobs/{bundle.sha256}")
        assert got.status == 200
        assert b"".join(FrameDecoder().feed(got.body)) == roots
        secret = b"%PDF-1.7 not for B's eyes yet"  # its document waits for a second blob
        env = doc(COMMUNE_A, COMMUNE_B, secret, b"%PDF-1.7 never uploaded")
        assert (await a.sync(out=(env,))).accepted == (env.id,)
        await upload(a, secret)
        sha = hashlib.sha256(secret).hexdigest()
        assert (await b.request("GET", f"/v1/blobs/{sha}")).status == 404  # rule intact
    finally:
        await hub.close()


async def test_no_bundle_no_trust_key_and_a_missing_file_refuses_to_start(
        tmp_path: Path) -> None:
    root = tmp_path / "hub"
    init_hub(root, "H35", Directory.sample(), ["127.0.0.1"])
    hub = Hub(root, await serve_hub(root))
    try:
        b = await hub.enroll(COMMUNE_B, tmp_path / "gw-b")
        assert (await b.sync()).config.trust is None
    finally:
        await hub.close()
    configure(root, trust_roots="absent.pem")
    with pytest.raises(Refused):
        await open_hub(root)


async def test_a_box_installs_the_hubs_roots_checks_again_and_its_own_roots_win(
        tmp_path: Path) -> None:
    pki = shared_pki()
    root = tmp_path / "province" / "hub"
    tb = Testbed(tmp_path / "province", PROFILES["lan"], wait_s=1)
    await tb.start((COMMUNE_A, COMMUNE_B))  # the hub has no bundle yet
    try:
        signed = tmp_path / "cong-van.pdf"
        await asyncio.to_thread(sign_as, pki.agency, make_pdf(), signed)
        doc_id = await tb.send(COMMUNE_A, [COMMUNE_B], [signed])
        sha = hashlib.sha256(signed.read_bytes()).hexdigest()
        store = tb.gateway(COMMUNE_B).store

        async def status() -> SigStatus | None:
            kept = (await verdicts.of_document(store, doc_id)).get(sha)
            return None if kept is None else PdfVerdict.from_json(kept).signatures[0].status

        async def untrusted() -> bool:
            return await status() is SigStatus.VALID_UNTRUSTED_ROOT

        assert await wait_until(untrusted, 60), "no verdict on the box"

        # The province installs its roots: the hub restarts on the same port and hands them out.
        assert tb.hub is not None
        port = tb.hub.port
        await tb.hub.close()
        configure(root, trust_roots=str(pki.roots_pem))
        tb.hub = await serve_hub(root, port=port)

        async def trusted() -> bool:
            return await status() is SigStatus.VALID_TRUSTED

        assert await wait_until(trusted, 90), "the box never checked again with the hub's roots"
        installed = tb.gateway(COMMUNE_B).layout.hub_trust
        assert installed.read_bytes() == pki.roots_pem.read_bytes()

        # The box's own roots win over the hub's: an override for a box outside the scheme.
        await tb.stop_gateway(COMMUNE_B)
        data = tb.nodes[COMMUNE_B].data
        config = json.loads((data / "config.json").read_text())
        config["signing"] = {"trust": {"roots": str(pki.other_root_pem)}}
        (data / "config.json").write_text(json.dumps(config))
        (again,) = await verify(str(data), doc_id)
        assert again.verdict is not None
        assert again.verdict.signatures[0].status is SigStatus.VALID_UNTRUSTED_ROOT
    finally:
        await tb.stop()
