"""SIGKILL `gateway send` at random points, many times; nothing printed may be lost."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from tests.conftest import run_gateway

KILLS = 55

# Real processes killed dozens of times: about a minute each; `make test-slow` (and CI) runs them.
pytestmark = pytest.mark.slow


def start_sender(data: Path, files: list[Path]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_sender", str(data), *map(str, files)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def verify_store(data: Path, printed: set[str], sizes: dict[str, int]) -> int:
    store = await LocalStore.open(Layout(data), lambda: 0)
    try:
        assert await store.db.integrity_problems() == []
        assert list(store.blobs.tmp.iterdir()) == []  # swept at open: never visible anyway
        docs = {d.envelope.id: d for d in await store.list_documents()}
        assert printed <= set(docs), f"lost: {printed - set(docs)}"
        for doc in docs.values():  # every stored document is whole, printed or not
            env = doc.envelope
            assert doc.queue_state == "pending"
            assert {d.recipient for d in doc.deliveries} == set(env.recipients)
            assert [e.kind for e in await store.events(env.id)] == ["queued"]
            for att in env.attachments:
                assert att.size == sizes[att.sha256]
                assert store.blobs.verify(att.sha256)
        return len(docs)
    finally:
        await store.close()


async def test_sigkill_during_send_batches_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    data = tmp_path / "gw"
    assert run_gateway("init", "--data", str(data), "--agency", "000.00.31.H35").returncode == 0
    files = []
    sizes: dict[str, int] = {}
    for i, size in enumerate((300_000, 1_200_000, 2_500_000, 40_000)):
        blob = rng.randbytes(size)
        path = tmp_path / f"file{i}.pdf"
        path.write_bytes(blob)
        files.append(path)
        sizes[hashlib.sha256(blob).hexdigest()] = size
    printed: set[str] = set()
    for _ in range(KILLS):
        proc = start_sender(data, files)
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        printed |= {line.strip() for line in out.splitlines() if line.strip()}
        await verify_store(data, printed, sizes)
    stored = await verify_store(data, printed, sizes)
    assert len(printed) >= KILLS // 2, "kills landed too early to exercise sends"
    assert stored >= len(printed)
