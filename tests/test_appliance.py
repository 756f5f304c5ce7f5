"""The appliance: systemd units, the image recipe and first boot, checked without root.

Nothing here touches the host: units are read as text and verified from copies, scripts run
against temp dirs with fake ``gateway``/``systemctl``/``hostnamectl`` commands on ``PATH``.
Checks that need ``shellcheck`` or ``systemd-analyze`` skip, with the reason, where those are
missing. The real thing (units booted under systemd) is ``image/smoke-nspawn.sh``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.store.layout import DEFAULT_STATUS_FILE

REPO = Path(__file__).resolve().parent.parent
SYSTEMD = REPO / "systemd"
IMAGE = REPO / "image"
FIRSTBOOT = IMAGE / "firstboot" / "commune-firstboot.sh"
GW_DATA = "/var/lib/commune-gateway"
HUB_DATA = "/var/lib/commune-hub"

AGENCY = "000.00.31.H35"
HUB_URL = "https://hub.example.gov.vn:8443"
TOKEN = "enr_CM3MGF0Bop6dySyLWRUoja9xlp5tqq4zNymdzjkLVYs@39dd66b97d6e133f73c4a2fbdcbc7595"

UNIT_FILES = sorted([*SYSTEMD.glob("*.service"), *SYSTEMD.glob("*.timer"),
                     *SYSTEMD.glob("*.path"),
                     *(IMAGE / "firstboot").glob("*.service"),
                     *(IMAGE / "firstboot").glob("*.timer")])
SHELL_SCRIPTS = sorted([*IMAGE.rglob("*.sh"), *(IMAGE / "deb").glob("*/*"),
                        IMAGE / "box" / "commune-ring"])
SHELL_FRAGMENTS = [IMAGE / "config", IMAGE / "stages" / "EXPORT_IMAGE"]

EXEC_START = {
    "commune-gateway.service": f"/usr/bin/gateway run --data {GW_DATA}",
    "commune-gateway-scrub.service": f"/usr/bin/gateway scrub --data {GW_DATA}",
    "commune-gateway-tui.service": f"/opt/commune-gateway/bin/python3 -m tui --data {GW_DATA}",
    "commune-hub.service":
        f"/usr/bin/gateway hub run --data {HUB_DATA} --listen 0.0.0.0:8443",
    "commune-firstboot.service": "/usr/lib/commune-gateway/commune-firstboot.sh",
}
LONG_RUNNING = {  # unit -> (user, data dir)
    "commune-gateway.service": ("gateway", GW_DATA),
    "commune-gateway-scrub.service": ("gateway", GW_DATA),
    "commune-gateway-tui.service": ("gateway", GW_DATA),
    "commune-hub.service": ("commune-hub", HUB_DATA),
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "UMask": "0077",
    "CapabilityBoundingSet": "",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
}


# --- a tiny systemd unit reader ------------------------------------------------------------

@dataclass
class UnitFile:
    """Sections of ``KEY=VALUE`` lines in order; repeated keys are kept, as systemd does."""

    path: Path
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def all(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def get(self, section: str, key: str) -> str | None:
        found = self.all(section, key)
        return found[-1] if found else None

    def words(self, section: str, key: str) -> list[str]:
        """A list-valued setting: every assignment's words; an empty assignment resets."""
        out: list[str] = []
        for value in self.all(section, key):
            out = [] if not value else [*out, *value.split()]
        return out


def read_unit(path: Path) -> UnitFile:
    unit = UnitFile(path)
    current: str | None = None
    carried = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = (carried + raw.strip()) if carried else raw.strip()
        carried = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            carried = line[:-1] + " "
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}:{number}: bad section header"
            current = line[1:-1]
            assert current not in unit.sections, f"{path.name}: section [{current}] twice"
            unit.sections[current] = []
            continue
        assert current is not None, f"{path.name}:{number}: setting before any section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), \
            f"{path.name}:{number}: not KEY=VALUE: {line!r}"
        unit.sections[current].append((key.strip(), value.strip()))
    assert not carried, f"{path.name}: file ends in a continuation line"
    return unit


def unit(name: str) -> UnitFile:
    found = [p for p in UNIT_FILES if p.name == name]
    assert found, f"no unit {name}"
    return read_unit(found[0])


def size_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]?)", text)
    assert match, text
    return int(match[1]) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match[2]]


# --- units ---------------------------------------------------------------------------------

def test_the_expected_units_exist() -> None:
    names = {p.name for p in UNIT_FILES}
    assert set(EXEC_START) <= names
    assert {"commune-gateway-scrub.timer", "commune-gateway-retry.timer",
            "commune-firstboot-retry.timer", "commune-gateway-note.path",
            "commune-gateway-note.service"} <= names


@pytest.mark.parametrize("path", UNIT_FILES, ids=lambda p: p.name)
def test_every_unit_parses(path: Path) -> None:
    u = read_unit(path)
    assert set(u.sections) <= {"Unit", "Service", "Timer", "Path", "Install"}
    assert u.get("Unit", "Description")
    kind = path.suffix[1:].capitalize()
    assert kind in u.sections


@pytest.mark.parametrize("name", sorted(EXEC_START))
def test_exec_start_is_exact(name: str) -> None:
    assert unit(name).all("Service", "ExecStart") == [EXEC_START[name]]


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_services_are_hardened(name: str) -> None:
    u = unit(name)
    user, data = LONG_RUNNING[name]
    assert u.get("Service", "User") == user
    for key, expected in HARDENING.items():
        assert u.get("Service", key) == expected, f"{name}: {key}"
    assert u.words("Service", "ReadWritePaths") == [data]
    assert "@system-service" in u.words("Service", "SystemCallFilter")
    assert u.get("Service", "SystemCallFilter") == "~@privileged @resources"
    assert u.get("Service", "MemoryMax")
    assert u.get("Service", "StandardError") == "journal"
    families = u.words("Service", "RestrictAddressFamilies")
    assert set(families) <= {"AF_INET", "AF_INET6", "AF_UNIX"}
    if name == "commune-gateway-tui.service":  # needs its tty, nothing else
        assert u.get("Service", "PrivateDevices") == "no"
        assert u.get("Service", "DevicePolicy") == "closed"
        assert "/dev/tty1 rw" in u.all("Service", "DeviceAllow")
    else:
        assert u.get("Service", "PrivateDevices") == "yes"
        assert u.get("Service", "PrivateUsers") == "yes"


@pytest.mark.parametrize("name", ["commune-gateway.service", "commune-gateway-tui.service"])
def test_the_box_services_fit_a_1gb_box(name: str) -> None:
    u = unit(name)
    high, cap = u.get("Service", "MemoryHigh"), u.get("Service", "MemoryMax")
    assert high and cap
    assert size_bytes(high) < size_bytes(cap) <= 256 * 2**20


def test_daemon_syncs_when_it_can_but_needs_neither_network_nor_clock() -> None:
    u = unit("commune-gateway.service")
    assert u.words("Unit", "Wants") == ["network-online.target"]
    after = u.words("Unit", "After")
    assert "network-online.target" in after and "time-sync.target" in after
    for hard in ("Requires", "Requisite", "BindsTo", "PartOf"):
        assert not u.all("Unit", hard), f"{hard}= would stop the daemon without a link"
    assert u.words("Service", "RestrictAddressFamilies") == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert u.get("Service", "StateDirectoryMode") == "0700"
    assert u.words("Install", "WantedBy") == ["multi-user.target"]


def test_daemon_restarts_within_start_limits_and_is_retried_after() -> None:
    u = unit("commune-gateway.service")
    assert u.get("Service", "Restart") == "always"
    assert u.get("Unit", "StartLimitIntervalSec") and u.get("Unit", "StartLimitBurst")
    assert not u.all("Service", "StartLimitIntervalSec"), "belongs in [Unit] since systemd 230"
    retry = unit("commune-gateway-retry.timer")
    assert retry.get("Timer", "Unit") == "commune-gateway.service"
    assert retry.get("Timer", "OnUnitInactiveSec")


def test_scrub_is_weekly_persistent_randomized_and_idle() -> None:
    timer = unit("commune-gateway-scrub.timer")
    assert timer.get("Timer", "OnCalendar")
    assert timer.get("Timer", "Persistent") == "true"
    assert timer.get("Timer", "RandomizedDelaySec")
    assert timer.words("Install", "WantedBy") == ["timers.target"]
    service = unit("commune-gateway-scrub.service")
    assert service.get("Service", "Type") == "oneshot"
    assert service.get("Service", "Nice") == "19"
    assert service.get("Service", "IOSchedulingClass") == "idle"
    assert service.get("Service", "PrivateNetwork") == "yes"


def test_tui_is_a_kiosk_on_tty1() -> None:
    u = unit("commune-gateway-tui.service")
    assert u.get("Service", "TTYPath") == "/dev/tty1"
    assert u.get("Service", "StandardInput") == "tty"
    assert u.get("Service", "StandardOutput") == "tty"
    assert "getty@tty1.service" in u.words("Unit", "Conflicts")
    assert u.get("Service", "Restart") == "always"
    env = u.words("Service", "Environment")
    assert "GATEWAY_LANG=vi" in env and "TERM=linux" in env
    assert u.get("Service", "User") == "gateway"
    assert u.words("Service", "SupplementaryGroups") == ["tty"]
    assert "network-online.target" not in u.words("Unit", "After"), "the clerk never waits"


def test_hub_can_hold_5000_gateways() -> None:
    u = unit("commune-hub.service")
    assert int(u.get("Service", "LimitNOFILE") or 0) >= 2 * 5000
    assert u.get("Service", "Restart") == "always"


def test_firstboot_runs_once_per_boot_file_and_before_the_clerk() -> None:
    u = unit("commune-firstboot.service")
    assert u.get("Service", "Type") == "oneshot"
    conditions = u.all("Unit", "ConditionPathExists")
    assert "|/boot/firmware/commune.toml" in conditions
    assert not u.all("Service", "Restart"), "a restarting job would hold back the TUI"
    assert {"commune-gateway.service", "commune-gateway-tui.service"} <= set(
        u.words("Unit", "Before"))
    assert unit("commune-firstboot-retry.timer").get("Timer", "Unit") == \
        "commune-firstboot.service"


RUN_NOTE = "/run/commune-gateway/commune-status.txt"
BOOT = "/boot/firmware"


def test_the_daemons_note_reaches_the_boot_partition_through_a_root_copy() -> None:
    assert DEFAULT_STATUS_FILE == RUN_NOTE  # what a new box's config.json says
    daemon = unit("commune-gateway.service")
    assert daemon.get("Service", "RuntimeDirectory") == "commune-gateway"
    assert daemon.get("Service", "RuntimeDirectoryMode") == "0755"  # root reads, no capability
    watch = unit("commune-gateway-note.path")
    assert watch.all("Path", "PathChanged") == [RUN_NOTE]
    assert watch.get("Path", "Unit") == "commune-gateway-note.service"
    assert watch.words("Install", "WantedBy") == ["paths.target"]
    copy = unit("commune-gateway-note.service")
    assert copy.get("Service", "Type") == "oneshot" and copy.get("Service", "User") is None
    for key, expected in HARDENING.items():
        assert copy.get("Service", key) == expected, key
    assert copy.words("Service", "ReadWritePaths") == [BOOT]
    assert copy.get("Service", "PrivateNetwork") == "yes"
    assert copy.all("Unit", "ConditionPathExists") == [RUN_NOTE]
    assert copy.words("Unit", "RequiresMountsFor") == [BOOT]


def test_the_note_copy_replaces_the_boot_note_atomically(tmp_path: Path) -> None:
    """The unit's own commands, run against temp dirs standing in for /run and /boot."""
    run, boot = tmp_path / "run", tmp_path / "boot"
    run.mkdir()
    boot.mkdir()
    (run / "commune-status.txt").write_bytes("Trạng thái: ĐANG HOẠT ĐỘNG\r\n".encode())
    (boot / "commune-status.txt").write_text("state = enrolled\n")
    for command in unit("commune-gateway-note.service").all("Service", "ExecStart"):
        command = command.replace("/run/commune-gateway", str(run)).replace(BOOT, str(boot))
        subprocess.run(command.split(), check=True, timeout=30)
    assert (boot / "commune-status.txt").read_bytes() == \
        (run / "commune-status.txt").read_bytes()
    assert sorted(p.name for p in boot.iterdir()) == ["commune-status.txt"]


def test_the_deb_installs_every_kind_of_unit_and_stops_the_note_watch() -> None:
    build = (IMAGE / "build-deb.sh").read_text()
    for suffix in {p.suffix for p in SYSTEMD.iterdir() if p.is_file()} - {".conf"}:
        assert f'"$WORK"/src/systemd/*{suffix}' in build, suffix
    assert "commune-gateway-note.path" in (IMAGE / "deb" / "commune-gateway" / "prerm").read_text()


def test_journald_dropin_for_sd_cards() -> None:
    u = read_unit(SYSTEMD / "journald-commune.conf")
    assert u.get("Journal", "SystemMaxUse") == "50M"
    assert u.get("Journal", "Storage") in {"persistent", "volatile"}
    assert u.get("Journal", "MaxRetentionSec")


def test_sysusers_and_tmpfiles_create_users_and_private_data_dirs() -> None:
    users = {}
    for line in (SYSTEMD / "sysusers.d" / "commune-gateway.conf").read_text().splitlines():
        if line and not line.startswith("#"):
            fields = re.findall(r'"[^"]*"|\S+', line)
            assert fields[0] == "u" and ":" not in fields[3], line
            users[fields[1]] = fields[4]
    assert users == {"gateway": GW_DATA, "commune-hub": HUB_DATA}
    dirs = [line.split() for line in
            (SYSTEMD / "tmpfiles.d" / "commune-gateway.conf").read_text().splitlines()
            if line and not line.startswith("#")]
    assert ["d", GW_DATA, "0700", "gateway", "gateway", "-"] in dirs
    assert ["d", HUB_DATA, "0700", "commune-hub", "commune-hub", "-"] in dirs
    for name, (user, _) in LONG_RUNNING.items():
        assert user in users, name


# --- systemd-analyze -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def unit_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units with their absolute commands pointed at executable shims in a temp dir."""
    root = tmp_path_factory.mktemp("units")
    shim = root / "shim"
    shim.write_text("#!/bin/sh\nexit 0\n")
    shim.chmod(0o755)
    out = root / "units"
    out.mkdir()
    for path in UNIT_FILES:
        text = path.read_text(encoding="utf-8")
        for command in ("/usr/bin/gateway", "/opt/commune-gateway/bin/python3",
                        "/usr/lib/commune-gateway/commune-firstboot.sh"):
            text = text.replace(command, str(shim))
        (out / path.name).write_text(text, encoding="utf-8")
    return out


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return tool


def test_systemd_analyze_verify(unit_copies: Path) -> None:
    files = sorted(str(p) for p in unit_copies.iterdir())
    result = subprocess.run([analyze(), "verify", "--man=no", "--generators=no", *files],
                            capture_output=True, text=True, timeout=60, check=False)
    # verify exits 0 on warnings such as an unknown key: any word about our units is a failure.
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if "commune" in line or str(unit_copies) in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


EXPOSURE_LIMIT = {
    "commune-gateway.service": 1.5,
    "commune-gateway-scrub.service": 1.0,
    "commune-gateway-tui.service": 2.0,
    "commune-hub.service": 1.5,
    "commune-firstboot.service": 3.0,
    "commune-gateway-note.service": 1.5,
}


@pytest.mark.parametrize("name", sorted(EXPOSURE_LIMIT))
def test_security_exposure_is_low(unit_copies: Path, name: str) -> None:
    result = subprocess.run(
        [analyze(), "security", "--offline=true", "--no-pager", str(unit_copies / name)],
        capture_output=True, text=True, timeout=60, check=False)
    if "--offline" in result.stderr or "unrecognized option" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= EXPOSURE_LIMIT[name]


# --- shell scripts -------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(IMAGE)))
def test_scripts_are_strict_bash(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "set -euo pipefail" in lines, "strict mode"
    assert os.access(path, os.X_OK), "executable bit"


def test_shellcheck_passes() -> None:
    tool = shutil.which("shellcheck")
    if tool is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run([tool, "-x", "-s", "bash", *map(str, SHELL_SCRIPTS),
                             *map(str, SHELL_FRAGMENTS)],
                            capture_output=True, text=True, timeout=60, check=False, cwd=IMAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_deb_refuses_an_unsupported_architecture() -> None:
    result = subprocess.run(["bash", str(IMAGE / "build-deb.sh"), "--arch", "armhf"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "not supported" in result.stderr


# --- first boot ----------------------------------------------------------------------------

RECORDER = """#!{python}
import json, os, pathlib, sys
name = pathlib.Path(sys.argv[0]).name
with open(os.environ["SHIM_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
if name == "gateway":
    mode = os.environ.get("FAKE_GATEWAY", "ok")
    data = pathlib.Path(sys.argv[sys.argv.index("--data") + 1])
    if mode != "refused":  # `gateway init` makes the local store before it calls the hub
        data.mkdir(parents=True, exist_ok=True)
        agency = sys.argv[sys.argv.index("--agency") + 1]
        (data / "config.json").write_text(json.dumps({{"agency": agency}}))
    if mode == "offline-once":  # the link comes up while first boot waits for it
        flag = data / "tried"
        mode = "ok" if flag.exists() else "offline"
        flag.touch()
    if mode != "ok":
        print("gateway: Không kết nối được máy chủ tỉnh (token "
              + sys.argv[sys.argv.index("--token") + 1] + ")", file=sys.stderr)
        sys.exit(75 if mode == "offline" else 1)  # 75: unreachable, try again later
"""


@dataclass
class Box:
    """A fake appliance in a temp dir: boot partition, state, data, and recorded commands."""

    root: Path
    env: dict[str, str]

    @property
    def boot_file(self) -> Path:
        return self.root / "boot" / "commune.toml"

    @property
    def status_file(self) -> Path:
        return self.root / "boot" / "commune-status.txt"

    @property
    def pending(self) -> Path:
        return self.root / "state" / "pending.conf"

    def run(self, fake_gateway: str = "ok") -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(FIRSTBOOT)], capture_output=True, text=True,
                              timeout=30, check=False,
                              env={**self.env, "FAKE_GATEWAY": fake_gateway})

    def calls(self) -> list[list[str]]:
        log = self.root / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def calls_to(self, name: str) -> list[list[str]]:
        return [c[1:] for c in self.calls() if c[0] == name]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gateway", "systemctl", "hostnamectl", "commune-ring"):
        shim = bin_dir / name
        shim.write_text(RECORDER.format(python=sys.executable), encoding="utf-8")
        shim.chmod(0o755)
    (tmp_path / "boot").mkdir()
    (tmp_path / "hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tcommune-gateway\n")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LANG": "C.UTF-8",
        "SHIM_LOG": str(tmp_path / "calls.jsonl"),
        "COMMUNE_BOOT_CONFIG": str(tmp_path / "boot" / "commune.toml"),
        "COMMUNE_DATA": str(tmp_path / "data"),
        "COMMUNE_STATE_DIR": str(tmp_path / "state"),
        "COMMUNE_RUN_AS": "",
        "COMMUNE_ETC_HOSTS": str(tmp_path / "hosts"),
        "COMMUNE_ENROLL_RETRY_EVERY": "0.2",
        "COMMUNE_ENROLL_BOOT_WAIT": "0",  # tests that wait for a late link say so
    }
    yield Box(tmp_path, env)


WINDOWS_STYLE = (
    "\ufeff# commune.toml, saved by Notepad\r\n"
    "[gateway]\r\n"
    f'agency = "{AGENCY}"\r\n'
    f"hub = '{HUB_URL}'   # the province\r\n"
    "\r\n"
    f'token = "{TOKEN}"\r\n'
)
CONF_STYLE = f"AGENCY={AGENCY}\nHUB={HUB_URL}\nTOKEN={TOKEN}"  # no final newline

GATEWAY_INIT = ["init", "--data", "DATA", "--agency", AGENCY, "--hub", HUB_URL, "--token", TOKEN]


def expected_init(box: Box) -> list[str]:
    return [box.env["COMMUNE_DATA"] if a == "DATA" else a for a in GATEWAY_INIT]


def assert_no_secret_leaked(box: Box, result: subprocess.CompletedProcess[str]) -> None:
    assert TOKEN not in result.stdout + result.stderr
    token_part = TOKEN.split("@")[0]
    for path in (box.root / "boot").iterdir():
        assert token_part not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("text", [WINDOWS_STYLE, CONF_STYLE], ids=["toml-crlf-bom", "conf"])
def test_firstboot_enrolls_enables_and_deletes_the_token(box: Box, text: str) -> None:
    box.boot_file.write_bytes(text.encode("utf-8"))
    result = box.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.calls_to("gateway") == [expected_init(box)]
    assert not box.boot_file.exists()
    assert not box.pending.exists()
    assert (box.root / "state" / "enrolled").read_text().startswith(AGENCY)
    assert "state = enrolled" in box.status_file.read_text(encoding="utf-8")
    systemctl = box.calls_to("systemctl")
    daemon = ["commune-gateway.service", "commune-gateway-scrub.timer",
              "commune-gateway-retry.timer"]
    assert ["enable", *daemon] in systemctl
    assert ["start", "--no-block", *daemon] in systemctl  # never wait on a unit ordered after us
    assert ["disable", "commune-firstboot-retry.timer"] in systemctl
    assert box.calls_to("hostnamectl") in ([["set-hostname", "cg-000-00-31-h35"]], [])
    assert "127.0.1.1\tcg-000-00-31-h35" in (box.root / "hosts").read_text() or \
        not box.calls_to("hostnamectl")
    assert "token (hidden)" in result.stdout
    assert_no_secret_leaked(box, result)


def test_firstboot_offline_keeps_the_store_and_retries_until_the_hub_answers(box: Box) -> None:
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    offline = box.run("offline")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert not box.boot_file.exists(), "the token leaves the boot partition at once"
    assert box.pending.stat().st_mode & 0o777 == 0o600
    assert (box.root / "data" / "config.json").exists()
    assert "state = pending" in box.status_file.read_text(encoding="utf-8")
    assert ["start", "--no-block", "commune-firstboot-retry.timer"] in box.calls_to("systemctl")
    assert not [c for c in box.calls_to("systemctl") if c[0] == "enable"]
    assert_no_secret_leaked(box, offline)
    assert "(token)" in offline.stdout  # the gateway's error is logged, its token masked

    online = box.run("ok")  # what the retry timer does
    assert online.returncode == 0, online.stdout + online.stderr
    assert box.calls_to("gateway") == [expected_init(box)] * 2
    assert not box.pending.exists()
    assert ["enable", "commune-gateway.service", "commune-gateway-scrub.timer",
            "commune-gateway-retry.timer"] in box.calls_to("systemctl")


def test_firstboot_waits_for_a_link_that_comes_up_just_after_boot(box: Box) -> None:
    box.env["COMMUNE_ENROLL_BOOT_WAIT"] = "30"
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    result = box.run("offline-once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.calls_to("gateway") == [expected_init(box)] * 2
    assert "trying again in 0.2 s" in result.stdout
    assert not box.pending.exists()
    assert ["enable", "commune-gateway.service", "commune-gateway-scrub.timer",
            "commune-gateway-retry.timer"] in box.calls_to("systemctl")


def test_firstboot_leaves_a_late_link_to_the_timer_once_its_wait_is_over(box: Box) -> None:
    box.env["COMMUNE_ENROLL_BOOT_WAIT"] = "3"
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    started = time.monotonic()
    result = box.run("offline")
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 10
    assert 2 <= len(box.calls_to("gateway")) <= 20
    assert box.pending.exists()
    assert ["start", "--no-block", "commune-firstboot-retry.timer"] in box.calls_to("systemctl")
    retry = box.run("offline")  # the timer's run: one attempt, the clerk's screen is not held
    assert retry.returncode == 0
    assert "does not answer yet" not in retry.stdout


def test_firstboot_does_not_retry_a_refusal(box: Box) -> None:
    box.env["COMMUNE_ENROLL_BOOT_WAIT"] = "30"
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    result = box.run("refused")
    assert result.returncode == 1
    assert len(box.calls_to("gateway")) == 1


@pytest.mark.parametrize("text, complaint", [
    (f'agency = "{AGENCY}"\nhub = "{HUB_URL}"\n', "token must be"),
    (f'agency = "{AGENCY}"\nhub = "http://insecure"\ntoken = "{TOKEN}"\n', "hub must"),
    (f'agency = "x; rm -rf /"\nhub = "{HUB_URL}"\ntoken = "{TOKEN}"\n', "agency must"),
    (f'agency {AGENCY}\nhub = "{HUB_URL}"\ntoken = "{TOKEN}"\n', ":1: expected key"),
    ('token = "PASTE THE WHOLE TOKEN LINE HERE"\n', "token must be"),
])
def test_firstboot_refuses_a_bad_file_and_leaves_it(box: Box, text: str, complaint: str) -> None:
    box.boot_file.write_text(text, encoding="utf-8")
    result = box.run()
    assert result.returncode == 3
    assert complaint in result.stdout
    assert box.boot_file.read_text(encoding="utf-8") == text
    assert box.calls() == []
    assert TOKEN not in result.stdout + result.stderr


def test_firstboot_puts_a_pilot_commune_in_the_pilot_ring(box: Box) -> None:
    box.boot_file.write_text(WINDOWS_STYLE + 'ring = "pilot"\r\n', encoding="utf-8")
    result = box.run("offline")  # the ring is set even before the hub answers
    assert result.returncode == 0, result.stdout + result.stderr
    assert box.calls_to("commune-ring") == [["pilot"]]
    assert "rollout ring: pilot" in result.stdout
    assert box.run("ok").returncode == 0  # the retry (from pending.conf) does not set it again
    assert box.calls_to("commune-ring") == [["pilot"]]


def test_firstboot_refuses_an_unknown_ring(box: Box) -> None:
    box.boot_file.write_text(WINDOWS_STYLE + 'ring = "beta"\r\n', encoding="utf-8")
    result = box.run()
    assert result.returncode == 3 and "ring must be pilot or stable" in result.stdout
    assert box.calls() == []


def test_the_shipped_example_is_refused_until_filled_in(box: Box) -> None:
    shutil.copy(IMAGE / "firstboot" / "commune.toml.example", box.boot_file)
    result = box.run()
    assert result.returncode == 3 and "token must be" in result.stdout
    assert box.calls() == []


def test_firstboot_on_an_enrolled_box_deletes_a_new_token_unread(box: Box) -> None:
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    assert box.run().returncode == 0
    box.boot_file.write_text(WINDOWS_STYLE, encoding="utf-8")
    again = box.run()
    assert again.returncode == 0
    assert "already enrolled" in again.stdout
    assert not box.boot_file.exists()
    assert len(box.calls_to("gateway")) == 1


def test_firstboot_with_nothing_to_do_does_nothing(box: Box) -> None:
    result = box.run()
    assert result.returncode == 0
    assert box.calls() == []


def test_firstboot_logs_with_journal_priorities_under_systemd(box: Box) -> None:
    box.boot_file.write_text('agency = "bad agency"\n', encoding="utf-8")
    result = subprocess.run(["bash", str(FIRSTBOOT)], capture_output=True, text=True,
                            timeout=30, check=False, env={**box.env, "JOURNAL_STREAM": "8:1"})
    assert result.returncode == 3
    assert result.stdout.startswith("<6>reading ")
    assert "\n<3>" in result.stdout


# --- the image recipe ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pigen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake pi-gen checkout with our stage assembled into it (no .deb build, no pi-gen)."""
    root = tmp_path_factory.mktemp("pigen")
    (root / "stage2").mkdir()
    deb, box = root / "fake.deb", root / "fake-box.deb"
    deb.write_bytes(b"!<arch>\n")
    box.write_bytes(b"!<arch>\nbox")
    result = subprocess.run(
        ["bash", str(IMAGE / "build-image.sh"), str(root), "--assemble-only", "--deb", str(deb),
         "--box-deb", str(box)],
        capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "COMMUNE_ADMIN_PASSWORD": "mật khẩu $x",
             "COMMUNE_ADMIN_SSH_KEYS": "ssh-ed25519 AAAAC3Nz it@province"})
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def pigen_config(pigen: Path) -> dict[str, str]:
    script = f"set -a; source {pigen / 'config'}; env -0"
    out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, check=True,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
    pairs = (item.decode().partition("=") for item in out.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


def test_image_config_becomes_pigen_config(pigen: Path) -> None:
    config = pigen_config(pigen)
    assert config["RELEASE"] == "bookworm"
    assert config["LOCALE_DEFAULT"] == "vi_VN.UTF-8"
    assert config["COMMUNE_EXTRA_LOCALES"] == "en_US.UTF-8"
    assert config["TIMEZONE_DEFAULT"] == "Asia/Ho_Chi_Minh"
    assert "COMMUNE_HOSTNAME_PREFIX" not in config, "a setting of commune-box now"
    assert config["FIRST_USER_PASS"] == "mật khẩu $x"
    assert config["PUBKEY_ONLY_SSH"] == "1"
    assert config["STAGE_LIST"] == "stage0 stage1 stage2 stage-commune"
    assert (pigen / "config").stat().st_mode & 0o077 == 0, "it holds a password"
    assert (pigen / "stage2" / "SKIP_IMAGES").exists()


def test_image_stage_has_ordered_substages_and_packages(pigen: Path) -> None:
    stage = pigen / "stage-commune"
    assert sorted(p.name for p in stage.iterdir() if p.is_dir()) == ["00-base", "10-gateway"]
    packages = (stage / "00-base" / "00-packages").read_text().split()
    for needed in ("python3", "python3-venv", "fake-hwclock", "chrony", "unattended-upgrades",
                   "poppler-utils"):
        assert needed in packages
    assert (stage / "10-gateway" / "files" / "commune-gateway.deb").read_bytes() == b"!<arch>\n"
    assert (stage / "10-gateway" / "files" / "commune-box.deb").read_bytes() == b"!<arch>\nbox"
    assert (stage / "EXPORT_IMAGE").exists() and os.access(stage / "prerun.sh", os.X_OK)


def run_stage_script(pigen: Path, script: str, rootfs: Path) -> str:
    """Runs a host-side stage script as pi-gen would, with ``on_chroot`` recording its input."""
    rootfs.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "etc/systemd/system", "etc/apt/apt.conf.d", "etc/default",
                "boot/firmware"):
        (rootfs / sub).mkdir(parents=True, exist_ok=True)
    path = pigen / "stage-commune" / script
    wrapper = ('on_chroot() { cat >>"$ROOTFS_DIR/chroot.log"; }; export -f on_chroot; '
               f'set -a; source {pigen / "config"}; set +a; exec bash ./{path.name}')
    result = subprocess.run(["bash", "-c", wrapper], cwd=path.parent, capture_output=True,
                            text=True, timeout=30, check=False,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                 "ROOTFS_DIR": str(rootfs)})
    assert result.returncode == 0, result.stdout + result.stderr
    log = rootfs / "chroot.log"
    return log.read_text() if log.exists() else ""


def test_stage_base_writes_only_what_no_package_owns(pigen: Path, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    run_stage_script(pigen, "00-base/01-run.sh", rootfs)
    assert 'CODESET="Vietnamese"' in (rootfs / "etc/default/console-setup").read_text()
    assert "ALGO=zstd" in (rootfs / "etc/default/zramswap").read_text()
    config_txt = rootfs / "boot/firmware/config.txt"
    assert "dtparam=watchdog=on" in config_txt.read_text().splitlines()
    run_stage_script(pigen, "00-base/01-run.sh", rootfs)  # a second run adds nothing
    assert config_txt.read_text().count("dtparam=watchdog=on") == 1
    # journald, chrony, apt and the watchdog's systemd side come with commune-box.
    written = {str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_file()}
    assert written == {"etc/default/console-setup", "etc/default/zramswap",
                       "boot/firmware/config.txt"}


def test_daemon_is_watched_by_systemd() -> None:
    u = unit("commune-gateway.service")
    assert u.get("Service", "Type") == "notify" and u.get("Service", "NotifyAccess") == "main"
    assert u.get("Service", "WatchdogSec") == "60s"
    assert u.get("Service", "Restart") == "always"


def test_stage_gateway_only_installs_the_packages(pigen: Path, tmp_path: Path) -> None:
    chroot = run_stage_script(pigen, "10-gateway/00-run.sh", tmp_path / "rootfs")
    assert (tmp_path / "rootfs/tmp/commune-gateway.deb").exists()
    assert (tmp_path / "rootfs/tmp/commune-box.deb").exists()
    assert "apt-get install -y /tmp/commune-gateway.deb /tmp/commune-box.deb" in chroot
    assert "systemctl" not in chroot, "commune-box's postinst enables what a box runs"
