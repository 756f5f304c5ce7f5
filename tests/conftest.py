"""Shared fixtures: real data directories and the real ``gateway`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

COMMUNE_A = "000.00.31.H35"
COMMUNE_B = "000.00.32.H35"
COMMUNE_C = "000.00.33.H35"
OFFICE = "000.00.01.H35"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def run_gateway(*args: str, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "GATEWAY_LANG": "vi", **(env or {})},
        check=False,
    )


@pytest.fixture
def cli() -> CliRunner:
    return run_gateway


@pytest.fixture
def gw_dir(tmp_path: Path) -> Path:
    data = tmp_path / "gw"
    result = run_gateway("init", "--data", str(data), "--agency", COMMUNE_A)
    assert result.returncode == 0, result.stderr
    return data
