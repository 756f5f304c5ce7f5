"""``make bench-signing`` runs end to end on tiny PDFs (figures are printed, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import signing

pytestmark = pytest.mark.slow  # a benchmark run; `make test-slow`


def test_bench_prints_and_writes_figures(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert signing.main(["--sizes", "0.05,0.2", "--runs", "1",
                         "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "| PDF MiB |" in out and "Raspberry Pi 4 estimate" in out
    figures = json.loads((tmp_path / "s.json").read_text())
    assert [r["mib"] for r in figures["rows"]] == [0.05, 0.2]
