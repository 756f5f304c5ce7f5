"""Hostile input: a clear, bilingual refusal within time and memory bounds, never a hang."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator

import pytest

from gateway.edxml import NS, EdxmlRefused, ParseLimits, read_package, read_package_stream
from gateway.errors import GatewayError
from tests.edxml_fixtures import small_document

DEFAULT = ParseLimits()


def _refused(data: bytes, limits: ParseLimits = DEFAULT) -> EdxmlRefused:
    start = time.perf_counter()
    with pytest.raises(EdxmlRefused) as info:
        read_package(data, limits)
    assert time.perf_counter() - start < 2.0
    assert isinstance(info.value, GatewayError)
    problem = info.value.problems[0]
    assert problem.vi and problem.en and problem.vi != problem.en
    return info.value


def test_billion_laughs() -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    data = f'<?xml version="1.0"?><!DOCTYPE edXML [{lol}]><edXML xmlns="{NS}">&l9;</edXML>'
    assert "edxml.forbidden" in _refused(data.encode()).codes


def test_external_entity() -> None:
    data = (f'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<edXML xmlns="{NS}">&x;</edXML>')
    assert "edxml.forbidden" in _refused(data.encode()).codes


def test_undeclared_entity_without_dtd() -> None:
    assert "edxml.not_xml" in _refused(f'<edXML xmlns="{NS}">&x;</edXML>'.encode()).codes


def test_deep_nesting() -> None:
    depth = 100_000
    data = f'<edXML xmlns="{NS}">' + "<a>" * depth + "</a>" * depth + "</edXML>"
    assert "edxml.too_large" in _refused(data.encode()).codes


def test_wrong_namespace_and_not_xml() -> None:
    assert "edxml.namespace" in _refused(
        small_document().replace(NS.encode(), b"urn:other")).codes
    assert "edxml.not_xml" in _refused(b"%PDF-1.7 not xml at all").codes
    assert "edxml.not_xml" in _refused(b"").codes


def test_too_many_elements() -> None:
    data = f'<edXML xmlns="{NS}">' + "<a/>" * 30_000 + "</edXML>"
    assert "edxml.too_large" in _refused(data.encode()).codes


def _huge_base64(total: int) -> Iterator[bytes]:
    head = small_document(payload="@@").split(b"@@")
    yield head[0]
    line = b"QUFB" * 16384  # 64 KiB of base64
    for _ in range(total // len(line)):
        yield line
    yield head[1]


@pytest.mark.parametrize(("limits", "why"), [
    (ParseLimits(), "package size"),
    (ParseLimits(max_package_bytes=2**30, max_attachment_bytes=8 * 2**20), "attachment size"),
])
def test_100mb_base64_refused_in_bounded_memory(limits: ParseLimits, why: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(EdxmlRefused) as info:
            read_package_stream(_huge_base64(100 * 2**20), limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "edxml.too_large" in info.value.codes, why
    assert time.perf_counter() - start < 15
    bound = min(limits.max_attachment_bytes, limits.max_package_bytes)
    assert peak < bound + 8 * 2**20, f"{why}: peak {peak} bytes"
