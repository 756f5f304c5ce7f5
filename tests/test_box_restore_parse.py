"""The hub's restore answer is untrusted input on the box: whatever it holds, reading it ends
in documents that concern this box or in one bilingual refusal, never in another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.model import Refused
from gateway.model.envelope_codec import envelope_to_dict
from gateway.services.box_restore import parse_received, parse_sent
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.security.hostile import doc

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30)
FIELDS = st.fixed_dictionaries({}, optional={
    "seq": JSON, "envelope": JSON, "routed_ms": JSON, "status": JSON, "accepted_ms": JSON,
    "receipts": JSON})


@settings(max_examples=50)
@given(st.lists(FIELDS | JSON, max_size=4))
def test_any_answer_is_read_or_refused(items: list[object]) -> None:
    for parse in (parse_received, parse_sent):
        try:
            parse(items, COMMUNE_B)
        except Refused as exc:
            assert exc.codes == ("restore.failed",)


def _env(sender: str, to: str) -> object:
    """An envelope as it crosses the wire: JSON."""
    return json.loads(json.dumps(envelope_to_dict(doc(sender, to, b"x"))))


def test_a_document_for_another_box_refuses_the_page() -> None:
    foreign = {"seq": 1, "envelope": _env(COMMUNE_A, "000.00.33.H35"), "routed_ms": 1,
               "status": "03"}
    with pytest.raises(Refused, match="not addressed to this box"):
        parse_received([foreign], COMMUNE_B)
    not_ours = {"envelope": _env(COMMUNE_A, COMMUNE_B), "accepted_ms": 1, "receipts": []}
    with pytest.raises(Refused, match="did not issue"):
        parse_sent([not_ours], COMMUNE_B)


def test_good_items_are_read() -> None:
    got = parse_received([{"seq": 7, "envelope": _env(COMMUNE_A, COMMUNE_B),
                           "routed_ms": 5, "status": "06"}], COMMUNE_B)
    assert (got[0].seq, got[0].status, got[0].env.recipients) == (7, "06", (COMMUNE_B,))
    sent = parse_sent([{"envelope": _env(COMMUNE_B, COMMUNE_A), "accepted_ms": 5,
                        "receipts": [[COMMUNE_A, "delivered", 9, ""]]}], COMMUNE_B)
    assert sent[0].receipts == ((COMMUNE_A, "delivered", 9, ""),)
