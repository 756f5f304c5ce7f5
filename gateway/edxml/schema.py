"""How a model field maps to an XML child: the metadata the generic codec reads.

Each modelled element is a frozen dataclass whose fields are declared with :func:`text`,
:func:`one`, :func:`many`, :func:`texts` or :func:`payload`; the declaration order is the order
in which export writes children. Every modelled class also has ``attrs`` (unknown attributes)
and ``extras`` (unknown children, :class:`RawElement`), which is what makes import → export
loss-free.
"""

from __future__ import annotations

from dataclasses import field
from typing import TypeVar

from gateway.edxml.raw import Attrs, RawElement

T = TypeVar("T")

TEXT, ONE, MANY, TEXTS, PAYLOAD = "text", "one", "many", "texts", "payload"


def text(xml: str) -> str | None:
    return field(default=None, metadata={"xml": xml, "kind": TEXT})


def one(xml: str, cls: type[T]) -> T | None:
    return field(default=None, metadata={"xml": xml, "kind": ONE, "cls": cls})


def many(xml: str, cls: type[T]) -> tuple[T, ...]:
    return field(default=(), metadata={"xml": xml, "kind": MANY, "cls": cls})


def texts(xml: str) -> tuple[str, ...]:
    return field(default=(), metadata={"xml": xml, "kind": TEXTS})


def payload(xml: str) -> bytes | None:
    return field(default=None, metadata={"xml": xml, "kind": PAYLOAD})


def attrs() -> Attrs:
    return field(default=())


def extras() -> tuple[RawElement, ...]:
    return field(default=())
