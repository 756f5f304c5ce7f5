"""The benchmark harness runs end to end on a tiny corpus (figures are not checked: see
docs/benchmarks.md). Only the plumbing is tested here; `make bench` measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The whole benchmark harness with real links and tools: about a minute; `make test-slow`.
pytestmark = pytest.mark.slow


def test_bench_quick_harness_on_a_tiny_corpus(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--corpus-mb", "0.15", "--profiles",
         "adsl", "--hub-n", "20", "--hub-seconds", "1.5", "--footprint-mb", "0.3",
         "--probe-gap", "1", "--lead", "0.5", "--idle-seconds", "0.5", "--skip", "install",
         "--small-mb", "0.1", "--crossdoc-count", "2",
         "--out", str(out)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["errors"] == []
    ours = data["transfers"]["ours/adsl"]
    assert ours["finished"] and ours["delivered_files"] == ours["files"] > 0
    probes = data["transfers"]["hoatoc/adsl"]["probes"]
    assert len(probes) == 2 and all("down_s" in p for p in probes)
    assert any(p["phases"].get("sync", 0) > 0 for p in probes), probes  # traced in full
    assert data["hub"][0]["n"] == 20 and data["hub"][0]["capacity"]["requests"] > 0
    assert data["footprint"]["finished"]
    assert "| Figure |" in result.stdout and "QUICK MODE" in result.stdout
    assert {"sync", "patch"} <= set(ours["ledger"]["kinds"])
    assert ours["ledger"]["http_total"] > ours["frame_bytes_up"] > 0  # frames travel in bodies
    office = data["transfers"]["ours/adsl/office"]  # the dictionary on the wire, next to rsync
    assert office["finished"] and "rsync/adsl/office" in data["transfers"]
    small = data["transfers"]["ours/adsl/small-cuts"]
    assert small["finished"] and "rsync/adsl/small-cuts" in data["transfers"]
    assert data["crossdoc"]["level_3"]["files"] == 2
    figures = {r["figure"].split(",")[0] for r in data["issue_rows"]}
    assert len(figures) >= 8, figures  # every figure of the issue has its row
    assert "| Gateway | rsync | Goal |" in result.stdout
