"""The heavy appliance checks: real packages, a real repository, a Debian chroot, a booted box.

Minutes, root and Debian tools (debootstrap, aptly, lintian, systemd-nspawn), so they are not
part of ``make test``: ``make test-appliance`` runs them (``.ci/run`` does, after ``make
test``). Without COMMUNE_APPLIANCE_TESTS=1 nothing here is even collected.

Shared here: two builds of both packages (two versions, so that there is something to upgrade
to and roll back from), published with ``make repo`` into a repository signed by a key made for
the test in a temporary GNUPGHOME, and the cached minimal bookworm root file system.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
# What the boxes of the test read their packages from: the repository copied into the chroot.
REPO_URL = "file:///srv/commune-repo"
KEY_ID = "commune-test-repo@example.gov.vn"

if os.environ.get("COMMUNE_APPLIANCE_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]


def need(*tools: str) -> None:
    """Skips (with the reason) unless root and every tool is there."""
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot, mounts, dpkg)")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (apt-get install; .ci/run does)")


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 600,
        cwd: Path = REPO) -> str:
    """Runs a command; its output is the failure message when it fails."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            env={**os.environ, **(env or {})}, check=False)
    assert result.returncode == 0, \
        f"{args} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Release:
    version: str
    gateway_deb: Path
    box_deb: Path


@dataclass(frozen=True)
class Province:
    """The province's side: its signing key, its repository, and two releases in it."""

    gnupg: Path
    repo_dir: Path
    old: Release
    new: Release
    build_seconds: list[float]

    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.gnupg)}

    def promote(self) -> None:
        promote(self.repo_dir, self.gnupg)


def promote(repo_dir: Path, gnupg: Path) -> None:
    """`stable` := what `pilot` has, as the province does once the pilot communes are happy."""
    run(["bash", str(IMAGE / "build-repo.sh"), "--repo", str(repo_dir), "--key", KEY_ID,
         "promote"], env={"GNUPGHOME": str(gnupg)})


def upstream_version() -> str:
    match = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.M)
    assert match
    return match[1]


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    need("gpg", "aptly", "dpkg-deb", "readelf", "make")
    top = tmp_path_factory.mktemp("province")
    gnupg = top / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(gnupg)}
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         f"Commune gateway test repository <{KEY_ID}>", "ed25519", "sign", "1d"], env=env)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    releases, seconds = [], []
    for n in (1, 2):
        version = f"{upstream_version()}+t{stamp}.{n}-1"
        out = top / f"debs{n}"
        started = time.monotonic()
        run(["make", "--no-print-directory", "repo", f"REPO_DIR={top / 'repo'}",
             f"REPO_URL={REPO_URL}", f"REPO_KEY_ID={KEY_ID}", f"DEB_OUT={out}", "ARCHES=amd64"],
            env={**env, "COMMUNE_DEB_VERSION": version, "COMMUNE_DEB_COMPRESS": "gzip"},
            timeout=900)
        seconds.append(time.monotonic() - started)
        releases.append(Release(version, next(out.glob("commune-gateway_*_amd64.deb")),
                                next(out.glob("commune-box_*_all.deb"))))
        if n == 1:  # the first release has been through the pilot ring; the second has not
            promote(top / "repo", gnupg)
    yield Province(gnupg, top / "repo", releases[0], releases[1], seconds)
    subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, **env}, check=False)


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """The cached minimal bookworm (image/appliance-rootfs.sh), made on first use."""
    need("debootstrap", "tar")
    return Path(run(["bash", str(IMAGE / "appliance-rootfs.sh")], timeout=1200).strip())
