"""A built-in Vietnamese input method (Telex and VNI) for text fields, pure (no Textual).

The box's own console (tty1) has no input method, and subjects and notes are Vietnamese. Each
key is applied to the word before the cursor: the word is split into its letters without the
tone and its tone, the key changes one of them (a hat, a breve, a horn, đ, or the tone), and
the tone is placed again by the spelling rules, so the order of keys does not matter
("tieengs" and "tieesng" both give "tiếng"). Pressing a key a second time takes its mark back
("ass" → "as", "aaa" → "aa"). Where a key cannot apply it is typed as itself.
"""

from __future__ import annotations

import enum
import unicodedata

TONES = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
TONE_MARKS = tuple(TONES)  # sắc, huyền, hỏi, ngã, nặng
TELEX_TONE = {k: m for m, k in TONES.items()}
VNI_TONE = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323"}
# base vowel -> (hat, breve, horn) forms
HAT = {"a": "â", "e": "ê", "o": "ô"}
BREVE = {"a": "ă"}
HORN = {"o": "ơ", "u": "ư"}
PLAIN = {v: k for table in (HAT, BREVE, HORN) for k, v in table.items()}
VOWELS = set("aeiouy") | set(PLAIN)


class Method(enum.Enum):
    OFF = "off"
    TELEX = "telex"
    VNI = "vni"


def split_tone(word: str) -> tuple[str, str]:
    """(the word without its tone mark, the tone's combining mark or '')."""
    tone = ""
    out = []
    for ch in word:
        parts = unicodedata.normalize("NFD", ch)
        for mark in TONE_MARKS:
            if mark in parts:
                tone = mark
                parts = parts.replace(mark, "")
        out.append(unicodedata.normalize("NFC", parts))
    return "".join(out), tone


def _tone_index(word: str) -> int | None:
    """Where the tone goes in a toneless word (old style, as in 'Ủy ban', 'Hòa Bình')."""
    low = word.lower()
    idx = [i for i, c in enumerate(low) if c in VOWELS]
    if not idx:
        return None
    # 'qu' and 'gi' followed by another vowel: the u / i belong to the consonant.
    if len(idx) > 1 and idx[0] == 1 and low[0] in "qg" and low[1] in "ui" and \
            not (low[0] == "q" and low[1] == "i"):
        idx = idx[1:]
    cluster: list[int] = []
    for i in idx:
        if cluster and i != cluster[-1] + 1:
            break
        cluster.append(i)
    marked = [i for i in cluster if low[i] in PLAIN]
    if marked:
        return marked[-1]  # ươ: on ơ; otherwise the one with a hat, breve or horn
    if len(cluster) == 1:
        return cluster[0]
    if cluster[-1] + 1 < len(low):  # a final consonant follows: the last vowel
        return cluster[-1]
    return cluster[1] if len(cluster) == 3 else cluster[0]


def place_tone(word: str, tone: str) -> str:
    if not tone:
        return word
    i = _tone_index(word)
    if i is None:
        return word
    return word[:i] + unicodedata.normalize("NFC", word[i] + tone) + word[i + 1:]


def _same_case(template: str, ch: str) -> str:
    return ch.upper() if template.isupper() else ch


def _modify(base: str, key: str, method: Method) -> str | None:
    """The toneless word after a shape key, or None when the key does not apply."""
    low = base.lower()
    k = key.lower()
    if (method is Method.TELEX and k == "d") or (method is Method.VNI and k == "9"):
        for i in range(len(low) - 1, -1, -1):
            if low[i] == "d" and (method is Method.VNI or i == len(low) - 1):
                return base[:i] + _same_case(base[i], "đ") + base[i + 1:]
            if low[i] == "đ" and (method is Method.VNI or i == len(low) - 1):
                return base[:i] + _same_case(base[i], "d") + base[i + 1:] + key
        return None
    table: dict[str, str]
    targets: tuple[str, ...]
    if method is Method.TELEX and k in HAT:
        table, targets = HAT, (k, HAT[k])
    elif method is Method.TELEX and k == "w":
        table, targets = {**BREVE, **HORN}, ("a", "o", "u", "ă", "ơ", "ư")
    elif method is Method.VNI and k == "6":
        table, targets = HAT, ("a", "e", "o", "â", "ê", "ô")
    elif method is Method.VNI and k == "7":
        table, targets = HORN, ("o", "u", "ơ", "ư")
    elif method is Method.VNI and k == "8":
        table, targets = BREVE, ("a", "ă")
    else:
        return None
    vowels = [i for i, c in enumerate(low) if c in targets]
    if not vowels:
        if method is Method.TELEX and k == "w" and not any(c in VOWELS for c in low):
            return base + _same_case(key, "ư")  # 'w' alone is ư
        return None
    i = vowels[-1]
    if low[i] in PLAIN and table.get(PLAIN[low[i]]) == low[i]:  # pressed again: take it back
        return base[:i] + _same_case(base[i], PLAIN[low[i]]) + base[i + 1:] + key
    if low[i] not in table:
        return None
    out = base[:i] + _same_case(base[i], table[low[i]]) + base[i + 1:]
    if table is not HAT and "uo" in low[i - 1:i + 1] and low[i] == "o":
        out = out[:i - 1] + _same_case(base[i - 1], "ư") + out[i:]  # 'uow' is ươ
    return out


def feed(word: str, key: str, method: Method) -> str:
    """The word before the cursor after typing ``key`` (a single character)."""
    if method is Method.OFF or len(key) != 1 or (not word and not key.isalpha()):
        return word + key
    base, tone = split_tone(word)
    k = key.lower()
    tone_keys = TELEX_TONE if method is Method.TELEX else VNI_TONE
    has_vowel = any(c in VOWELS for c in base.lower())
    if has_vowel and (k in tone_keys or (method is Method.TELEX and k == "z")
                      or (method is Method.VNI and k == "0")):
        new_tone = tone_keys.get(k, "")
        if new_tone == tone:  # the same tone again: take it back and type the key
            return base + key if tone else word + key
        return place_tone(base, new_tone)
    changed = _modify(base, key, method) if word else None
    if changed is not None:
        return place_tone(changed, tone)
    if not key.isalpha():  # a space, a digit, punctuation: the word is finished
        return word + key
    return place_tone(base + key, tone)


def trailing_word(text: str) -> int:
    """Where the word before the end of ``text`` starts (letters only)."""
    i = len(text)
    while i > 0 and text[i - 1].isalpha():
        i -= 1
    return i


def type_keys(keys: str, method: Method) -> str:
    """What a field holds after typing ``keys`` one by one (for tests and the help)."""
    text = ""
    for key in keys:
        start = trailing_word(text)
        text = text[:start] + feed(text[start:], key, method)
    return text
