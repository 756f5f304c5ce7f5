from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.conftest import COMMUNE_B, COMMUNE_C, OFFICE, CliRunner


def make_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def send(cli: CliRunner, data: Path, *files: Path, to: str = COMMUNE_B,
         extra: tuple[str, ...] = ()) -> str:
    result = cli("send", "--data", str(data), "--to", to, "--subject", "V/v kế hoạch tháng 12",
                 "--number", "45/UBND-VP", *extra, *map(str, files))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_send_list_show_export_round_trip(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    pdf = make_file(tmp_path / "cong-van.pdf", 200_000)
    doc_id = send(cli, gw_dir, pdf, to=f"{COMMUNE_B},{OFFICE}",
                  extra=("--urgency", "hoa-toc", "--due", "2099-01-01"))
    listed = json.loads(cli("list", "--data", str(gw_dir), "--outbox", "--json").stdout)
    assert [d["id"] for d in listed] == [doc_id]
    assert listed[0]["envelope"]["urgency"] == 3
    shown = json.loads(cli("show", "--data", str(gw_dir), doc_id, "--json").stdout)
    att = shown["envelope"]["att"][0]
    assert att["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert {d["to"] for d in shown["deliveries"]} == {COMMUNE_B, OFFICE}
    assert [e["kind"] for e in shown["events"]] == ["queued"]
    text = cli("show", "--data", str(gw_dir), doc_id)
    assert "Hỏa tốc" in text.stdout and "Chờ gửi" in text.stdout
    out = tmp_path / "out"
    out.mkdir()
    assert cli("export", "--data", str(gw_dir), doc_id, "--to", str(out)).returncode == 0
    assert (out / "cong-van.pdf").read_bytes() == pdf.read_bytes()
    assert json.loads(cli("list", "--data", str(gw_dir), "--inbox", "--json").stdout) == []


def test_refusals_exit_1_with_one_line(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    f = make_file(tmp_path / "a.pdf", 10)
    base = ("send", "--data", str(gw_dir), "--subject", "x", "--number", "1/A", str(f))
    secret = cli(*base, "--to", COMMUNE_B, "--secret", "mật")
    assert secret.returncode == 1 and "mật" in secret.stderr
    assert len(secret.stderr.strip().splitlines()) == 1
    unknown = cli(*base, "--to", "000.00.77.H35", env={"GATEWAY_LANG": "en"})
    assert unknown.returncode == 1 and "Unknown recipient" in unknown.stderr
    missing = cli("send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "x",
                  "--number", "1/A", str(tmp_path / "nope.pdf"))
    assert missing.returncode == 1
    assert cli("show", "--data", str(gw_dir), "no-such-id").returncode == 1
    assert cli("list", "--data", str(tmp_path / "uninitialised")).returncode == 1
    assert json.loads(cli("list", "--data", str(gw_dir), "--json").stdout) == []


def test_usage_errors_exit_2(cli: CliRunner, gw_dir: Path) -> None:
    assert cli("send", "--data", str(gw_dir)).returncode == 2
    assert cli("frobnicate").returncode == 2
    assert cli("mark", "--data", str(gw_dir), "x", "--status", "99").returncode == 2


def test_disk_reserve_refuses_new_but_keeps_queued(cli: CliRunner, gw_dir: Path,
                                                   tmp_path: Path) -> None:
    f = make_file(tmp_path / "a.pdf", 1000)
    first = send(cli, gw_dir, f)
    config = json.loads((gw_dir / "config.json").read_text())
    config["reserve_bytes"] = 2**62
    (gw_dir / "config.json").write_text(json.dumps(config))
    refused = cli("send", "--data", str(gw_dir), "--to", COMMUNE_C, "--subject", "x",
                  "--number", "2/A", str(f))
    assert refused.returncode == 1 and "sắp đầy" in refused.stderr
    listed = json.loads(cli("list", "--data", str(gw_dir), "--json").stdout)
    assert [d["id"] for d in listed] == [first]


def test_status_agencies_scrub(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    send(cli, gw_dir, make_file(tmp_path / "a.pdf", 500))
    status = json.loads(cli("status", "--data", str(gw_dir), "--json").stdout)
    assert status["outbound_pending"] == 1 and status["agency"] == "000.00.31.H35"
    assert "Chờ gửi: 1" in cli("status", "--data", str(gw_dir)).stdout
    agencies = json.loads(cli("agencies", "--json").stdout)
    assert len([a for a in agencies if a["name"].startswith("UBND xã")]) >= 10
    assert cli("agencies", "--data", str(gw_dir)).returncode == 0
    assert cli("scrub", "--data", str(gw_dir)).returncode == 0
    blob = next(p for p in (gw_dir / "blobs").rglob("*") if p.is_file() and len(p.name) == 64)
    blob.write_bytes(b"rot")
    scrub = cli("scrub", "--data", str(gw_dir))
    assert scrub.returncode == 1 and blob.name in scrub.stdout


def test_init_is_idempotent_but_keeps_its_agency(cli: CliRunner, gw_dir: Path) -> None:
    assert cli("init", "--data", str(gw_dir), "--agency", "000.00.31.H35").returncode == 0
    other = cli("init", "--data", str(gw_dir), "--agency", COMMUNE_B)
    assert other.returncode == 1
    bad = cli("init", "--data", str(gw_dir) + "x", "--agency", "000.00.99.H35")
    assert bad.returncode == 1


def test_init_with_an_unreachable_hub_keeps_the_store_and_exits_75(cli: CliRunner,
                                                                   tmp_path: Path) -> None:
    """75 (EX_TEMPFAIL) tells first boot to try again later; a refusal (1) needs a person."""
    data = tmp_path / "box"
    token = "enr_abc@" + "0" * 32
    result = cli("init", "--data", str(data), "--agency", "000.00.31.H35",
                 "--hub", "https://127.0.0.1:9", "--token", token)
    assert result.returncode == 75, result.stderr
    assert "Không kết nối được máy chủ tỉnh" in result.stderr
    assert (data / "config.json").exists()
    malformed = cli("init", "--data", str(data), "--agency", "000.00.31.H35",
                    "--hub", "https://127.0.0.1:9", "--token", "enr_abc")
    assert malformed.returncode == 1


def test_init_again_keeps_the_hub_signing_and_reserve(cli: CliRunner, tmp_path: Path) -> None:
    """First boot's retries and a repair run `init` again: what the box was set up with stays."""
    data = tmp_path / "box"
    assert cli("init", "--data", str(data), "--agency", "000.00.31.H35",
               "--hub", "https://hub.example:8443").returncode == 0
    config = json.loads((data / "config.json").read_text(encoding="utf-8"))
    config["signing"] = {"pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so"}}
    config["reserve_bytes"] = 12345
    (data / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert cli("init", "--data", str(data), "--agency", "000.00.31.H35").returncode == 0
    kept = json.loads((data / "config.json").read_text(encoding="utf-8"))
    assert kept["hub"] == "https://hub.example:8443"
    assert kept["signing"] == config["signing"] and kept["reserve_bytes"] == 12345
    assert cli("init", "--data", str(data), "--agency", "000.00.31.H35",
               "--hub", "https://new-hub.example").returncode == 0
    moved = json.loads((data / "config.json").read_text(encoding="utf-8"))
    assert moved["hub"] == "https://new-hub.example" and moved["signing"] == config["signing"]
    (data / "config.json").write_text("{damaged", encoding="utf-8")
    assert cli("init", "--data", str(data), "--agency", "000.00.31.H35").returncode == 0
    assert json.loads((data / "config.json").read_text(encoding="utf-8"))["agency"] == \
        "000.00.31.H35"
