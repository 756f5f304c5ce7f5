"""The packages and the repository, checked fast and without root (``make test``).

What the heavy run (``make test-appliance``: real .debs, a signed repository, a Debian chroot)
relies on, pinned here so that a slip shows in seconds: the lock covers every dependency with
hashes; the box's apt settings parse with apt's own parser and take only our origin and Debian
security; the rollout ring script; the maintainer scripts (first install versus upgrade, no
restart of the clerk's screen, no /proc needed); first boot's unit on a system without
/etc/hosts; the copyright generator.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IMAGE = REPO / "image"
BOX = IMAGE / "box"
BUILD_DEB = (IMAGE / "build-deb.sh").read_text()
KEYRING = "/usr/share/keyrings/commune-gateway-archive-keyring.gpg"


# --- the lock ------------------------------------------------------------------------------

def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from requirements.lock."""
    text = (REPO / "requirements.lock").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)\s*(?:;[^-]*)?(.*)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = (match[2], match[3].count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pins = locked()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert name and name[0].lower() in pins, f"{requirement} is not in requirements.lock"
    assert len(pins) >= 30  # the bundled projects, transitive ones included
    assert all(hashes >= 1 for _, hashes in pins.values()), "every pin carries its hashes"
    assert "commune-gateway" not in pins


def test_the_build_installs_only_the_lock_and_checks_its_hashes() -> None:
    assert "--require-hashes --no-deps" in BUILD_DEB
    assert '-r "$WORK/src/requirements.lock"' in BUILD_DEB
    assert "export PIP_CONFIG_FILE=/dev/null" in BUILD_DEB, "no machine pip.conf in a build"


# --- what the box is told by apt -----------------------------------------------------------

def apt_config(path: Path) -> str:
    """The file as apt itself parses it (apt-config dump), without this host's apt.conf."""
    tool = shutil.which("apt-config")
    if tool is None:
        pytest.skip("apt-config is not installed (a Debian host has it)")
    empty = path.parent / "no-such-apt.conf"
    result = subprocess.run([tool, "-c", str(path), "-o", f"Dir::Etc::main={empty}", "dump"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_unattended_upgrades_take_our_origin_and_debian_security_only() -> None:
    dump = apt_config(BOX / "apt.conf")
    patterns = re.findall(r'Unattended-Upgrade::Origins-Pattern:: "([^"]+)";', dump)
    origin = re.search(r'^ORIGIN="([^"]+)"', (IMAGE / "build-repo.sh").read_text(), re.M)
    label = re.search(r"^LABEL=(\S+)", (IMAGE / "build-repo.sh").read_text(), re.M)
    assert origin and label
    assert patterns == [
        f"origin={origin[1]},label={label[1]}",
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
    ], "no Raspberry Pi archive (kernel, firmware), no Debian point releases"
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in dump


def test_the_box_does_not_download_lists_daily_over_3g() -> None:
    dump = apt_config(BOX / "apt.conf")
    periodic = dict(re.findall(r'APT::Periodic::([A-Za-z-]+) "([^"]*)";', dump))
    assert int(periodic["Update-Package-Lists"]) >= 2
    assert int(periodic["Unattended-Upgrade"]) >= int(periodic["Update-Package-Lists"])
    assert periodic["Download-Upgradeable-Packages"] == "0"
    assert 'Acquire::Languages:: "none";' in dump
    assert re.search(r'Acquire::http::Dl-Limit "\d+";', dump)


def test_the_source_is_deb822_signed_by_the_shipped_key() -> None:
    text = (BOX / "commune-gateway.sources.in").read_text()
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", text, re.M))
    assert fields == {"Types": "deb", "URIs": "@REPO_URL@", "Suites": "stable",
                      "Components": "main", "Signed-By": KEYRING}
    assert f"KEYRING={KEYRING}" in BUILD_DEB


def test_everything_under_etc_of_the_box_package_is_a_conffile() -> None:
    assert "find etc -type f -printf '/%p\\n'" in BUILD_DEB
    assert '"$root/DEBIAN/conffiles"' in BUILD_DEB
    for name in ("apt.conf", "chrony.conf", "chrony.sources", "watchdog.conf",
                 "commune-firstboot.default"):
        assert f'"$BSRC/{name}"' in BUILD_DEB, name


# --- the rollout ring ----------------------------------------------------------------------

def ring(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(BOX / "commune-ring"), *args], capture_output=True,
                          text=True, timeout=30, check=False,
                          env={**os.environ, "COMMUNE_SOURCES_DIR": str(tmp_path)})


def test_commune_ring_adds_and_removes_the_pilot_source(tmp_path: Path) -> None:
    main = tmp_path / "commune-gateway.sources"
    main.write_text((BOX / "commune-gateway.sources.in").read_text()
                    .replace("@REPO_URL@", "https://hub.example.gov.vn/apt"))
    assert ring(tmp_path).stdout == "stable\n"
    assert ring(tmp_path, "pilot").returncode == 0
    pilot = (tmp_path / "commune-gateway-pilot.sources").read_text()
    assert "URIs: https://hub.example.gov.vn/apt" in pilot and "Suites: pilot" in pilot
    assert f"Signed-By: {KEYRING}" in pilot
    assert ring(tmp_path).stdout == "pilot\n"
    assert main.read_text().count("Suites: stable") == 1, "the conffile is never edited"
    assert ring(tmp_path, "stable").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["commune-gateway.sources"]
    bad = ring(tmp_path, "beta")
    assert bad.returncode == 2 and "pilot or stable" in bad.stderr


# --- maintainer scripts --------------------------------------------------------------------

def run_script(script: Path, tmp_path: Path, *args: str) -> list[list[str]]:
    """Runs a maintainer script with a recording ``systemctl``; returns its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "systemctl"
    shim.write_text(f'#!/bin/sh\necho "$*" >>"{tmp_path}/calls"\n')
    shim.chmod(0o755)
    result = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                            timeout=30, check=False,
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    calls = tmp_path / "calls"
    return [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []


@pytest.mark.skipif(Path("/etc/systemd/system/getty@tty1.service.d").exists(),
                    reason="the box postinst would remove this host's autologin drop-in")
def test_box_postinst_makes_a_box_on_first_install_only(tmp_path: Path) -> None:
    postinst = IMAGE / "deb" / "commune-box" / "postinst"
    first = run_script(postinst, tmp_path, "configure")
    assert ["enable", "commune-firstboot.service", "commune-firstboot-retry.timer",
            "commune-gateway-tui.service", "commune-gateway-note.path"] in first
    assert ["disable", "getty@tty1.service"] in first
    assert not [c for c in first if c[0] in {"start", "restart", "try-restart"}]
    (tmp_path / "calls").unlink()
    upgrade = run_script(postinst, tmp_path, "configure", "0.1.0+1-1")
    assert not [c for c in upgrade if c[0] in {"enable", "disable"}], "an admin's choice stays"


def test_an_upgrade_never_restarts_the_clerks_screen() -> None:
    for package in ("commune-gateway", "commune-box"):
        for script in ("postinst", "prerm", "postrm"):
            text = (IMAGE / "deb" / package / script).read_text()
            for line in text.splitlines():
                if re.search(r"\b(restart|try-restart|reload-or-restart)\b", line) \
                        and not line.lstrip().startswith("#"):
                    assert "tui" not in line, f"{package} {script}: {line}"
    postinst = (IMAGE / "deb" / "commune-gateway" / "postinst").read_text()
    restarted = re.search(r"RESTART_ON_UPGRADE=\(([^)]*)\)", postinst)
    assert restarted and "commune-gateway.service" in restarted[1]
    assert "commune-gateway-tui" not in restarted[1]


def test_postinst_needs_no_proc() -> None:
    postinst = (IMAGE / "deb" / "commune-gateway" / "postinst").read_text()
    assert "if [[ -e /proc/self ]]; then" in postinst
    assert "useradd --system" in postinst and "install -d -m 0700" in postinst


def test_the_gateway_package_declares_its_system_needs() -> None:
    assert 'shlib_depends="libc6 (>= $glibc)"' in BUILD_DEB
    assert "Depends: python$PYVER" in BUILD_DEB and "$shlib_depends" in BUILD_DEB
    assert "Recommends: poppler-utils" in BUILD_DEB
    assert "tools/deb_copyright.py" in BUILD_DEB
    # Every unit the project has, present and future, goes into the package.
    for suffix in ("service", "timer", "path"):
        assert f'"$WORK"/src/systemd/*.{suffix}' in BUILD_DEB


def test_firstboot_unit_tolerates_a_system_without_etc_hosts() -> None:
    unit = (IMAGE / "firstboot" / "commune-firstboot.service").read_text()
    paths = " ".join(re.findall(r"^ReadWritePaths=(.*)$", unit, re.M)).split()
    assert "-/etc/hosts" in paths and "/etc/hosts" not in paths


# --- licences ------------------------------------------------------------------------------

APACHE = ("Apache License\nVersion 2.0, January 2004\n\nTERMS AND CONDITIONS FOR USE, "
          "REPRODUCTION, AND DISTRIBUTION\n…")


def dist(site: Path, name: str, metadata: str, files: dict[str, str]) -> None:
    info = site / f"{name}-1.0.dist-info"
    (info / "licenses").mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n"
                                   f"{metadata}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-1.0.dist-info/METADATA,,\n")
    for file, text in files.items():
        (info / "licenses" / file).write_text(text)


def copyright_of(site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "tools" / "deb_copyright.py"), str(site),
                           "opt/venv/site-packages", str(tmp_path / "copyright")],
                          capture_output=True, text=True, timeout=30, check=False)


def test_copyright_copies_licence_texts_and_refers_to_common_licenses(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist(site, "alpha", "License-Expression: MIT",
         {"LICENSE": "Copyright (c) 2024 Ada\n\nPermission is hereby granted, free of charge"})
    dist(site, "beta", "License: Apache 2.0", {"LICENSE": APACHE})
    assert copyright_of(site, tmp_path).returncode == 0
    text = (tmp_path / "copyright").read_text()
    assert text.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    assert "Files: opt/venv/site-packages/alpha/*" in text
    assert "Copyright: Copyright (c) 2024 Ada" in text
    assert " Permission is hereby granted, free of charge" in text
    assert "License: Apache-2.0" in text
    assert "/usr/share/common-licenses/Apache-2.0" in text
    assert "TERMS AND CONDITIONS" not in text, "lintian: full Apache text in copyright"


def test_copyright_refuses_a_project_without_a_licence(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist(site, "gamma", "Summary: no licence anywhere", {})
    result = copyright_of(site, tmp_path)
    assert result.returncode != 0 and "gamma 1.0 ships no licence text" in result.stderr


# --- pi-gen --------------------------------------------------------------------------------

def test_pigen_is_pinned_to_a_commit_of_its_bookworm_arm64_branch() -> None:
    config = (IMAGE / "config").read_text()
    assert re.search(r"^PIGEN_BRANCH=bookworm-arm64$", config, re.M)
    assert re.search(r"^PIGEN_COMMIT=[0-9a-f]{40}$", config, re.M)
    assert '$head != "$PIGEN_COMMIT"' in (IMAGE / "build-image.sh").read_text()
