"""A box's whole update life, in a Debian bookworm chroot, from the province's repository.

Install from the signed repository with apt-get (without /proc, as in an image build); a new
version published to `pilot` is not seen by a `stable` box; a pilot box takes it through
unattended-upgrades; roll back to the old version from the repository and hold it; promotion
brings `stable` boxes the new version; a repository whose signature does not verify is refused.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import KEY_ID, Province, need, run

# Two package builds and a debootstrap on first use: far beyond the suite's 300 s.
pytestmark = pytest.mark.timeout(1500)

KEYRING = "usr/share/keyrings/commune-gateway-archive-keyring.gpg"
CONFFILES = {
    "/etc/apt/apt.conf.d/52commune-gateway",
    "/etc/apt/sources.list.d/commune-gateway.sources",
    "/etc/chrony/conf.d/commune.conf",
    "/etc/chrony/sources.d/commune.sources",
    "/etc/default/commune-firstboot",
    "/etc/systemd/journald.conf.d/60-commune.conf",
    "/etc/systemd/system.conf.d/60-commune-watchdog.conf",
}


@dataclass
class Box:
    root: Path
    province: Province

    def sh(self, script: str, *, proc: bool = False, check: bool = True) -> str:
        """Runs a bash script in the chroot, with /proc mounted only when asked."""
        with ExitStack() as stack:
            if proc:
                subprocess.run(["mount", "-t", "proc", "proc", str(self.root / "proc")],
                               check=True)
                stack.callback(subprocess.run, ["umount", "-l", str(self.root / "proc")],
                               check=False)
            result = subprocess.run(
                ["chroot", str(self.root), "/usr/bin/env", "-i",
                 "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                 "DEBIAN_FRONTEND=noninteractive", "/bin/bash", "-euo", "pipefail", "-c", script],
                capture_output=True, text=True, timeout=600, check=False)
        out = result.stdout + result.stderr
        if check:
            assert result.returncode == 0, f"{script}\n-> {result.returncode}\n{out}"
        return out

    def publish(self) -> None:
        """The province's web server: the repository as it is now, where the box reads it."""
        target = self.root / "srv" / "commune-repo"
        target.parent.mkdir(parents=True, exist_ok=True)
        run(["rsync", "-a", "--delete", f"{self.province.repo_dir / 'public'}/", f"{target}/"])

    def versions(self) -> list[str]:
        return self.sh("dpkg-query -W -f='${Version}\\n' commune-gateway commune-box").split()


@pytest.fixture
def box(province: Province, rootfs: Path, tmp_path: Path) -> Iterator[Box]:
    need("chroot", "rsync", "mount")
    root = tmp_path / "root"
    root.mkdir()
    run(["tar", "--numeric-owner", "-C", str(root), "-xzf", str(rootfs)])
    # Debian's packages ours need are in the root file system already: apt reads only ours.
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    b = Box(root, province)
    b.publish()
    yield b
    subprocess.run(["umount", "-l", str(root / "proc")], capture_output=True, check=False)


def test_install_upgrade_through_the_rings_roll_back_and_refuse_a_bad_signature(
        box: Box, province: Province) -> None:
    old, new = province.old.version, province.new.version
    # 1. A machine without commune-box: the repository's key and a source by hand (the
    # documented bootstrap), then apt-get, without /proc (an image being built).
    (box.root / KEYRING).parent.mkdir(parents=True, exist_ok=True)
    run(["gpg", "--batch", "--yes", "-o", str(box.root / KEYRING), "--export", KEY_ID],
        env=province.env())
    bootstrap = box.root / "etc/apt/sources.list.d/bootstrap.sources"
    bootstrap.write_text("Types: deb\nURIs: file:///srv/commune-repo\nSuites: stable\n"
                         f"Components: main\nSigned-By: /{KEYRING}\n")
    assert not (box.root / "proc/self").exists()
    box.sh("apt-get update -q && apt-get install -y -q commune-box")
    assert box.versions() == [old, old]
    assert box.sh("getent passwd gateway").startswith("gateway:")
    assert box.sh("stat -c '%a %U' /var/lib/commune-gateway").strip() == "700 gateway"
    conffiles = box.sh("dpkg-query -W -f='${Conffiles}' commune-box")
    assert {line.split()[0] for line in conffiles.splitlines() if line.strip()} == CONFFILES
    enabled = box.sh("systemctl is-enabled commune-firstboot.service "
                     "commune-gateway-tui.service commune-gateway-note.path; "
                     "systemctl is-enabled commune-gateway.service || true").split()
    assert enabled == ["enabled", "enabled", "enabled", "disabled"]
    assert "usage" in box.sh("gateway --help").lower()
    # From here on the box reads the repository through the package's own source.
    bootstrap.unlink()
    (box.root / "var/lib/commune-gateway/keep.txt").write_text("văn bản")

    # 2. A new version goes to `pilot` only: this `stable` box does not see it.
    box.publish()
    box.sh("apt-get update -q", proc=True)
    assert f"Candidate: {old}" in box.sh("apt-cache policy commune-gateway")

    # 3. The box joins the pilot ring: unattended-upgrades itself takes the new version.
    assert box.sh("commune-ring pilot").strip() == "pilot"
    box.sh("apt-get update -q", proc=True)
    upgrade = box.sh("unattended-upgrade -v", proc=True)
    assert box.versions() == [new, new], upgrade
    assert (box.root / "var/lib/commune-gateway/keep.txt").read_text() == "văn bản"

    # 4. Roll back: the old version is still in the repository; hold it there.
    policy = box.sh("apt-cache policy commune-gateway")
    assert old in policy and new in policy
    box.sh(f"apt-get install -y -q --allow-downgrades commune-gateway={old} commune-box={old} "
           "&& apt-mark hold commune-gateway commune-box", proc=True)
    assert box.versions() == [old, old]
    box.sh("unattended-upgrade -v", proc=True)
    assert box.versions() == [old, old], "a held box stays where it was put"

    # 5. Promotion: `stable` gets the version `pilot` ran; a stable box upgrades to it.
    province.promote()
    box.publish()
    box.sh("apt-mark unhold commune-gateway commune-box && commune-ring stable "
           "&& apt-get update -q && apt-get upgrade -y -q", proc=True)
    assert box.versions() == [new, new]

    # 6. A repository whose signature does not verify is refused.
    in_release = box.root / "srv/commune-repo/dists/stable/InRelease"
    in_release.write_text(in_release.read_text().replace("Suite: stable", "Suite: stablE"))
    (box.root / "srv/commune-repo/dists/stable/Release.gpg").unlink()
    refused = box.sh("apt-get update -q", proc=True, check=False)
    assert "signature" in refused.lower() or "not signed" in refused.lower(), refused


def test_lintian_finds_no_error(province: Province) -> None:
    need("lintian")
    debs = [province.new.gateway_deb, province.new.box_deb]
    result = subprocess.run(["lintian", "--tag-display-limit", "0", *map(str, debs)],
                            capture_output=True, text=True, timeout=900, check=False)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E: ")]
    assert not errors, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
