"""``gateway import`` / ``gateway export --edxml`` through the real command (subprocesses)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gateway.edxml import DocumentPackage, read_package, read_package_file
from gateway.edxml.dates import parse_date
from gateway.model import Directory
from gateway.model.agency import Agency, AgencyCode
from tests.conftest import COMMUNE_A, COMMUNE_B, CliRunner, run_gateway
from tests.edxml_fixtures import SAMPLES_DIR, small_document

PAYLOAD = b"Hello, x\xc3\xa3!"
EXTRA = "<ToPlaces><Place>Nơi nhận giữ nguyên</Place></ToPlaces>"


def our_package() -> bytes:
    """A package issued by COMMUNE_A for COMMUNE_B, with a field the envelope does not model
    (ToPlaces) and a From address (OrganAdd) that only the original package holds."""
    return (small_document(extra_header=EXTRA)
            .replace(b"000.00.21.H35</OrganId>", f"{COMMUNE_A}</OrganId><OrganAdd>Bản A"
                     "</OrganAdd>".encode())
            .replace(b"000.00.05.G10", COMMUNE_B.encode()))


def test_import_queues_like_send_and_export_gives_the_package_back(
        cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.edxml"
    src.write_bytes(our_package())
    done = cli("import", "--data", str(gw_dir), str(src))
    assert done.returncode == 0, done.stderr
    doc_id = done.stdout.strip()
    shown = json.loads(cli("show", "--data", str(gw_dir), doc_id, "--json").stdout)
    env = shown["envelope"]
    assert env["from"] == COMMUNE_A and [d["to"] for d in shown["deliveries"]] == [COMMUNE_B]
    assert env["subject"] == "Báo cáo tháng & kế hoạch" and env["urgency"] == 2
    assert env["att"][0]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert [e["kind"] for e in shown["events"]] == ["queued"]

    out = tmp_path / "out.edxml"
    written = cli("export", "--data", str(gw_dir), doc_id, "--edxml", str(out))
    assert written.returncode == 0, written.stderr
    back = read_package_file(out).package
    first = read_package(our_package()).package
    assert isinstance(back, DocumentPackage) and isinstance(first, DocumentPackage)
    assert back.header.to_places == first.header.to_places  # unmodelled, kept
    assert back.header.from_ == first.header.from_  # OrganAdd came back from the original
    assert back.header.document_id == first.header.document_id
    assert back.attachments[0].content == PAYLOAD
    again = cli("export", "--data", str(gw_dir), doc_id, "--edxml", str(out))
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    assert read_package_file(out).package == back  # never overwritten


def test_a_sent_document_exports_as_a_package(cli: CliRunner, gw_dir: Path,
                                              tmp_path: Path) -> None:
    pdf = tmp_path / "cv.pdf"
    pdf.write_bytes(b"%PDF-1.4 sample")
    sent = cli("send", "--data", str(gw_dir), "--to", COMMUNE_B, "--subject", "V/v họp",
               "--number", "7/UBND", str(pdf))
    out = tmp_path / "cv.edxml"
    assert cli("export", "--data", str(gw_dir), sent.stdout.strip(), "--edxml",
               str(out)).returncode == 0
    pkg = read_package_file(out).package
    assert isinstance(pkg, DocumentPackage)
    assert pkg.header.from_ is not None and pkg.header.from_.organ_id == COMMUNE_A
    assert pkg.header.subject == "V/v họp" and pkg.attachments[0].content == pdf.read_bytes()


@pytest.mark.parametrize(("name", "body", "code"), [
    ("status", None, "import.status_package"),
    ("foreign", small_document().replace(b"000.00.05.G10", COMMUNE_B.encode()),
     "000.00.21.H35"),
    ("unknown-recipient", small_document().replace(b"000.00.21.H35</OrganId>",
                                                   f"{COMMUNE_A}</OrganId>".encode()),
     "000.00.05.G10"),
    ("entity", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><edXML>&a;</edXML>',
     "DTD"),
    ("not-xml", b"\x00\x01 nothing", "edXML"),
])
def test_refusals_are_one_line(cli: CliRunner, gw_dir: Path, tmp_path: Path, name: str,
                               body: bytes | None, code: str) -> None:
    src = tmp_path / f"{name}.edxml"
    if body is None:
        status = Path(SAMPLES_DIR) / "status_inbox_01.edxml"
        if not status.exists():
            pytest.skip("no SDK samples here")
        body = status.read_bytes()
    src.write_bytes(body)
    done = cli("import", "--data", str(gw_dir), str(src), env={"GATEWAY_LANG": "en"})
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert code in lines[0] or name in ("status",), lines[0]
    assert json.loads(cli("list", "--data", str(gw_dir), "--json").stdout) == []


SAMPLES = sorted(Path(SAMPLES_DIR).glob("edoc*.edxml")) if Path(SAMPLES_DIR).exists() else []


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sdk_document_samples_import_on_a_box_of_their_sender(sample: Path,
                                                              tmp_path: Path) -> None:
    """None of the samples is issued by a commune of ours, so each gets a box whose agency is
    the sample's own sender and whose directory holds its recipients (the samples are not
    rewritten); then import → export → import gives the same envelope. A sample whose due
    date is before its issue date is refused with that reason, as ``send`` would."""
    pkg = read_package_file(sample).package
    assert isinstance(pkg, DocumentPackage) and pkg.header.from_ is not None
    sender = pkg.header.from_.organ_id or ""
    codes = [sender, *(o.organ_id or "" for o in pkg.header.to)]
    directory = tmp_path / "dir.json"
    directory.write_text(Directory(Agency(AgencyCode.parse(c), c, 1, None)
                                   for c in codes).to_json(), encoding="utf-8")
    data = tmp_path / "gw"
    init = run_gateway("init", "--data", str(data), "--agency", sender, "--directory",
                       str(directory))
    assert init.returncode == 0, init.stderr
    done = run_gateway("import", "--data", str(data), str(sample), env={"GATEWAY_LANG": "en"})
    due, issued = (parse_date(pkg.header.due_date),
                   parse_date(pkg.header.promulgation_info.promulgation_date
                              if pkg.header.promulgation_info else None))
    if due and issued and due < issued:  # edoc.edxml, edoc_new.edxml: we would not issue it
        assert done.returncode == 1 and "Due date" in done.stderr, done.stderr
        return
    assert done.returncode == 0, done.stderr
    first = json.loads(run_gateway("show", "--data", str(data), done.stdout.strip(),
                                   "--json").stdout)["envelope"]
    assert first["from"] == sender and first["subject"] == (pkg.header.subject or "").strip()
    out = tmp_path / "again.edxml"
    assert run_gateway("export", "--data", str(data), done.stdout.strip(), "--edxml",
                       str(out)).returncode == 0
    redo = run_gateway("import", "--data", str(data), str(out))
    assert redo.returncode == 0, redo.stderr
    second = json.loads(run_gateway("show", "--data", str(data), redo.stdout.strip(),
                                    "--json").stdout)["envelope"]
    for key in ("id", "created", "extra"):
        first.pop(key), second.pop(key)
    assert first == second
