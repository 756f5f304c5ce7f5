"""Agency identifiers (mã định danh, Decision 20/2020/QĐ-TTg) and the agency directory.

The written form is ``AAA.BB.CC.DDD``: level-4 digits, level-3, level-2, then the level-1 code
(a letter and two digits, ``H35`` for a province). Real packages also carry shorter legacy codes
such as ``28.22.H17``; they are accepted and flagged, never a crash. The directory is data the
hub owns and replaces as a whole, because identifiers were re-issued when districts were
abolished in 2025 and will change again.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gateway.model.errors import Problem, Refused

_FULL = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")
_LEGACY = re.compile(r"^(?:\d{1,3}\.){0,2}[A-Z]\d{2}$")
MAX_CODE_LEN = 32
MAX_DIRECTORY_ENTRIES = 20_000
MAX_NAME_LEN = 300


def fold(text: str) -> str:
    """Lower case without diacritics, so 'nam cuoi' finds 'Nậm Cuổi'."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matches(query: str, *fields: str) -> bool:
    """Every word of ``query`` appears in the fields (folded): how a clerk finds an agency."""
    haystack = fold(" ".join(fields))
    return all(word in haystack for word in fold(query).split())


def _bad_code(text: str) -> Refused:
    shown = text[:MAX_CODE_LEN]
    return Refused(
        Problem(
            "agency.invalid",
            f"Mã định danh không hợp lệ: '{shown}' (dạng đúng: 000.00.00.H35)",
            f"Invalid agency code: '{shown}' (expected form 000.00.00.H35)",
        )
    )


@dataclass(frozen=True, order=True)
class AgencyCode:
    """A parsed identifier; ``legacy`` marks the short historical forms kept for input only."""

    text: str
    legacy: bool = False

    @classmethod
    def parse(cls, text: str) -> AgencyCode:
        value = text.strip().upper()
        if len(value) > MAX_CODE_LEN:
            raise _bad_code(text)
        if _FULL.match(value):
            return cls(value)
        if _LEGACY.match(value):
            return cls(value, legacy=True)
        raise _bad_code(text)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.text.split("."))

    @property
    def level(self) -> int:
        """1 = the level-1 body itself (province, ministry), up to 4 for the deepest unit."""
        if self.legacy:
            return len(self.parts)
        l4, l3, l2, _ = self.parts
        if int(l4):
            return 4
        if int(l3):
            return 3
        if int(l2):
            return 2
        return 1

    @property
    def parent(self) -> AgencyCode | None:
        """The code with its lowest non-zero level cleared; ``None`` for a level-1 body."""
        if self.legacy:
            rest = self.parts[1:]
            return AgencyCode(".".join(rest), legacy=True) if rest else None
        l4, l3, l2, l1 = self.parts
        if int(l4):
            return AgencyCode(f"000.{l3}.{l2}.{l1}")
        if int(l3):
            return AgencyCode(f"000.00.{l2}.{l1}")
        if int(l2):
            return AgencyCode(f"000.00.00.{l1}")
        return None

    @property
    def province(self) -> str:
        return self.parts[-1]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Agency:
    code: AgencyCode
    name: str
    level: int
    parent: AgencyCode | None

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "code": self.code.text,
            "name": self.name,
            "level": self.level,
            "parent": self.parent.text if self.parent else None,
        }


class Directory(Mapping[str, Agency]):
    """An immutable snapshot of the agency directory, keyed by code text."""

    def __init__(self, agencies: Iterable[Agency], *, source: str = "") -> None:
        self._by_code = {a.code.text: a for a in agencies}
        self.source = source

    def __getitem__(self, code: str) -> Agency:
        return self._by_code[code.strip().upper()]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._by_code))

    def __len__(self) -> int:
        return len(self._by_code)

    def search(self, query: str) -> list[Agency]:
        """The agencies whose name or code holds every word of ``query``, by code."""
        return [self._by_code[c] for c in self if matches(query, self._by_code[c].name, c)]

    def children(self, code: str) -> list[Agency]:
        return [a for a in self._by_code.values() if a.parent and a.parent.text == code]

    def to_json(self) -> str:
        entries = [self._by_code[c].to_dict() for c in self]
        return json.dumps({"agencies": entries}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, *, source: str = "") -> Directory:
        """Parses a directory file, reporting every bad entry rather than the first one."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Refused(_dir_problem(source, f"JSON: {exc.msg}")) from None
        entries = data.get("agencies") if isinstance(data, dict) else None
        if not isinstance(entries, list) or len(entries) > MAX_DIRECTORY_ENTRIES:
            raise Refused(_dir_problem(source, "'agencies' list missing or too long"))
        agencies: list[Agency] = []
        problems: list[Problem] = []
        for index, entry in enumerate(entries):
            try:
                agencies.append(_parse_entry(entry))
            except Refused as exc:
                problems.extend(_dir_problem(source, f"#{index}: {p.en}") for p in exc.problems)
        if problems:
            raise Refused(problems)
        return cls(agencies, source=source)

    @classmethod
    def load(cls, path: Path) -> Directory:
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def sample(cls) -> Directory:
        """The shipped sample directory of province H35 (made-up names, marked as sample)."""
        text = resources.files("gateway.model").joinpath("data/h35_sample.json").read_text("utf-8")
        return cls.from_json(text, source="sample:H35")


def _dir_problem(source: str, detail: str) -> Problem:
    return Problem(
        "directory.invalid",
        f"Danh bạ cơ quan không hợp lệ ({source}): {detail}",
        f"Invalid agency directory ({source}): {detail}",
    )


def _parse_entry(entry: object) -> Agency:
    if not isinstance(entry, dict):
        raise Refused(_dir_problem("", "entry is not an object"))
    code = AgencyCode.parse(str(entry.get("code", "")))
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LEN:
        raise Refused(_dir_problem("", f"{code}: name missing or too long"))
    parent_text = entry.get("parent")
    parent = AgencyCode.parse(str(parent_text)) if parent_text else code.parent
    return Agency(code=code, name=name.strip(), level=code.level, parent=parent)
