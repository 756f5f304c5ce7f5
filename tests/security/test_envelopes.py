"""Hostile envelopes inside a well-formed sync: refused one by one, never stored.

A malformed ``out`` entry does not fail the whole request (the other envelopes of the batch
must still get through), so the reply is ``200`` with the envelope under ``refused``; the only
state allowed to change is the caller's heartbeat row. Attachment names that look like paths
are refused too, although the hub never turns a name into a path (only a verified sha256).
"""

from __future__ import annotations

import os
from functools import partial

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import envelope_to_dict
from gateway.protocol.wire import decode_reply
from tests.security.hostile import (
    COMPRESSOR,
    HOSTILE,
    A,
    B,
    Hub,
    Peer,
    doc,
    neutral,
    packable_ints,
    plain_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
STR_FIELDS = ["id", "from", "number", "notation", "type", "subject", "place", "date", "signer"]
INT_FIELDS = ["urgency", "created"]
LIST_FIELDS = ["to", "att"]
small = st.one_of(packable_ints, st.text(max_size=8), st.none())
not_str = st.one_of(st.none(), packable_ints, st.floats(), st.booleans(),
                    st.lists(small, max_size=3), st.dictionaries(st.text(max_size=4), small,
                                                                 max_size=2))
not_int = st.one_of(st.none(), st.text(max_size=8), st.floats(), st.booleans(),
                    st.lists(small, max_size=3), st.integers(max_value=-1, min_value=-(2**63)))
not_list = st.one_of(st.none(), packable_ints, st.text(max_size=8),
                     st.dictionaries(st.text(max_size=4), small, max_size=2))


@st.composite
def wrong_fields(draw: st.DrawFn) -> dict[str, object]:
    """A valid envelope with one field of the wrong type (never a value it could accept)."""
    env: dict[str, object] = dict(envelope_to_dict(doc(A, B, os.urandom(16))))
    kind = draw(st.sampled_from(["str", "int", "list", "extra", "due", "unknown", "att"]))
    if kind == "str":
        env[draw(st.sampled_from(STR_FIELDS))] = draw(not_str)
    elif kind == "int":
        env[draw(st.sampled_from(INT_FIELDS))] = draw(not_int)
    elif kind == "list":
        env[draw(st.sampled_from(LIST_FIELDS))] = draw(not_list)
    elif kind == "extra":
        env["extra"] = draw(st.one_of(not_list.filter(lambda v: not isinstance(v, dict)),
                                      st.dictionaries(st.text(max_size=4), not_str,
                                                      min_size=1, max_size=2)))
    elif kind == "due":
        env["due"] = draw(st.one_of(packable_ints, st.text(max_size=9), st.lists(small,
                                                                                max_size=2)))
    elif kind == "unknown":
        env[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in env))] = 1
    else:
        att = _first_att(dict(envelope_to_dict(doc(A, B, b"x"))))
        # Scalars only: a container here would be one level too deep for the whole body.
        att[draw(st.sampled_from(sorted(att)))] = draw(st.one_of(st.none(), st.floats(),
                                                                 st.booleans()))
        env["att"] = [att]
    return env


def _first_att(env: dict[str, object]) -> dict[str, object]:
    atts = env["att"]
    assert isinstance(atts, list) and isinstance(atts[0], dict)
    return dict(atts[0])


async def _refused_item(hub: Hub, peer: Peer, env: object, category: str) -> None:
    body = COMPRESSOR.compress(msgpack.packb(plain_request(out=[env]), use_bin_type=True), 0)
    reply = await neutral(hub, category, partial(peer.sync_raw, body), heartbeat_of=A)
    decoded = decode_reply(COMPRESSOR.decompress(reply.body, 0))
    assert decoded.accepted == () and len(decoded.refused) == 1, decoded


@HOSTILE
@given(env=wrong_fields())
async def test_envelope_with_a_wrong_field_is_refused(hub: Hub, a: Peer,
                                                      env: dict[str, object]) -> None:
    await _refused_item(hub, a, env, "envelope.field")


def _mutated(**changes: object) -> dict[str, object]:
    env: dict[str, object] = dict(envelope_to_dict(doc(A, B, os.urandom(16))))
    env.update(changes)
    return env


def _att(**changes: object) -> dict[str, object]:
    env = _mutated()
    att = _first_att(env)
    att.update(changes)
    env["att"] = [att]
    return env


SEMANTIC: dict[str, dict[str, object]] = {
    **{f"name-{label}": _att(name=name) for label, name in {
        "passwd": "../../etc/passwd", "dotdot": "..", "dot": ".", "slash": "a/b",
        "backslash": "a\\b", "nul": "x\x00y", "newline": "a\nb", "empty": "",
        "escape": "\x1b[31mred", "absolute": "/etc/shadow", "del": "a\x7f"}.items()},
    "sha-upper": _att(sha256="AB" * 32),
    "sha-63": _att(sha256="a" * 63),
    "sha-path": _att(sha256="../" * 21 + "a"),
    "size-negative": _att(size=-1),
    "size-over-100MiB": _att(size=100 * 2**20 + 1),
    "two-same-names": _mutated(att=[_first_att(_att())] * 2),
    "51-attachments": _mutated(att=[_first_att(_att(name=f"{i}.pdf")) for i in range(51)]),
    "to-empty": _mutated(to=[]),
    "to-self": _mutated(to=[A]),
    "to-unknown": _mutated(to=["000.00.99.H35"]),
    "to-duplicate": _mutated(to=[B, B]),
    "to-501": _mutated(to=[B] * 501),
    "subject-empty": _mutated(subject=" "),
    "subject-1001": _mutated(subject="s" * 1001),
    "date-invalid": _mutated(date="2026-02-30"),
    "date-format": _mutated(date="20/11/2026"),
    "urgency-5": _mutated(urgency=5),
    "due-before-issue": _mutated(due="2000-01-01"),
    "extra-33": _mutated(extra={f"k{i}": "v" for i in range(33)}),
    "secret-field": _mutated(secret="toi-mat"),
    "id-too-long": _mutated(id="x" * 37),
}


@pytest.mark.parametrize("name", sorted(SEMANTIC))
async def test_semantically_bad_envelope_is_refused(hub: Hub, a: Peer, name: str) -> None:
    await _refused_item(hub, a, SEMANTIC[name], "envelope.semantic")
