"""Item 7, the pure part: :mod:`gateway.model.safe_text` makes any remote text inert for a
terminal, keeps legitimate Vietnamese text byte for byte, and is idempotent; ``safe_json``
keeps the data true while its text stays inert."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.model.safe_text import safe_json, safe_text
from tests.hostile_text import BIDI, TERMINAL_ATTACK, unsafe

DANGEROUS = (
    [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + sorted(BIDI)
    + ["\u2028", "\u2029", "\u206a", "\u206f", "\ufff9", "\ufffb", "\ud800", "\udcff"]
)
# Any code point, surrogates included, with the dangerous ones drawn far more often.
hostile_text = st.text(alphabet=st.one_of(
    st.characters(), st.characters(categories=["Cs"]), st.sampled_from(DANGEROUS)))

VI_LETTERS = ("aăâbcdđeêghiklmnoôơpqrstuưvxy"
              "áàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
VI_ALPHABET = VI_LETTERS + VI_LETTERS.upper() + "0123456789 .,;:/-()«»“”'!?%"
COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
vietnamese = st.text(alphabet=st.sampled_from(VI_ALPHABET + COMBINING), max_size=200)
PROPERTY = settings(max_examples=400, deadline=None, database=None)


@PROPERTY
@given(hostile_text)
def test_item7_output_never_holds_a_control_escape_or_bidi(text: str) -> None:
    shown = safe_text(text)
    assert unsafe(shown) == []
    assert "\x1b" not in shown and "\r" not in shown and "\n" not in shown
    shown.encode("utf-8")  # no lone surrogate left: printing can never fail


@PROPERTY
@given(hostile_text)
def test_item7_multiline_keeps_only_newlines(text: str) -> None:
    shown = safe_text(text, newlines=True)
    assert unsafe(shown, newlines=True) == []
    assert shown.count("\n") == text.count("\n")
    assert shown.split("\n") == [safe_text(line) for line in text.split("\n")]


@PROPERTY
@given(hostile_text, st.booleans())
def test_item7_idempotent(text: str, newlines: bool) -> None:
    once = safe_text(text, newlines=newlines)
    assert safe_text(once, newlines=newlines) == once
    assert safe_text(once) == safe_text(text)  # a stored escaped form stays as it is


@PROPERTY
@given(hostile_text)
def test_item7_nothing_disappears(text: str) -> None:
    """Every dangerous character leaves a visible trace (tab: a space); nothing is dropped."""
    shown = safe_text(text)
    assert len(shown) >= len(text)
    marked = sum(1 for c in text if 0x7F < ord(c) <= 0x9F or c in BIDI)
    assert shown.count("⟨U+") >= marked


@PROPERTY
@given(vietnamese)
def test_item7_vietnamese_with_diacritics_passes_unchanged(text: str) -> None:
    for form in (text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)):
        assert safe_text(form) == form
        assert safe_text(form, newlines=True) == form


@PROPERTY
@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"])))
def test_item7_only_controls_and_format_characters_change(text: str) -> None:
    """Letters, marks, digits, symbols, spaces of every script are left alone."""
    assert safe_text(text) == text


def test_item7_the_chosen_escapes() -> None:
    """The documented forms: Control Pictures for C0 and DEL, ⟨U+XXXX⟩ for C1 and bidi."""
    assert safe_text("a\x1b[2Jb") == "a␛[2Jb"
    assert safe_text("\x1b]52;c;ZXZpbA==\x07") == "␛]52;c;ZXZpbA==␇"
    assert safe_text("Số 12\rSố 99") == "Số 12␍Số 99"
    assert safe_text("x\ny") == "x␊y" and safe_text("x\ny", newlines=True) == "x\ny"
    assert safe_text("a\tb\x00\x7f") == "a b␀␡"
    assert safe_text("\x9b31m\x85") == "⟨U+009B⟩31m⟨U+0085⟩"
    assert safe_text("bao-cao\u202efdp.exe") == "bao-cao⟨U+202E⟩fdp.exe"
    assert safe_text("\u2066\u2069\u200e\u200f\u061c") == (
        "⟨U+2066⟩⟨U+2069⟩⟨U+200E⟩⟨U+200F⟩⟨U+061C⟩")
    assert safe_text("[bold]x[/]") == "[bold]x[/]"  # markup is the TUI's concern: Text cells
    assert safe_text("UBND xã Nậm Cuổi") == "UBND xã Nậm Cuổi"


plain_json = st.recursive(
    st.none() | st.integers() | hostile_text,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(hostile_text, inner, max_size=4), max_leaves=12)


@PROPERTY
@given(plain_json)
def test_item7_json_keeps_true_data_in_inert_text(value: object) -> None:
    text = safe_json(value)
    assert json.loads(text) == value
    assert unsafe(text, newlines=True) == []  # the newlines are the indentation
    text.encode("utf-8")
    flat = safe_json(value, indent=None)
    assert unsafe(flat) == [] and json.loads(flat) == value


def test_item7_json_of_the_attack_decodes_to_the_attack() -> None:
    text = safe_json({"subject": TERMINAL_ATTACK})
    assert json.loads(text) == {"subject": TERMINAL_ATTACK}
    assert "\\u001b[2J" in text and "\\u202e" in text and "\\u009b" in text
    assert "\\u007f" in text  # json.dumps alone would leave DEL raw
