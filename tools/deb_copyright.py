"""Write the .deb's machine-readable copyright file: our package, then every bundled project.

The commune-gateway .deb carries its Python dependencies in a private virtualenv, so Debian's
rule that /usr/share/doc/<pkg>/copyright states the licence of everything shipped covers some
thirty projects. Their wheels carry that information (METADATA and the licence files in the
.dist-info folder); this reads it and writes DEP-5:

    python3 tools/deb_copyright.py SITE_PACKAGES INSTALLED_SITE_PACKAGES OUT

Licences that Debian ships in /usr/share/common-licenses (Apache-2.0, MPL-2.0, the GPL family)
are referred to there, as policy asks; every other licence text (MIT, BSD, …) is copied whole.
A project whose licence cannot be found makes the build fail: shipping it unlicensed is worse.
Standard library only: build-deb.sh runs this with the build host's python3.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

COMMON = {"Apache-2.0", "MPL-2.0", "GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "GPL-2+", "GPL-3+"}
CLASSIFIERS = {
    "MIT License": "MIT",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
}
ALIASES = {"apache 2.0": "Apache-2.0", "apache license 2.0": "Apache-2.0",
           "apache 2": "Apache-2.0", "apache-2": "Apache-2.0", "mpl 2.0": "MPL-2.0"}
# Full texts of licences that are in /usr/share/common-licenses: lintian flags a copy, so the
# copyright file refers to Debian's copy instead.
FULL_TEXT_MARKERS = {
    "Apache-2.0": ("Apache License", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND"),
    "MPL-2.0": ("Mozilla Public License Version 2.0", "1. Definitions"),
    "GPL-3": ("GNU GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"),
    "GPL-2": ("GNU GENERAL PUBLIC LICENSE", "Version 2, June 1991"),
    "LGPL-3": ("GNU LESSER GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"),
    "LGPL-2.1": ("GNU LESSER GENERAL PUBLIC LICENSE", "Version 2.1, February 1999"),
}
SPLIT = re.compile(r"\s+(?:or|and|OR|AND|with|WITH)\s+|[()]")
LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
MAX_TEXT = 200_000  # bytes of licence text per project; a wheel is not a trusted source


@dataclass
class Project:
    name: str
    version: str
    licence: str
    copyright: str
    texts: list[str]
    common: set[str]
    paths: list[str]


def short_licence(meta: dict[str, str], classifiers: list[str]) -> str:
    """SPDX-like name: License-Expression, else a one-line License, else the classifiers."""
    expression = meta.get("License-Expression", "").strip()
    if expression:
        return expression
    declared = meta.get("License", "").strip()
    if declared.lower() in ALIASES:
        return ALIASES[declared.lower()]
    if declared and "\n" not in declared and len(declared) <= 60 and " " not in declared:
        return declared
    found = [CLASSIFIERS[c.rsplit(" :: ", 1)[-1]] for c in classifiers
             if c.startswith("License ::") and c.rsplit(" :: ", 1)[-1] in CLASSIFIERS]
    return " or ".join(dict.fromkeys(found)) or "other"


def common_full_text(text: str) -> str | None:
    """The common-licenses name of ``text`` when it is one of those licences in full."""
    return next((name for name, (a, b) in FULL_TEXT_MARKERS.items() if a in text and b in text),
                None)


def read_project(dist_info: Path, installed: str) -> Project:
    raw = (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
    message = HeaderParser().parsestr(raw, headersonly=True)
    meta = {k: str(v) for k, v in message.items()}
    classifiers = [str(c) for c in message.get_all("Classifier") or []]
    name, version = meta.get("Name", dist_info.name), meta.get("Version", "?")
    texts, holders, common = [], [], set()
    for path in sorted(p for p in dist_info.rglob("*") if p.is_file()
                       and LICENCE_FILE.search(p.name)):
        text = path.read_bytes()[:MAX_TEXT].decode("utf-8", errors="replace").strip()
        holders += [line.strip() for line in text.splitlines()
                    if line.strip().lower().startswith(("copyright (c)", "copyright ©",
                                                        "copyright 1", "copyright 2"))]
        full = common_full_text(text)
        if full:
            common.add(full)
        elif text:
            texts.append(f"{path.relative_to(dist_info)}:\n{text}")
    licence = short_licence(meta, classifiers)
    common |= {part.strip() for part in SPLIT.split(licence)} & COMMON
    if not texts and not common:
        raise SystemExit(f"deb_copyright: {name} {version} ships no licence text")
    author = meta.get("Author") or meta.get("Author-email") or f"the {name} authors"
    record = dist_info / "RECORD"
    tops = sorted({line.split(",", 1)[0].split("/", 1)[0]
                   for line in record.read_text(encoding="utf-8").splitlines() if line}
                  - {"..", "bin"}) if record.exists() else [dist_info.name]
    paths = [f"{installed}/{top}{'' if top.endswith(('.py', '.pth')) or '.so' in top else '/*'}"
             for top in tops]
    return Project(name, version, licence, "\n".join(dict.fromkeys(holders[:6])) or author,
                   texts, common, paths)


def paragraph(fields: list[tuple[str, str]]) -> str:
    out = []
    for key, value in fields:
        lines = value.splitlines() or [""]
        out.append(f"{key}: {lines[0]}".rstrip())
        out.extend(f" {line}" if line.strip() else " ." for line in lines[1:])
    return "\n".join(out)


def render(projects: list[Project]) -> str:
    blocks = [paragraph([
        ("Format", "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"),
        ("Upstream-Name", "commune-gateway"),
        ("Comment", "The application and, in its private virtualenv, the Python projects "
                    "listed below\n(from each wheel's METADATA and licence files)."),
    ]), paragraph([
        ("Files", "*"),
        ("Copyright", "the commune gateway team"),
        ("License", "Proprietary\nWritten for the province; not for redistribution."),
    ])]
    for p in projects:
        text = "\n\n".join(p.texts)
        refs = "".join(f"\n\nThe {c} text is in /usr/share/common-licenses/{c}." for c in
                       sorted(p.common))
        blocks.append(paragraph([
            ("Files", "\n".join(p.paths)),
            ("Copyright", p.copyright),
            ("License", f"{p.licence}\n{p.name} {p.version}.{refs}\n\n{text}".rstrip()),
        ]))
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str]) -> int:
    site, installed, out = Path(argv[1]), argv[2], Path(argv[3])
    projects = [read_project(d, installed) for d in sorted(site.glob("*.dist-info"))
                if not d.name.startswith("commune_gateway-")]
    out.write_text(render(projects), encoding="utf-8")
    print(f"deb_copyright: {len(projects)} bundled projects", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
