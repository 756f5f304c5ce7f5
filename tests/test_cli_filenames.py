"""Properties of the export names (gateway.model.filenames): writable on ext4, exFAT and vfat,
never clashing, and unchanged when they were fine already."""

from __future__ import annotations

import errno
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model.document import DEFAULT_LIMITS
from gateway.model.filenames import (
    MAX_NAME_BYTES,
    NAME_MAX_BYTES,
    TEMP_OVERHEAD_BYTES,
    clash_key,
    safe_name,
    unique_name,
    utf8_len,
)
from gateway.store.blobs import BlobStore

UNSAFE = set('"*/:<>?\\|') | {chr(c) for c in range(32)} | {"\x7f"}
RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{n}" for d in ("COM", "LPT") for n in range(1, 10)}
VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụ"
# Any code point, lone surrogates included: Python keeps undecodable bytes of a file name so.
names = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=300)
budgets = st.integers(min_value=32, max_value=NAME_MAX_BYTES)


def writable(name: str, max_bytes: int) -> bool:
    return (bool(name) and utf8_len(name) <= max_bytes and not set(name) & UNSAFE
            and not name.endswith((" ", ".")) and name == unicodedata.normalize("NFC", name)
            and name.split(".")[0].rstrip(" ").upper() not in RESERVED
            and not any(0xD800 <= ord(c) <= 0xDFFF for c in name))


def test_budget_leaves_room_for_the_blob_stores_temp_name(tmp_path: Path) -> None:
    """The real blob store's export: a name of the budget fits, one byte more does not."""
    blobs = BlobStore(tmp_path / "blobs")
    sha, _ = blobs.put_bytes(b"%PDF")
    blobs.export(sha, tmp_path / ("ễ" * (MAX_NAME_BYTES // 3)))
    with pytest.raises(OSError) as too_long:
        blobs.export(sha, tmp_path / ("ễ" * (MAX_NAME_BYTES // 3) + "x"))
    assert too_long.value.errno == errno.ENAMETOOLONG
    assert MAX_NAME_BYTES + TEMP_OVERHEAD_BYTES == NAME_MAX_BYTES
    assert DEFAULT_LIMITS.max_name_bytes == MAX_NAME_BYTES  # what send accepts, export can write


@given(names, budgets)
def test_safe_name_is_writable_and_stable(name: str, max_bytes: int) -> None:
    safe = safe_name(name, max_bytes)
    assert writable(safe, max_bytes), safe
    assert safe_name(safe, max_bytes) == safe


@given(st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " -_()0123456789",
               min_size=1, max_size=70), st.sampled_from(["", ".pdf", ".docx", ".tar.gz"]))
def test_a_name_that_fits_is_kept(stem: str, ext: str) -> None:
    name = unicodedata.normalize("NFC", stem.strip() or "x") + ext
    if writable(name, MAX_NAME_BYTES):
        assert safe_name(name) == name
        assert unique_name(name, set()) == name


@given(st.text(alphabet=VIETNAMESE, min_size=100, max_size=300), st.sampled_from([".pdf", ".xlsx"]))
def test_a_long_name_keeps_its_extension(stem: str, ext: str) -> None:
    assert safe_name(stem + ext).endswith(ext)


@given(st.lists(names, max_size=30), st.lists(names, max_size=10), budgets)
def test_unique_names_never_clash(batch: list[str], existing: list[str], max_bytes: int) -> None:
    used = {clash_key(n) for n in existing}
    taken = set(used)
    out = [unique_name(n, used, max_bytes) for n in batch]
    keys = [clash_key(n) for n in out]
    assert len(set(keys)) == len(out) and not set(keys) & taken
    assert all(writable(n, max_bytes) for n in out)


def test_examples() -> None:
    used: set[str] = set()
    assert [unique_name(n, used) for n in ("Báo cáo.pdf", "BÁO CÁO.pdf", "báo cáo.PDF")] == [
        "Báo cáo.pdf", "BÁO CÁO (2).pdf", "báo cáo (3).PDF"]
    assert safe_name(unicodedata.normalize("NFD", "Tờ trình.pdf")) == "Tờ trình.pdf"
    assert safe_name('QĐ 12/2024: "mẫu"?.pdf') == "QĐ 12_2024_ _mẫu__.pdf"
    assert safe_name("con.txt") == "_con.txt" and safe_name("LPT1") == "_LPT1"
    assert safe_name("ghi chú. . ") == "ghi chú" and safe_name(" ..") == "_"
    assert safe_name("b\udce1o c\udce1o.pdf") == "b_o c_o.pdf"
