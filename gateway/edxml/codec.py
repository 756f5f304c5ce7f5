"""Generic, metadata-driven mapping between reader nodes, model dataclasses and XML text.

One decoder and one encoder serve every modelled element (see :mod:`gateway.edxml.schema`),
so what import reads and what export writes cannot drift apart. A child the model does not
know, a second copy of a single-valued child, or a text field that unexpectedly carries
attributes or children is kept as a :class:`RawElement` in ``extras``.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Protocol, TypeVar, cast
from xml.sax.saxutils import escape

from gateway.edxml.errors import refuse
from gateway.edxml.raw import Attrs, RawElement, raw_from_node, split_tag
from gateway.edxml.reader import NS, Node
from gateway.edxml.schema import MANY, ONE, PAYLOAD, TEXT, TEXTS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
_B64_BLOCK = 57 * 1024  # a multiple of 3: blocks encode independently


class Part(Protocol):
    @property
    def attrs(self) -> Attrs: ...
    @property
    def extras(self) -> tuple[RawElement, ...]: ...


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    xml: str
    kind: str
    cls: type[object] | None


_SPECS: dict[str, tuple[_Spec, ...]] = {}


def _specs(cls: type[object]) -> tuple[_Spec, ...]:
    key = f"{cls.__module__}.{cls.__qualname__}"
    if key not in _SPECS:
        _SPECS[key] = _read_specs(cls)
    return _SPECS[key]


def _read_specs(cls: type[object]) -> tuple[_Spec, ...]:
    out = []
    for f in dataclasses.fields(cast(type["DataclassInstance"], cls)):
        if "xml" in f.metadata:
            out.append(_Spec(f.name, f.metadata["xml"], f.metadata["kind"], f.metadata.get("cls")))
    return tuple(out)


def edxml_local(tag: str) -> str | None:
    """The local name of an element in the edXML namespace (``Business*`` read as
    ``Bussiness*``), or ``None`` for any other namespace."""
    uri, local = split_tag(tag)
    if uri != NS:
        return None
    return "Bussiness" + local[8:] if local.startswith("Business") else local


def decode(cls: type[T], node: Node) -> T:
    specs = {s.xml: s for s in _specs(cast(type[object], cls))}
    values: dict[str, object] = {}
    lists: dict[str, list[object]] = {}
    extra: list[RawElement] = []
    for child in node.children:
        local = edxml_local(child.tag)
        spec = specs.get(local) if local is not None else None
        plain = not child.children and not child.attrs and child.payload is None
        if spec is None or (spec.kind in (TEXT, ONE) and spec.name in values):
            extra.append(raw_from_node(child))
        elif spec.kind == TEXT and plain and child.unreadable is None:
            values[spec.name] = child.text
        elif spec.kind == TEXTS and plain and child.unreadable is None:
            lists.setdefault(spec.name, []).append(child.text)
        elif spec.kind in (ONE, MANY) and spec.cls is not None:
            item = decode(spec.cls, child)
            if spec.kind == ONE:
                values[spec.name] = item
            else:
                lists.setdefault(spec.name, []).append(item)
        elif spec.kind == PAYLOAD and spec.name not in values:
            values[spec.name] = child.payload
            values["unreadable"] = child.unreadable
        else:
            extra.append(raw_from_node(child))
    for name, items in lists.items():
        values[name] = tuple(items)
    values["attrs"] = tuple(node.attrs.items())
    values["extras"] = tuple(extra)
    return cast(Callable[..., T], cls)(**values)


class Writer:
    """Streams XML text to a binary file; the default namespace is always edXML's."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._depth = 0

    def put(self, text: str) -> None:
        self._out.write(text.encode("utf-8"))

    def open(self, local: str, attributes: Attrs, *, root: bool = False) -> None:
        decl, named = _named(attributes)
        decl = (f' xmlns="{NS}"' if root else "") + decl
        self.put(f"\n{'  ' * self._depth}<{local}{decl}{_attrs(named)}>")
        self._depth += 1

    def close(self, local: str, *, inline: bool = False) -> None:
        self._depth -= 1
        self.put(f"</{local}>" if inline else f"\n{'  ' * self._depth}</{local}>")

    def leaf(self, local: str, value: str) -> None:
        self.put(f"\n{'  ' * self._depth}<{local}>{_text(value)}</{local}>")

    def payload(self, local: str, data: bytes) -> None:
        self.put(f"\n{'  ' * self._depth}<{local}>")
        for i in range(0, len(data), _B64_BLOCK):
            self._out.write(base64.b64encode(data[i:i + _B64_BLOCK]))
        self.put(f"</{local}>")

    def raw(self, el: RawElement, default_ns: str = NS, *, compact: bool = False) -> None:
        uri, local = split_tag(el.tag)
        decl, named = _named(el.attrs)
        if uri != default_ns:
            decl = f' xmlns="{_attr(uri)}"' + decl
        pad = "" if compact else f"\n{'  ' * self._depth}"
        self.put(f"{pad}<{local}{decl}{_attrs(named)}>{_text(el.text)}")
        self._depth += 1
        for child in el.children:  # no layout around children of mixed content
            self.raw(child, uri, compact=compact or bool(el.text))
        self._depth -= 1
        self.put(f"</{local}>" if compact or el.text or not el.children
                 else f"\n{'  ' * self._depth}</{local}>")


def encode(obj: Part, local: str, w: Writer, *, root: bool = False) -> None:
    w.open(local, obj.attrs, root=root)
    for spec in _specs(type(obj)):
        value = getattr(obj, spec.name)
        if spec.kind == TEXT and value is not None:
            w.leaf(spec.xml, value)
        elif spec.kind == TEXTS:
            for item in value:
                w.leaf(spec.xml, item)
        elif spec.kind == ONE and value is not None:
            encode(value, spec.xml, w)
        elif spec.kind == MANY:
            for item in value:
                encode(item, spec.xml, w)
        elif spec.kind == PAYLOAD:
            if value is not None:
                w.payload(spec.xml, value)
            elif (unreadable := getattr(obj, "unreadable", None)) is not None:
                w.leaf(spec.xml, unreadable)
    for el in obj.extras:
        w.raw(el)
    w.close(local)


def _check(text: str) -> str:
    for ch in text:
        o = ord(ch)
        if (o < 0x20 and ch not in "\t\n\r") or 0xD800 <= o <= 0xDFFF or o in (0xFFFE, 0xFFFF):
            raise refuse("char.invalid", f"Ký tự không dùng được trong XML: U+{o:04X}.",
                         f"Character not allowed in XML: U+{o:04X}.")
    return text


def _text(value: str) -> str:
    return escape(_check(value)).replace("\r", "&#13;")


def _attr(value: str) -> str:
    return escape(_check(value), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _named(items: Attrs) -> tuple[str, Attrs]:
    """Namespace declarations for namespaced attributes, and the attributes with prefixes."""
    decl = ""
    named: list[tuple[str, str]] = []
    for i, (name, value) in enumerate(items):
        uri, local = split_tag(name)
        if uri:
            decl += f' xmlns:a{i}="{_attr(uri)}"'
            named.append((f"a{i}:{local}", value))
        else:
            named.append((local, value))
    return decl, tuple(named)


def _attrs(items: Attrs) -> str:
    return "".join(f' {name}="{_attr(value)}"' for name, value in items)
