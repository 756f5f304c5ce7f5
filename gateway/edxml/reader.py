"""A hardened, streaming reader of edXML bytes into a small element tree.

Built directly on pyexpat with the defusedxml policy made stricter: any DOCTYPE is refused at
its first byte (so no DTD, no entity declarations, hence no billion laughs and no external
entities), external entity references and parameter entities are refused, and nothing is ever
fetched. Input is fed in chunks and every bound of :class:`ParseLimits` is checked as bytes
arrive: total size, depth, element count, text length, attachment count and decoded size.
Attachment payloads (``ContentTransferEncoded``) are base64-decoded incrementally and never held
as text, so memory stays near the decoded bytes actually accepted.

Namespace processing is our own rather than expat's because real packages use prefixes they
never declare (``xlink:href`` in the SDK's samples): such a prefix is reported, not fatal.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from gateway.edxml.errors import EdxmlRefused, forbidden, not_edxml, refuse, too_big, warning
from gateway.edxml.limits import DEFAULT_LIMITS, ParseLimits
from gateway.model.errors import Problem

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
UNBOUND_NS = "urn:x-edxml-unbound:"
PAYLOAD_TAG = f"{{{NS}}}ContentTransferEncoded"
CHUNK = 64 * 1024
# Prefixes real packages use without declaring them (the SDK sample writes ``edXML:`` outside
# the element that declares it): read as their usual meaning, with a warning.
_WELL_KNOWN = {"xml": XML_NS, "xlink": XLINK_NS, "edXML": NS, "edxml": NS}


@dataclass
class Node:
    """One element: Clark-notation tag and attribute names, direct text, children in order."""

    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    payload: bytes | None = None
    unreadable: str | None = None  # a payload that was not base64, kept verbatim

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class Parsed:
    root: Node
    warnings: list[Problem]


class _Base64Sink:
    """Decodes base64 as it streams in, bounded per attachment and across the package."""

    def __init__(self, limits: ParseLimits, spent: int) -> None:
        self._limits = limits
        self._spent = spent
        self._out = bytearray()
        self._pending = ""
        self._raw: list[str] = []
        self._raw_len = 0
        self._padded = False
        self.invalid = False

    def feed(self, text: str) -> None:
        if self._raw_len <= self._limits.max_unreadable_payload_chars:
            self._raw.append(text)
        self._raw_len += len(text)
        if self.invalid:
            self._check_unreadable()
            return
        clean = "".join(text.split())  # strict base64 below rejects any other stray byte
        if self._padded and clean:
            self._fail()
            return
        data = self._pending + clean
        cut = len(data) - len(data) % 4
        self._pending = data[cut:]
        if cut:
            self._decode(data[:cut])

    def _decode(self, text: str) -> None:
        try:
            self._out += binascii.a2b_base64(text, strict_mode=True)
        except binascii.Error:
            self._fail()
            return
        self._padded = text.endswith("=")
        lim = self._limits
        if len(self._out) > lim.max_attachment_bytes:
            raise too_big("một tệp đính kèm", "one attachment", lim.max_attachment_bytes)
        if self._spent + len(self._out) > lim.max_total_decoded:
            raise too_big("tổng tệp đính kèm", "all attachments", lim.max_total_decoded)

    def _fail(self) -> None:
        self.invalid = True
        self._out = bytearray()
        self._check_unreadable()

    def _check_unreadable(self) -> None:
        if self._raw_len > self._limits.max_unreadable_payload_chars:
            raise refuse("payload.not_base64",
                         "Nội dung tệp đính kèm không phải base64 và quá dài để giữ nguyên.",
                         "An attachment's content is not base64 and too long to keep as is.")

    def finish(self, node: Node) -> int:
        if self._pending and not self.invalid:
            self._fail()
        if self.invalid:
            node.unreadable = "".join(self._raw)
            return 0
        node.payload = bytes(self._out)
        return len(node.payload)


class _Builder:
    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.stack: list[Node] = []
        self.scopes: list[dict[str, str]] = [{}]
        self.root: Node | None = None
        self.warnings: list[Problem] = []
        self.count = 0
        self.attachments = 0
        self.decoded = 0
        self.text_len: list[int] = []
        self.sink: _Base64Sink | None = None
        self._unbound: set[str] = set()

    def _resolve(self, qname: str, *, attribute: bool) -> str:
        prefix, _, local = qname.rpartition(":")
        if not prefix:
            uri = "" if attribute else self.scopes[-1].get("", "")
            return f"{{{uri}}}{local}" if uri else local
        uri = self.scopes[-1].get(prefix) or _WELL_KNOWN.get(prefix) or UNBOUND_NS + prefix
        if prefix not in self.scopes[-1] and prefix != "xml" and prefix not in self._unbound:
            self._unbound.add(prefix)
            self.warnings.append(warning("prefix.undeclared",
                f"Tiền tố '{prefix[:20]}' chưa được khai báo; đã hiểu là {uri[:60]}.",
                f"Prefix '{prefix[:20]}' is not declared; read as {uri[:60]}."))
        return f"{{{uri}}}{local}"

    def start(self, qname: str, attrs: dict[str, str]) -> None:
        lim = self.limits
        self.count += 1
        if self.count > lim.max_elements:
            raise too_big("số phần tử", "element count", lim.max_elements)
        if len(self.stack) >= lim.max_depth:
            raise too_big("độ sâu lồng nhau", "nesting depth", lim.max_depth)
        if self.sink is not None:
            raise not_edxml("element inside ContentTransferEncoded")
        scope = dict(self.scopes[-1])
        plain: dict[str, str] = {}
        for name, value in attrs.items():
            if name == "xmlns":
                scope[""] = value
            elif name.startswith("xmlns:"):
                scope[name[6:]] = value
            else:
                plain[name] = value
        self.scopes.append(scope)
        node = Node(self._resolve(qname, attribute=False),
                    {self._resolve(k, attribute=True): v for k, v in plain.items()})
        if self.root is None:
            if node.tag != f"{{{NS}}}edXML":
                raise refuse("namespace", "Phần tử gốc không phải edXML trong không gian tên "
                             f"{NS} (nhận được {node.tag[:120]}).",
                             f"The root is not edXML in namespace {NS} (got {node.tag[:120]}).")
            self.root = node
        else:
            self.stack[-1].children.append(node)
        self.stack.append(node)
        self.text_len.append(0)
        if node.tag == PAYLOAD_TAG:
            self.attachments += 1
            if self.attachments > lim.max_attachments:
                raise too_big("số tệp đính kèm", "attachment count", lim.max_attachments)
            self.sink = _Base64Sink(lim, self.decoded)

    def end(self, _qname: str) -> None:
        node = self.stack.pop()
        self.scopes.pop()
        self.text_len.pop()
        if self.sink is not None:
            self.decoded += self.sink.finish(node)
            self.sink = None
            if node.unreadable is not None:
                self.warnings.append(warning("payload.unreadable",
                    "Một tệp đính kèm không đọc được (không phải base64); đã giữ nguyên văn.",
                    "An attachment could not be read (not base64); kept verbatim."))

    def data(self, text: str) -> None:
        if not self.stack:
            return
        if self.sink is not None:
            self.sink.feed(text)
            return
        self.text_len[-1] += len(text)
        if self.text_len[-1] > self.limits.max_text_chars:
            raise too_big("độ dài một trường", "one field's text", self.limits.max_text_chars)
        self.stack[-1].parts.append(text)


def _refuse_dtd(*_args: object) -> None:
    raise forbidden("khai báo DOCTYPE/DTD hoặc thực thể", "a DOCTYPE/DTD or entity declaration")


def _refuse_external(*_args: object) -> int:
    raise forbidden("tham chiếu tới tài nguyên bên ngoài", "a reference to an external resource")


def _make_parser(builder: _Builder) -> expat.XMLParserType:
    p = expat.ParserCreate()
    p.buffer_text = True
    p.buffer_size = CHUNK
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.UnparsedEntityDeclHandler = _refuse_dtd
    p.ExternalEntityRefHandler = _refuse_external
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = builder.start
    p.EndElementHandler = builder.end
    p.CharacterDataHandler = builder.data
    return p


def _skip_junk(chunks: Iterator[bytes], limits: ParseLimits, warnings: list[Problem]) -> bytes:
    """Some writers leave a few bytes (``1212``) before ``<?xml``: dropped with a warning."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) > limits.max_leading_junk:
            break
    start = head.find(b"<", 0, limits.max_leading_junk + 1)
    if start > 0 and not head.startswith(b"\xef\xbb\xbf"):
        junk = head[:start].decode("latin-1")
        warnings.append(warning("leading_junk",
            f"Bỏ qua {start} byte thừa trước phần khai báo XML ({junk!r}).",
            f"Ignored {start} stray bytes before the XML declaration ({junk!r})."))
        return head[start:]
    return head


def parse_stream(chunks: Iterable[bytes], limits: ParseLimits = DEFAULT_LIMITS) -> Parsed:
    """Reads a package from byte chunks; raises :class:`EdxmlRefused` on anything unsafe."""
    builder = _Builder(limits)
    parser = _make_parser(builder)
    it = iter(chunks)
    total = 0
    try:
        first = _skip_junk(it, limits, builder.warnings)
        for chunk in _chain(first, it):
            total += len(chunk)
            if total > limits.max_package_bytes:
                raise too_big("kích thước", "size", limits.max_package_bytes)
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise not_edxml(f"line {exc.lineno}: {expat.ErrorString(exc.code)}") from None
    except RecursionError:
        raise too_big("độ sâu lồng nhau", "nesting depth", limits.max_depth) from None
    except EdxmlRefused:
        raise
    if builder.root is None:
        raise not_edxml("empty document")
    return Parsed(builder.root, builder.warnings)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    for i in range(0, len(first), CHUNK):
        yield first[i:i + CHUNK]
    yield from rest


def parse_bytes(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Parsed:
    if len(data) > limits.max_package_bytes:
        raise too_big("kích thước", "size", limits.max_package_bytes)
    view = memoryview(data)
    return parse_stream((bytes(view[i:i + CHUNK]) for i in range(0, len(data), CHUNK)), limits)


def parse_file(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> Parsed:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as fh:
            while block := fh.read(CHUNK):
                yield block
    return parse_stream(chunks(), limits)
