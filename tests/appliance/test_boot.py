"""The packages booted for real: image/smoke-nspawn.sh in a systemd-nspawn container.

Runs the smoke script on the minimal bookworm, once with /etc/hosts and once without it (first
boot used to fail there with 226/NAMESPACE). Skips, saying why, where this machine cannot boot a
container (no systemd-nspawn, or one that cannot start inside this sandbox).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from .conftest import IMAGE, Province, need, run

# Two package builds and a debootstrap on first use: far beyond the suite's 300 s.
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def nspawn_works(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    need("systemd-nspawn", "tar")
    root = tmp_path_factory.mktemp("probe")
    run(["tar", "--numeric-owner", "-C", str(root), "-xzf", str(rootfs)])
    result = subprocess.run(["systemd-nspawn", "--quiet", f"--directory={root}", "--register=no",
                             "--private-network", "--keep-unit", "/bin/true"],
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.skip(f"systemd-nspawn cannot start a container here: {result.stderr.strip()}")


@pytest.mark.parametrize("variant", ["etc-hosts-late-hub", "no-etc-hosts"])
def test_the_box_boots_enrolls_and_syncs(nspawn_works: None, province: Province, rootfs: Path,
                                         variant: str) -> None:
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(IMAGE / "smoke-nspawn.sh"), str(province.new.gateway_deb),
         str(province.new.box_deb)],
        capture_output=True, text=True, timeout=500, check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ROOTFS": str(rootfs),
             "NO_ETC_HOSTS": "1" if variant == "no-etc-hosts" else "0",
             "LATE_HUB": "1" if variant.endswith("late-hub") else "0"})
    report = result.stdout + result.stderr
    print(f"{variant}: {time.monotonic() - started:.0f} s\n{report}")
    assert result.returncode == 0, report
    assert "RESULT 0" in report and "FAIL" not in report
    assert "ok   first boot succeeded" in report
    if variant.endswith("late-hub"):  # first boot waited for the link, not for the timer
        assert "the hub does not answer yet" in report
        assert "enrolled 000.00.31.H35" in report
