"""Backups that must not be restored, and restores that must not happen: each is refused with
one bilingual line, and nothing is left at the target."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.hub.runtime import init_hub, open_hub
from gateway.model import Directory, Refused
from gateway.services.backup_manifest import MANIFEST, MANIFEST_SUM
from gateway.services.hub_backup import backup, outside_files
from gateway.services.hub_restore import restore
from gateway.store.blobs import BlobStore
from tests.conftest import CliRunner
from tests.test_appliance import HARDENING, SYSTEMD, analyze, read_unit


@pytest.fixture(scope="module")
def hub_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small hub with two blobs and its database, and one backup of it."""
    root = tmp_path_factory.mktemp("hub")
    init_hub(root / "hub", "H35", Directory.sample(), ["127.0.0.1"])
    asyncio.run(_create_database(root / "hub"))
    blobs = BlobStore(root / "hub" / "blobs")
    blobs.put_bytes(b"cong van so 1" * 100)
    blobs.put_bytes(b"quyet dinh" * 1000)
    return backup(root / "hub", root / "backups").path


async def _create_database(root: Path) -> None:
    state = await open_hub(root)
    await state.store.db.close()


def _copy(src: Path, tmp: Path) -> Path:
    dest = tmp / "bk"
    shutil.copytree(src, dest)
    return dest


def _blob(folder: Path) -> Path:
    return sorted((folder / "blobs").glob("*/*"))[0]


def _rewrite_manifest(folder: Path, edit: Callable[[dict[str, object]], None]) -> None:
    """An attacker who also fixes up manifest.sha256."""
    data = json.loads((folder / MANIFEST).read_bytes())
    edit(data)
    raw = json.dumps(data).encode()
    (folder / MANIFEST).write_bytes(raw)
    (folder / MANIFEST_SUM).write_text(hashlib.sha256(raw).hexdigest())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:50])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _add_traversal(d: dict[str, object]) -> None:
    files = d["files"]
    assert isinstance(files, dict)
    files["../../etc/cron.d/x"] = [1, "0" * 64]


def _plant_blob(folder: Path) -> None:
    data = b"not in this backup"
    sha = hashlib.sha256(data).hexdigest()
    (folder / "blobs" / sha[:2]).mkdir(exist_ok=True)
    (folder / "blobs" / sha[:2] / sha).write_bytes(data)


def _fewer_blobs(d: dict[str, object]) -> None:
    blobs = d["blobs"]
    assert isinstance(blobs, dict)
    blobs["count"] = 1


CASES: dict[str, Callable[[Path], None]] = {
    "planted_blob": _plant_blob,
    "manifest_claims_fewer_blobs": lambda f: _rewrite_manifest(f, _fewer_blobs),
    "flipped_bit_in_a_blob": lambda f: _flip(_blob(f)),
    "missing_blob": lambda f: _blob(f).unlink(),
    "truncated_manifest": lambda f: _truncate(f / MANIFEST),
    "missing_manifest_sum": lambda f: (f / MANIFEST_SUM).unlink(),
    "corrupt_database": lambda f: _flip(f / "hub.sqlite3"),
    "edited_ca_certificate": lambda f: _flip(f / "ca" / "ca.pem"),
    "manifest_path_traversal": lambda f: _rewrite_manifest(f, _add_traversal),
    "manifest_not_json": lambda f: _rewrite_manifest(f, lambda d: d.clear()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_backup_is_refused_and_nothing_is_restored(
        hub_backup: Path, tmp_path: Path, case: str) -> None:
    folder = _copy(hub_backup, tmp_path)
    CASES[case](folder)
    target = tmp_path / "new-hub"
    with pytest.raises(Refused) as caught:
        restore(folder, target)
    assert caught.value.codes == ("backup.damaged",)
    assert "bị hỏng" in caught.value.text("vi") and "damaged" in caught.value.text("en")
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bk"], "a half restore was left behind"


def test_restore_never_overwrites_a_hub_unless_forced(hub_backup: Path, tmp_path: Path) -> None:
    target = tmp_path / "hub"
    restore(hub_backup, target)
    (target / "note.txt").write_text("the running hub's own file")
    with pytest.raises(Refused) as caught:
        restore(hub_backup, target)
    assert caught.value.codes == ("restore.not_empty",)
    assert (target / "note.txt").exists()
    result = restore(hub_backup, target, force=True)
    assert result.moved_aside is not None and (result.moved_aside / "note.txt").exists()
    assert not (target / "note.txt").exists() and (target / "hub.json").exists()


def test_what_a_killed_restore_left_is_swept(hub_backup: Path, tmp_path: Path) -> None:
    left = tmp_path / ".hub.restoring-999999999"  # no such process
    (left / "blobs").mkdir(parents=True)
    restore(hub_backup, tmp_path / "hub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub"]


def test_backup_refuses_a_target_inside_the_data_folder(hub_backup: Path) -> None:
    data = hub_backup.parent.parent / "hub"
    for inside in (data, data / "backups", data / "blobs" / "x"):
        with pytest.raises(Refused) as caught:
            backup(data, inside)
        assert caught.value.codes == ("backup.inside_data",)
    assert not (data / "backups").exists()


def test_a_killed_backup_is_swept_and_two_never_run_at_once(hub_backup: Path,
                                                           tmp_path: Path) -> None:
    data, target = hub_backup.parent.parent / "hub", tmp_path / "backups"
    first = backup(data, target)
    stale = target / ".partial-hub-20260101T000000000000Z"
    (stale / "blobs").mkdir(parents=True)  # what kill -9 in the middle leaves
    fd = os.open(target / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another backup is running
        with pytest.raises(Refused) as caught:
            backup(data, target)
        assert caught.value.codes == ("backup.busy",)
    finally:
        os.close(fd)
    done = backup(data, target, keep=1)
    assert not stale.exists() and done.removed == (first.path,)
    assert sorted(p.name for p in target.iterdir()) == [".lock", done.path.name]


def test_a_backup_to_another_disk_copies_only_new_blobs(hub_backup: Path,
                                                          tmp_path: Path) -> None:
    data = hub_backup.parent.parent / "hub"
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == data.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) to back up to")
    target = Path(tempfile.mkdtemp(dir=shm, prefix="hub-backup-test-"))
    try:
        first = backup(data, target)
        assert not first.linked and first.reused == 0 and first.blobs == 2
        BlobStore(data / "blobs").put_bytes(b"cong van moi")  # one new blob since
        second = backup(data, target)
        assert second.blobs == 3 and second.reused == 2  # one copied, two linked
        restored = restore(target, tmp_path / "restored")
        assert restored.source == second.path and restored.blobs == 3
    finally:
        shutil.rmtree(target)


def test_files_hub_json_names_outside_the_data_folder_are_named(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    data.mkdir()
    (data / "hub.json").write_text(json.dumps({
        "province": "H35", "trust_roots": "trust/roots.pem", "trust_crls": ["/etc/crl.pem"],
        "axis": {"secret_file": "/etc/commune-hub/axis.secret"}}))
    assert outside_files(data) == ("/etc/commune-hub/axis.secret", "/etc/crl.pem")


def test_the_cli_refuses_a_damaged_backup_in_one_line(hub_backup: Path, tmp_path: Path,
                                                       cli: CliRunner) -> None:
    folder = _copy(hub_backup, tmp_path)
    _flip(_blob(folder))
    result = cli("hub", "restore", "--from", str(folder), "--data", str(tmp_path / "new"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "bị hỏng" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "new").exists()


def test_the_nightly_unit_is_hardened_and_runs_the_backup() -> None:
    service = read_unit(SYSTEMD / "commune-hub-backup.service")
    timer = read_unit(SYSTEMD / "commune-hub-backup.timer")
    assert service.all("Service", "ExecStart") == [
        "/usr/bin/gateway hub backup --data /var/lib/commune-hub "
        "--to /var/lib/commune-hub-backup --keep 7"]
    assert service.get("Service", "User") == "commune-hub"
    assert service.get("Service", "Type") == "oneshot"
    assert service.get("Service", "PrivateNetwork") == "yes"
    for key, value in HARDENING.items():
        assert service.get("Service", key) == value, key
    assert timer.get("Timer", "OnCalendar") == "*-*-* 01:30:00"
    assert timer.get("Timer", "Persistent") == "true"


def test_the_nightly_unit_exposes_little(tmp_path: Path) -> None:
    unit = tmp_path / "commune-hub-backup.service"
    unit.write_text((SYSTEMD / unit.name).read_text(encoding="utf-8")
                    .replace("/usr/bin/gateway", "/bin/true"), encoding="utf-8")
    result = subprocess.run([analyze(), "security", "--offline=true", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60, check=False)
    if "--offline" in result.stderr or "unrecognized option" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found and float(found[1]) <= 1.0, result.stdout[-500:]

