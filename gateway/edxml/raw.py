"""Elements the model does not know, kept as data so that export re-emits them unchanged.

A package may carry an XML-DSig ``Signature``, vendor extensions or fields a later revision of
QCVN 102 adds. They become :class:`RawElement` values (tag and attribute names in Clark
notation, ``{uri}local``) attached, in order, to the modelled element that held them.
Whitespace-only text between child elements is layout, not data, and is not kept; comments and
processing instructions are not kept either.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from gateway.edxml.reader import Node

Attrs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RawElement:
    tag: str
    attrs: Attrs = ()
    text: str = ""
    children: tuple[RawElement, ...] = ()


def raw_from_node(node: Node) -> RawElement:
    if node.payload is not None:
        text = base64.b64encode(node.payload).decode("ascii")
    elif node.unreadable is not None:
        text = node.unreadable
    else:
        text = node.text
        if node.children and not text.strip():
            text = ""
    return RawElement(node.tag, tuple(node.attrs.items()), text,
                      tuple(raw_from_node(c) for c in node.children))


def split_tag(tag: str) -> tuple[str, str]:
    """``{uri}local`` → (uri, local); a name without namespace has uri ``""``."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag
