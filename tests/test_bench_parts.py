"""Bench parts: the corpus is deterministic, sized and valid; the baselines really move files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bench.baselines import (
    RsyncDaemon,
    UploadServer,
    check_tools_cli,
    curl_upload,
    ensure_tools,
    rsync_push,
)
from bench.corpus import KINDS, CorpusFile, MiB, make_corpus, summary

SMALL = 1 * MiB


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return make_corpus(tmp_path_factory.mktemp("corpus"), seed=7, total_bytes=SMALL)


def test_corpus_is_deterministic_and_sized(corpus: list[CorpusFile], tmp_path: Path) -> None:
    again = make_corpus(tmp_path / "again", seed=7, total_bytes=SMALL)
    assert [(f.path.name, f.sha256) for f in again] == [(f.path.name, f.sha256) for f in corpus]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(again, corpus,
                                                                           strict=True))
    total = sum(f.size for f in corpus)
    assert abs(total - SMALL) <= SMALL // 10, total
    assert {f.kind for f in corpus} <= set(KINDS)
    assert {"digital", "scan-small"} <= {f.kind for f in corpus}
    other = make_corpus(tmp_path / "other", seed=8, total_bytes=SMALL)
    assert {f.sha256 for f in other}.isdisjoint({f.sha256 for f in corpus})
    assert "total" in summary(corpus)


def test_corpus_files_are_pdfs(corpus: list[CorpusFile]) -> None:
    for f in corpus:
        data = f.path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), f.path.name
        assert f.size == len(data) and f.path.is_absolute()
        assert (b"/FontFile2" in data) == (f.kind == "digital"), f.path.name


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (poppler-utils) missing")
def test_corpus_pdfs_parse_with_poppler(corpus: list[CorpusFile]) -> None:
    picks = [next(f for f in corpus if f.kind == k) for k in ("digital", "scan-small")]
    for f in picks:
        res = subprocess.run(["pdfinfo", str(f.path)], capture_output=True, text=True, check=False)
        assert res.returncode == 0 and not res.stderr, res.stderr
        assert "Pages:" in res.stdout
    if shutil.which("pdftotext"):  # the ToUnicode map makes the Vietnamese text extractable
        text = subprocess.run(["pdftotext", str(picks[0].path), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "ỦY BAN NHÂN DÂN" in text and "Độc lập - Tự do - Hạnh phúc" in text


def _tiny_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 300)
    (root / "sub" / "b.txt").write_text("công văn số 12/UBND-VP\n", encoding="utf-8")
    return root


def test_ensure_tools_reports(capsys: pytest.CaptureFixture[str]) -> None:
    missing = ensure_tools()
    assert check_tools_cli() == (1 if missing else 0)
    assert ("apt-get install" in capsys.readouterr().out) == bool(missing)


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync missing: apt-get install rsync")
async def test_rsync_daemon_push(tmp_path: Path) -> None:
    src = _tiny_tree(tmp_path / "src")
    async with RsyncDaemon("inbox") as daemon:
        res = await rsync_push(src, daemon.host, daemon.port, "inbox", timeout_s=20,
                               dest_dir=daemon.path)
        assert res.ok and res.attempts == 1, res
        assert (daemon.path / "sub" / "b.txt").read_bytes() == (src / "sub" / "b.txt").read_bytes()
        again = await rsync_push(src, daemon.host, daemon.port, "inbox", timeout_s=20,
                                 dest_dir=daemon.path)
        assert again.ok and again.attempts == 1


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync missing: apt-get install rsync")
async def test_rsync_push_retries_then_gives_up(tmp_path: Path) -> None:
    src = _tiny_tree(tmp_path / "src")
    async with RsyncDaemon() as daemon:
        port = daemon.port  # nothing listens here once the daemon is gone
    res = await rsync_push(src, "127.0.0.1", port, "inbox", timeout_s=1.5, dest_dir=tmp_path,
                           retry_delay_s=0.1)
    assert not res.ok and res.attempts >= 2 and "gave up" in res.detail


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl missing: apt-get install curl")
async def test_curl_upload(tmp_path: Path) -> None:
    src = _tiny_tree(tmp_path / "src")
    files = [src / "a.pdf", src / "sub" / "b.txt"]
    async with UploadServer() as server:
        res = await curl_upload(files, server.host, server.port, timeout_s=20,
                                dest_dir=server.path)
        assert res.ok and res.attempts == 2, res
        async with aiohttp.ClientSession() as http:
            url = f"http://{server.host}:{server.port}/files/.hidden"
            async with http.put(url, data=b"x") as resp:
                assert resp.status == 400
        assert not (server.path / ".hidden").exists()
