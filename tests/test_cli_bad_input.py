"""Issue 8, Low list: bad input ends in one line and exit 1, never a traceback or a hang.

Each test drives the real ``gateway`` command in a subprocess; names are ``test_low_…``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

from tests.conftest import COMMUNE_A, COMMUNE_B, CliRunner, run_gateway
from tests.test_cli_hardening import one_line


def send(cli: CliRunner, data: Path, *files: str | Path) -> subprocess.CompletedProcess[str]:
    return cli("send", "--data", str(data), "--to", COMMUNE_B, "--subject", "V/v thử",
               "--number", "1/UBND", *map(str, files), env={"GATEWAY_LANG": "en"})


def test_low_unreadable_input_file(cli: CliRunner, gw_dir: Path) -> None:
    # A regular file whose read fails (EIO) for root and non-root alike.
    result = send(cli, gw_dir, "/proc/self/mem")
    assert result.returncode == 1 and "Cannot read file" in one_line(result)
    assert not list((gw_dir / "blobs" / "tmp").iterdir())  # nothing half-written left


def test_low_not_a_regular_file(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # opened for reading, a FIFO would block for ever
    (tmp_path / "folder").mkdir()
    for name in (tmp_path / "pipe", tmp_path / "folder", Path("/dev/zero")):
        result = send(cli, gw_dir, name)
        assert result.returncode == 1 and "Not a regular file" in one_line(result), name
    missing = send(cli, gw_dir, tmp_path / "nope.pdf")
    assert missing.returncode == 1 and "File not found" in one_line(missing)


def run_bytes(*args: bytes) -> subprocess.CompletedProcess[str]:
    """The command with arguments that are not UTF-8, as a shell would pass them."""
    result = subprocess.run([sys.executable.encode(), b"-m", b"gateway.cli", *args],
                            capture_output=True, check=False, timeout=60,
                            env={**os.environ, "GATEWAY_LANG": "en"})
    return subprocess.CompletedProcess(args, result.returncode,
                                       result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


def test_low_invalid_utf8_arguments_and_file_names(gw_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "a.pdf"
    good.write_bytes(b"%PDF")
    data = bytes(gw_dir)
    base = (b"send", b"--data", data, b"--to", COMMUNE_B.encode(), b"--number", b"1/A")
    subject = run_bytes(*base, b"--subject", b"Tr\xedch y\xe1\xbau", bytes(good))
    assert subject.returncode == 1 and "--subject is not valid UTF-8" in one_line(subject)
    bad_name = bytes(tmp_path) + b"/b\xe1o c\xe1o.pdf"  # Latin-1, from an old Windows PC
    Path(os.fsdecode(bad_name)).write_bytes(b"%PDF")
    named = run_bytes(*base, b"--subject", b"ok", bad_name)
    assert named.returncode == 1 and "File name is not valid UTF-8" in one_line(named)
    # A data folder whose path is not UTF-8 is still a folder: it works, and is printed back.
    odd = bytes(tmp_path) + b"/d\xff"
    init = run_bytes(b"init", b"--data", odd, b"--agency", COMMUNE_A.encode())
    assert init.returncode == 0, init.stderr


def test_low_export_to_a_file_or_proc(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF")
    doc_id = send(cli, gw_dir, pdf).stdout.strip()
    for dest in (pdf, Path("/proc/self"), pdf / "below-a-file"):
        result = cli("export", "--data", str(gw_dir), doc_id, "--to", str(dest),
                     env={"GATEWAY_LANG": "en"})
        assert result.returncode == 1, (dest, result.stderr)
        assert any(words in one_line(result)
                   for words in ("Not a folder", "Cannot write", "No such folder"))
    assert pdf.read_bytes() == b"%PDF"


def test_low_export_never_overwrites(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "Báo cáo.pdf"
    pdf.write_bytes(b"%PDF new")
    doc_id = send(cli, gw_dir, pdf).stdout.strip()
    out = tmp_path / "usb"
    out.mkdir()
    (out / "Báo cáo.pdf").write_bytes(b"the clerk's own file")
    (out / "BÁO CÁO (2).PDF").write_bytes(b"another one")  # the same name on a FAT stick
    result = cli("export", "--data", str(gw_dir), doc_id, "--to", str(out),
                 env={"GATEWAY_LANG": "en"})
    assert result.returncode == 0, result.stderr
    assert (out / "Báo cáo.pdf").read_bytes() == b"the clerk's own file"
    assert (out / "BÁO CÁO (2).PDF").read_bytes() == b"another one"
    assert (out / "Báo cáo (3).pdf").read_bytes() == b"%PDF new"
    assert result.stdout.strip() == str(out / "Báo cáo (3).pdf")
    assert "saved as 'Báo cáo (3).pdf'" in one_line(result)


def test_low_usb_unsafe_and_clashing_names(cli: CliRunner, gw_dir: Path, tmp_path: Path) -> None:
    names = ["Báo cáo.pdf", unicodedata.normalize("NFD", "Báo cáo.pdf"), "BÁO CÁO.pdf",
             'QĐ 12: "mẫu"?.pdf', "CON.txt", "ghi chú. ", "a|b*c<d>.doc"]
    files = []
    for i, name in enumerate(names):
        (tmp_path / str(i)).mkdir()
        files.append(tmp_path / str(i) / name)
        files[-1].write_bytes(name.encode())
    doc_id = send(cli, gw_dir, *files).stdout.strip()
    assert doc_id, "all these names are legal to send"
    out = tmp_path / "usb"
    result = cli("export", "--data", str(gw_dir), doc_id, "--to", str(out))
    assert result.returncode == 1  # a stick not mounted yet: nothing lands on the SD card
    assert "Không có thư mục này (nếu là USB, hãy cắm lại" in result.stderr
    assert not out.exists()
    out.mkdir()
    result = cli("export", "--data", str(gw_dir), doc_id, "--to", str(out))
    assert result.returncode == 0, result.stderr
    written = sorted(out.iterdir())
    assert len(written) == len(names)
    keys = {unicodedata.normalize("NFC", p.name).casefold() for p in written}
    assert len(keys) == len(names)  # no two are one file on exFAT or vfat
    for p in written:
        assert not set(p.name) & set('\\:*?"<>|') and not p.name.endswith((" ", "."))
        assert p.name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}
    assert sorted(p.read_bytes() for p in written) == sorted(n.encode() for n in names)
    assert sorted(result.stdout.split("\n")[:-1]) == [str(p) for p in written]


def test_low_broken_config_and_key(cli: CliRunner, gw_dir: Path) -> None:
    config = gw_dir / "config.json"
    for broken in ("{not json", "[]", json.dumps({"agency": 7}), "\xff"):
        config.write_text(broken, encoding="latin-1")
        result = cli("list", "--data", str(gw_dir), env={"GATEWAY_LANG": "en"})
        assert result.returncode == 1 and "damaged" in one_line(result), broken
    repaired = cli("init", "--data", str(gw_dir), "--agency", COMMUNE_A)
    assert repaired.returncode == 0, repaired.stderr
    key = gw_dir / "identity" / "key.pem"
    key.parent.mkdir()
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    enroll = cli("enroll", "--data", str(gw_dir), "--hub", "https://127.0.0.1:9",
                 "--token", "t@" + "0" * 32, env={"GATEWAY_LANG": "en"})
    assert enroll.returncode == 1 and "key.pem is damaged" in one_line(enroll)
    for name in ("cert.pem", "ca.pem"):  # looks enrolled: the daemon loads the identity
        (gw_dir / "identity" / name).write_bytes(b"")
    config.write_text(json.dumps({"agency": COMMUNE_A, "hub": "https://127.0.0.1:9"}))
    run = cli("run", "--data", str(gw_dir), env={"GATEWAY_LANG": "en"})
    assert run.returncode == 1 and "key.pem is damaged" in one_line(run)


def test_low_closed_pipe(gw_dir: Path) -> None:
    """``gateway list | head``: the reader is gone before the command writes."""
    for args in (("agencies",), ("list", "--data", str(gw_dir), "--json")):
        read, write = os.pipe()
        os.close(read)
        try:
            result = subprocess.run([sys.executable, "-m", "gateway.cli", *args], stdout=write,
                                    stderr=subprocess.PIPE, text=True, check=False, timeout=60)
        finally:
            os.close(write)
        assert result.returncode == 1 and result.stderr == "", (args, result.stderr)


def test_low_bad_input_of_the_before_stop_check(tmp_path: Path) -> None:
    """The same inputs as the project's before-stop check, so CI sees them too."""
    (tmp_path / "d").mkdir()
    (tmp_path / "f.pdf").write_bytes(b"x")
    none = str(tmp_path / "none")
    for args in (("list", "--data", none), ("show", "--data", none, "00000000"),
                 ("send", "--data", none, "--to", "x", "--subject", "s", "--number", "1/A",
                  str(tmp_path / "d")),
                 ("export", "--data", none, "0", "--to", str(tmp_path / "f.pdf"))):
        result = run_gateway(*args, timeout=10)
        assert result.returncode == 1 and one_line(result), args
