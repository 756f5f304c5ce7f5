"""Hostile PDFs end as an "unreadable" (or broken) verdict within time and memory bounds; the
calling process never sees an exception and the verifier keeps working afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.signing import PdfState, SigStatus, Verifier, VerifyLimits
from gateway.signing.verdict import PdfVerdict
from gateway.testbed.pdf_samples import make_pdf
from tests import hostile_pdfs as h
from tests.signing_helpers import sign_as, trust
from tests.signing_pki import Pki, shared_pki

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def pki() -> Pki:
    return shared_pki()


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(VerifyLimits(timeout_s=10)) as v:
        yield v


def timed(v: Verifier, source: bytes | Path, pki: Pki) -> tuple[PdfVerdict, float]:
    start = time.monotonic()
    verdict = v.verify(source, trust(pki))
    return verdict, time.monotonic() - start


@pytest.mark.parametrize("name", ["empty", "garbage", "truncated", "huge_xref", "deep_arrays",
                                  "deep_dicts", "page_tree_loop"])
def test_unreadable_quickly(name: str, tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    signed = (tmp_path / "s.pdf").read_bytes()
    data = {"empty": b"", "garbage": b"%PDF-1.7\n" + os.urandom(4096),
            "truncated": signed[: len(signed) // 2], "huge_xref": h.huge_xref(),
            "deep_arrays": h.deep_arrays(), "deep_dicts": h.deep_dicts(),
            "page_tree_loop": h.self_reference_loop()}[name]
    verdict, seconds = timed(verifier, data, pki)
    assert verdict.state is PdfState.UNREADABLE and verdict.reason == "parse", verdict
    assert seconds < 5
    assert verifier.verify(signed, trust(pki)).all_valid_trusted  # still serving


def test_lying_byte_range_is_never_valid(tmp_path: Path, pki: Pki, verifier: Verifier) -> None:
    sign_as(pki.signer, make_pdf(), tmp_path / "s.pdf")
    lying = h.lying_byte_range((tmp_path / "s.pdf").read_bytes())
    verdict, seconds = timed(verifier, lying, pki)
    assert seconds < 5 and not verdict.has_valid_trusted
    assert verdict.state is PdfState.UNREADABLE or all(
        s.status in (SigStatus.BROKEN, SigStatus.UNREADABLE) for s in verdict.signatures)


def test_flate_bomb_is_not_inflated(pki: Pki, verifier: Verifier) -> None:
    verdict, seconds = timed(verifier, h.flate_bomb(), pki)
    assert verdict.state in (PdfState.UNSIGNED, PdfState.UNREADABLE) and seconds < 5


def test_memory_cap_ends_in_a_verdict_and_a_fresh_worker(pki: Pki) -> None:
    with Verifier(VerifyLimits(memory=160 * MiB)) as v:
        verdict, _ = timed(v, make_pdf(size=120 * MiB), pki)
        assert (verdict.state, verdict.reason) == (PdfState.UNREADABLE, "memory")
        assert v.verify(make_pdf(), trust(pki)).state is PdfState.UNSIGNED
        assert v.spawned == 2


def test_100_mib_stream_without_xref_hits_the_deadline(tmp_path: Path, pki: Pki) -> None:
    big = h.big_stream_file(tmp_path / "big.pdf")
    with Verifier(VerifyLimits(timeout_s=2)) as v:
        verdict, seconds = timed(v, big, pki)
        assert verdict.state is PdfState.UNREADABLE and verdict.reason in ("timeout", "parse")
        assert seconds < 4
        assert v.verify(make_pdf(), trust(pki)).state is PdfState.UNSIGNED


def test_size_limit_is_checked_before_parsing(tmp_path: Path, pki: Pki) -> None:
    with Verifier(VerifyLimits(max_pdf=1 * MiB)) as v:
        verdict = v.verify(make_pdf(size=2 * MiB), trust(pki))
        assert verdict.reason == "too_large" and v.spawned == 0


def test_a_killed_worker_is_replaced(pki: Pki, verifier: Verifier) -> None:
    assert verifier.verify(make_pdf(), trust(pki)).state is PdfState.UNSIGNED
    proc = verifier._proc  # the worker dies as if the kernel's OOM killer had struck
    assert proc is not None
    proc.kill()
    proc.wait()
    verdict = verifier.verify(make_pdf(), trust(pki))
    assert verdict.state in (PdfState.UNSIGNED, PdfState.UNREADABLE)
    assert verifier.verify(make_pdf(), trust(pki)).state is PdfState.UNSIGNED
