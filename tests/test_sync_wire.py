"""Sync messages (docs/protocol.md §3) and body compression: round trips, golden bytes, hostile
input, dictionary negotiation and zstd bombs."""

from __future__ import annotations

import contextlib
import dataclasses
import tracemalloc
from datetime import date
from importlib import resources
from typing import Any

import msgpack
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.model.document import Attachment, Envelope, Urgency
from gateway.model.envelope_codec import envelope_to_dict
from gateway.protocol.compression import (
    BodyTooLarge,
    CompressionError,
    SyncCompressor,
    default_compressor,
    shipped_dicts,
)
from gateway.protocol.limits import MAX_INT, MAX_LAST_ERROR, MAX_TRUST_BUNDLE
from gateway.protocol.wire import (
    RECEIPT_EVENTS,
    STATUS_CODES,
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    StatusMsg,
    SyncReply,
    SyncRequest,
    TrustBundle,
    WireError,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
)

# ---------------------------------------------------------------- fixed messages

FIXED_ENV = Envelope(
    id="01980a3c-5f00-7abc-8def-0123456789ab",
    sender="000.00.31.H35",
    recipients=("000.00.00.H35", "000.00.02.H35"),
    number="123",
    notation="UBND-VP",
    doc_type="Công văn",
    subject="V/v triển khai kế hoạch phòng, chống thiên tai năm 2025",
    issue_place="Bản Lang",
    issue_date=date(2025, 7, 1),
    signer="Nguyễn Văn An",
    urgency=Urgency.KHAN,
    due_date=date(2025, 7, 15),
    attachments=(Attachment("cv-123-ubnd.pdf", "application/pdf", "ab" * 32, 184_320),),
    created_ms=1_751_328_000_000,
)
FIXED_REQUEST = SyncRequest(
    node=NodeReport("0.1.0", 1_751_328_000_123, 1, 21_474_836_480, 0, 86_400),
    out=(FIXED_ENV,),
    acks=(17, 18),
    statuses=(StatusMsg("0198aa00-0000-7000-8000-000000000001", "01980a3c-5f00-7abc-8def-"
                        "0123456789ac", "03", "Đã tiếp nhận", 1_751_328_000_500),),
    rcursor=42,
    wait=55,
)
FIXED_REPLY = SyncReply(
    time_ms=1_751_328_001_000,
    accepted=(FIXED_ENV.id,),
    refused=(Refusal("01980a3c-5f00-7abc-8def-0123456789ad", "recipients.unknown", "Unknown"),),
    need=(BlobNeed("ab" * 32, 65_536, 184_320, 1),),
    inbox=(InboxItem(7, dataclasses.replace(FIXED_ENV, sender="000.00.02.H35",
                                            recipients=("000.00.31.H35",), attachments=())),),
    receipts=(Receipt(90, FIXED_ENV.id, "000.00.00.H35", "at_hub", 1_751_328_000_900, ""),
              Receipt(91, FIXED_ENV.id, "000.00.02.H35", "01", 1_751_328_000_950, "")),
    config=HubConfig(frame_max=2**20, dict_id=1),
)
GOLDEN_REQUEST = bytes.fromhex(
    "87a17601a46e6f646586a776657273696f6ea5302e312e30a8636c6f636b5f6d73cf00000197c348887ba571"
    "7565756501a96469736b5f66726565cf0000000500000000a9626c6f62735f62616400a8757074696d655f73"
    "ce00015180a36f7574918fa26964d92430313938306133632d356630302d376162632d386465662d30313233"
    "3435363738396162a466726f6dad3030302e30302e33312e483335a2746f92ad3030302e30302e30302e4833"
    "35ad3030302e30302e30322e483335a66e756d626572a3313233a86e6f746174696f6ea755424e442d5650a4"
    "74797065aa43c3b46e672076c4836ea77375626a656374d942562f7620747269e1bb836e206b686169206be1"
    "babf20686fe1baa16368207068c3b26e672c206368e1bb916e6720746869c3aa6e20746169206ec4836d2032"
    "303235a5706c616365aa42e1baa36e204c616e67a464617465aa323032352d30372d3031a67369676e6572b0"
    "4e677579e1bb856e2056c4836e20416ea7757267656e637901a3647565aa323032352d30372d3135a3617474"
    "9184a46e616d65af63762d3132332d75626e642e706466a474797065af6170706c69636174696f6e2f706466"
    "a6736861323536d9406162616261626162616261626162616261626162616261626162616261626162616261"
    "6261626162616261626162616261626162616261626162616261626162a473697a65ce0002d000a763726561"
    "746564cf00000197c3488800a5657874726180a461636b73921112a873746174757365739185a3736964d924"
    "30313938616130302d303030302d373030302d383030302d303030303030303030303031a3646f63d9243031"
    "3938306133632d356630302d376162632d386465662d303132333435363738396163a4636f6465a23033a46e"
    "6f7465b2c490c3a3207469e1babf70206e68e1baad6ea561745f6d73cf00000197c34889f4a772637572736f"
    "722aa47761697437"
)
GOLDEN_REPLY = bytes.fromhex(
    "88a17601a774696d655f6d73cf00000197c3488be8a8616363657074656491d92430313938306133632d3566"
    "30302d376162632d386465662d303132333435363738396162a7726566757365649183a3646f63d924303139"
    "38306133632d356630302d376162632d386465662d303132333435363738396164a4636f6465b27265636970"
    "69656e74732e756e6b6e6f776ea6726561736f6ea7556e6b6e6f776ea46e6565649184a6736861323536d940"
    "6162616261626162616261626162616261626162616261626162616261626162616261626162616261626162"
    "6162616261626162616261626162616261626162a66f6666736574ce00010000a473697a65ce0002d000a775"
    "7267656e637901a5696e626f789182a373657107a3656e768fa26964d92430313938306133632d356630302d"
    "376162632d386465662d303132333435363738396162a466726f6dad3030302e30302e30322e483335a2746f"
    "91ad3030302e30302e33312e483335a66e756d626572a3313233a86e6f746174696f6ea755424e442d5650a4"
    "74797065aa43c3b46e672076c4836ea77375626a656374d942562f7620747269e1bb836e206b686169206be1"
    "babf20686fe1baa16368207068c3b26e672c206368e1bb916e6720746869c3aa6e20746169206ec4836d2032"
    "303235a5706c616365aa42e1baa36e204c616e67a464617465aa323032352d30372d3031a67369676e6572b0"
    "4e677579e1bb856e2056c4836e20416ea7757267656e637901a3647565aa323032352d30372d3135a3617474"
    "90a763726561746564cf00000197c3488800a5657874726180a872656365697074739286a4727365715aa364"
    "6f63d92430313938306133632d356630302d376162632d386465662d303132333435363738396162a2746fad"
    "3030302e30302e30302e483335a56576656e74a661745f687562a561745f6d73cf00000197c3488b84a46e6f"
    "7465a086a4727365715ba3646f63d92430313938306133632d356630302d376162632d386465662d30313233"
    "3435363738396162a2746fad3030302e30302e30322e483335a56576656e74a23031a561745f6d73cf000001"
    "97c3488bb6a46e6f7465a0a6636f6e66696782a96672616d655f6d6178ce00100000a46469637401"
)


# The heartbeat's optional keys, present: appended after ``uptime_s`` (node map of 8, not 6).
REQUEST_WITH_ERROR = dataclasses.replace(
    FIXED_REQUEST, out=(), statuses=(),
    node=dataclasses.replace(FIXED_REQUEST.node, last_error="HubUnavailable: kết nối bị ngắt",
                             dead=2))
GOLDEN_REQUEST_WITH_ERROR = bytes.fromhex(
    "87a17601a46e6f646588a776657273696f6ea5302e312e30a8636c6f636b5f6d73cf00000197c348887ba571"
    "7565756501a96469736b5f66726565cf0000000500000000a9626c6f62735f62616400a8757074696d655f73"
    "ce00015180aa6c6173745f6572726f72d927487562556e617661696c61626c653a206be1babf74206ee1bb91"
    "692062e1bb8b206e67e1baaf74a46465616402a36f757490a461636b73921112a8737461747573657390a772"
    "637572736f722aa47761697437"
)


def test_golden_bytes() -> None:
    assert encode_request(FIXED_REQUEST) == GOLDEN_REQUEST
    assert encode_reply(FIXED_REPLY) == GOLDEN_REPLY
    assert decode_request(GOLDEN_REQUEST) == FIXED_REQUEST
    assert decode_reply(GOLDEN_REPLY) == FIXED_REPLY
    assert GOLDEN_REQUEST[:3] == b"\x87\xa1v" and GOLDEN_REPLY[:3] == b"\x88\xa1v"  # v first


# The reply's config as above, then with the hub's trust bundle: a third key, nothing else moves.
CONFIG = bytes.fromhex("a6636f6e66696782a96672616d655f6d6178ce00100000a46469637401")
CONFIG_WITH_TRUST = bytes.fromhex(
    "a6636f6e66696783a96672616d655f6d6178ce00100000a46469637401a5747275737482a6736861323536"
    "d940" + "6364" * 32 + "a473697a65cd0800")


def test_golden_bytes_with_a_trust_bundle() -> None:
    assert GOLDEN_REPLY.endswith(CONFIG)
    golden = GOLDEN_REPLY[: -len(CONFIG)] + CONFIG_WITH_TRUST
    reply = dataclasses.replace(FIXED_REPLY, config=HubConfig(
        frame_max=2**20, dict_id=1, trust=TrustBundle("cd" * 32, 2048)))
    assert encode_reply(reply) == golden
    assert decode_reply(golden) == reply


@pytest.mark.parametrize("trust", [
    {"sha256": "CD" * 32, "size": 1}, {"sha256": "cd" * 32, "size": MAX_TRUST_BUNDLE + 1},
    {"sha256": "cd" * 32}, {"sha256": "cd" * 32, "size": 1, "url": "x"}, None, "cd" * 32])
def test_a_bad_trust_bundle_is_refused(trust: object) -> None:
    plain = msgpack.unpackb(GOLDEN_REPLY)
    plain["config"]["trust"] = trust
    with pytest.raises(WireError):
        decode_reply(msgpack.packb(plain))


def test_heartbeat_optional_keys_golden_and_bounded() -> None:
    assert encode_request(REQUEST_WITH_ERROR) == GOLDEN_REQUEST_WITH_ERROR
    assert decode_request(GOLDEN_REQUEST_WITH_ERROR) == REQUEST_WITH_ERROR
    body = _plain(GOLDEN_REQUEST_WITH_ERROR)
    body["node"]["last_error"] = "x" * (MAX_LAST_ERROR + 1)
    with pytest.raises(WireError, match="last_error"):
        decode_request(msgpack.packb(body))
    body["node"]["last_error"] = 7
    with pytest.raises(WireError, match="last_error"):
        decode_request(msgpack.packb(body))


# ---------------------------------------------------------------- strategies

ints = st.integers(0, MAX_INT)
short = st.text(max_size=12)
doc_ids = st.text(min_size=1, max_size=36)
sha = st.binary(min_size=32, max_size=32).map(bytes.hex)
uuids = st.uuids().map(str)

attachments = st.builds(
    Attachment, name=st.text(min_size=1, max_size=200), media_type=st.text(max_size=128),
    sha256=sha, size=st.integers(0, 100 * 2**20),
)
envelopes = st.builds(
    Envelope,
    id=doc_ids, sender=st.text(min_size=1, max_size=32),
    recipients=st.lists(st.text(max_size=32), max_size=5).map(tuple),
    number=short, notation=short, doc_type=short, subject=st.text(max_size=60),
    issue_place=short, issue_date=st.dates(), signer=short, urgency=st.sampled_from(Urgency),
    due_date=st.none() | st.dates(),
    attachments=st.lists(attachments, max_size=3).map(tuple),
    created_ms=st.integers(0, 2**53),
    extra=st.dictionaries(st.text(max_size=64), st.text(max_size=40), max_size=3),
)
nodes = st.builds(NodeReport, version=st.text(max_size=64), clock_ms=ints, queue=ints,
                  disk_free=ints, blobs_bad=ints, uptime_s=ints,
                  last_error=st.text(max_size=200), dead=ints)
statuses = st.builds(StatusMsg, sid=uuids, doc=doc_ids, code=st.sampled_from(sorted(STATUS_CODES)),
                     note=st.text(max_size=500), at_ms=ints)
requests = st.builds(
    SyncRequest, node=nodes, out=st.lists(envelopes, max_size=3).map(tuple),
    acks=st.lists(ints, max_size=20).map(tuple), statuses=st.lists(statuses, max_size=4).map(tuple),
    rcursor=ints, wait=st.integers(0, 60),
)
refusals = st.builds(Refusal, doc=st.text(max_size=36), code=st.text(min_size=1, max_size=64),
                     reason=st.text(max_size=200))
needs = st.builds(
    lambda digest, a, b, u: BlobNeed(digest, min(a, b), max(a, b), u),
    sha, ints, ints, st.integers(0, 4),
)
receipt_lists = st.lists(
    st.tuples(doc_ids, st.text(min_size=1, max_size=32), st.sampled_from(sorted(RECEIPT_EVENTS)),
              ints, st.text(max_size=500)),
    max_size=5,
).flatmap(lambda rows: st.lists(ints, min_size=len(rows), max_size=len(rows), unique=True).map(
    lambda seqs: tuple(Receipt(s, *row) for s, row in zip(sorted(seqs), rows, strict=True))))
replies = st.builds(
    SyncReply, time_ms=ints, accepted=st.lists(doc_ids, max_size=5).map(tuple),
    refused=st.lists(refusals, max_size=3).map(tuple), need=st.lists(needs, max_size=5).map(tuple),
    inbox=st.lists(st.builds(InboxItem, seq=ints, env=envelopes), max_size=2).map(tuple),
    receipts=receipt_lists, config=st.builds(
        HubConfig, frame_max=ints, dict_id=ints,
        trust=st.none() | st.builds(TrustBundle, sha, st.integers(0, MAX_TRUST_BUNDLE))),
)


@settings(max_examples=60, deadline=None)
@given(requests)
def test_request_round_trip(req: SyncRequest) -> None:
    assert decode_request(encode_request(req)) == req


@settings(max_examples=60, deadline=None)
@given(replies)
def test_reply_round_trip(rep: SyncReply) -> None:
    assert decode_reply(encode_reply(rep)) == rep


# ---------------------------------------------------------------- hostile input


def _plain(data: bytes) -> dict[str, Any]:
    obj = msgpack.unpackb(data, raw=False)
    assert isinstance(obj, dict)
    return obj


def _refused(body: object, match: str, *, reply: bool = False) -> None:
    data = msgpack.packb(body, use_bin_type=True)
    with pytest.raises(WireError, match=match):
        (decode_reply if reply else decode_request)(data)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    for decode in (decode_request, decode_reply):
        with contextlib.suppress(WireError):
            decode(data)


leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
          | st.text(max_size=8) | st.binary(max_size=8)
          | st.sampled_from(["v", "out", "acks", "node", "01", "at_hub", "ab" * 32]))
structures = st.recursive(
    leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                                       max_size=4),
    max_leaves=20,
)


@given(structures)
def test_arbitrary_structures_never_crash(obj: object) -> None:
    data = msgpack.packb(obj, use_bin_type=True)
    for decode in (decode_request, decode_reply):
        with contextlib.suppress(WireError):
            decode(data)


def _paths(obj: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _paths(v, (*prefix, i))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), structures)
def test_mutated_golden_bodies_never_crash(data: st.DataObject, value: object) -> None:
    """Replacing any one field of a valid body yields a valid message or a WireError."""
    for golden, decode in ((GOLDEN_REQUEST, decode_request), (GOLDEN_REPLY, decode_reply)):
        body = _plain(golden)
        path = data.draw(st.sampled_from(_paths(body)))
        parent: Any = body
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
        with contextlib.suppress(WireError):
            decode(msgpack.packb(body, use_bin_type=True))


def test_version() -> None:
    for v in (2, 0, True, "1", None):
        _refused({**_plain(GOLDEN_REQUEST), "v": v}, "unsupported protocol version")
    _refused({"v": 2, "future": 1}, "unsupported protocol version")  # before unknown keys
    body = _plain(GOLDEN_REPLY)
    del body["v"]
    _refused(body, "unsupported protocol version", reply=True)


def test_unknown_and_missing_keys() -> None:
    _refused({**_plain(GOLDEN_REQUEST), "extra": 1}, "unknown keys")
    body = _plain(GOLDEN_REQUEST)
    del body["wait"]
    _refused(body, "missing keys wait")
    body = _plain(GOLDEN_REPLY)
    body["config"]["dict_id"] = 1
    _refused(body, "config: unknown keys", reply=True)


@pytest.mark.parametrize(("path", "value", "match"), [
    (("rcursor",), True, "rcursor"),
    (("rcursor",), -1, "rcursor"),
    (("rcursor",), 2**63, "rcursor"),
    (("rcursor",), 1.0, "rcursor"),
    (("wait",), 61, "wait"),
    (("node", "queue"), False, "node.queue"),
    (("node", "version"), "x" * 65, "node.version"),
    (("node", "version"), b"0.1", "not a msgpack body.*max_bin_len"),
    (("acks",), [1] * 1025, "not a msgpack body|acks"),
    (("acks",), [1, "2"], r"acks\[1\]"),
    (("acks",), {"0": 1}, "acks"),
    (("out",), [{}] * 65, "out"),
    (("statuses", 0, "sid"), "0198AA00-0000-7000-8000-000000000001", "sid"),
    (("statuses", 0, "sid"), "not-a-uuid", "sid"),
    (("statuses", 0, "code"), "07", "code"),
    (("statuses", 0, "doc"), "", "doc"),
    (("statuses", 0, "note"), "x" * 501, "note"),
    (("statuses",), [None], "statuses"),
])
def test_bad_request_fields(path: tuple[Any, ...], value: object, match: str) -> None:
    body = _plain(GOLDEN_REQUEST)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    _refused(body, match)


@pytest.mark.parametrize(("path", "value", "match"), [
    (("need", 0, "sha256"), "AB" * 32, "sha256"),
    (("need", 0, "sha256"), "ab" * 31 + "a\n", "sha256"),
    (("need", 0, "offset"), 184_321, "offset beyond size"),
    (("need", 0, "urgency"), 5, "urgency"),
    (("receipts", 1, "rseq"), 90, "ascending"),
    (("receipts", 0, "event"), "read", "event"),
    (("receipts", 0, "to"), "", "to"),
    (("inbox", 0, "env", "to"), "000.00.31.H35", r"inbox\[0\]\.env"),
    (("inbox", 0, "env", "urgency"), 9, r"inbox\[0\]\.env"),
    (("inbox", 0, "seq"), -3, "seq"),
    (("accepted",), ["x" * 37], "accepted"),
    (("refused", 0, "code"), "", "code"),
    (("config", "frame_max"), None, "frame_max"),
])
def test_bad_reply_fields(path: tuple[Any, ...], value: object, match: str) -> None:
    body = _plain(GOLDEN_REPLY)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    _refused(body, match, reply=True)


def test_malformed_out_envelope_is_refused_alone() -> None:
    body = _plain(GOLDEN_REQUEST)
    good = body["out"][0]
    bad_urgency = {**good, "id": "bad-1", "urgency": 9}
    no_id = {**good, "id": 5}
    long_id = {**good, "id": "x" * 37}
    body["out"] = [bad_urgency, good, no_id, "not a map", long_id]
    req = decode_request(msgpack.packb(body, use_bin_type=True))
    assert req.out == (FIXED_ENV,)
    assert [(r.doc, r.code) for r in req.bad_out] == [
        ("bad-1", "envelope.malformed"), ("", "envelope.malformed"),
        ("", "envelope.malformed"), ("", "envelope.malformed"),
    ]
    assert "urgency" in req.bad_out[0].reason


def test_encode_refuses_what_the_peer_would() -> None:
    with pytest.raises(WireError, match="out"):
        encode_request(dataclasses.replace(FIXED_REQUEST, out=(FIXED_ENV,) * 65))
    bad_env = dataclasses.replace(FIXED_ENV, subject="x" * 1001)
    with pytest.raises(WireError, match=r"out\[0\]"):
        encode_request(dataclasses.replace(FIXED_REQUEST, out=(bad_env,)))
    with pytest.raises(WireError, match="wait"):
        encode_request(dataclasses.replace(FIXED_REQUEST, wait=61))
    with pytest.raises(WireError, match="rseq"):
        encode_reply(dataclasses.replace(FIXED_REPLY, receipts=FIXED_REPLY.receipts[::-1]))
    req = dataclasses.replace(FIXED_REQUEST, bad_out=(Refusal("x", "envelope.malformed", ""),))
    assert encode_request(req) == GOLDEN_REQUEST  # bad_out is decode-side only


def test_msgpack_level_hostility() -> None:
    for data in (
        b"", b"\xc1", GOLDEN_REQUEST[:-1], GOLDEN_REQUEST + b"\x00",  # truncated, trailing
        b"\x81\xa1v\xc7\x01\x05\x00",  # ext type
        b"\x81\xa1v\xc4\x01\x01",  # bin
        b"\x81\x91\x01\x01",  # list as map key
        b"\x81\xa1v\xa2\xff\xfe",  # invalid UTF-8
        b"\x91" * 5000,  # deep
        b"\x82\xa1v\x01\xa1v\x02",  # duplicate key
        b"\x82\xa1v\x02\xa1v\x01",
        b"\xdd\xff\xff\xff\xff",  # array of 2**32-1 announced
        b"\x93\x01\x02\x03",  # not a map
    ):
        for decode in (decode_request, decode_reply):
            with pytest.raises(WireError):
                decode(data)
    with pytest.raises(WireError, match="too large"):
        decode_request(b"\x00" * (8 * 2**20 + 1))


def test_duplicate_key_is_refused() -> None:
    with pytest.raises(WireError, match="duplicate map key"):
        decode_request(b"\x82\xa1v\x01\xa1v\x01")


def test_nesting_depth_is_bounded() -> None:
    body = _plain(GOLDEN_REQUEST)
    body["acks"] = [[[[[1]]]]]  # depth 6; the deepest legal request is 5
    _refused(body, "nested too deeply")
    body = _plain(GOLDEN_REPLY)
    body["inbox"][0]["env"]["att"] = [{"name": {"x": [1]}}]
    _refused(body, "nested too deeply", reply=True)


def test_item_budget_bounds_memory() -> None:
    """8 MiB of empty maps would be ~500 MB of dicts; the budget stops it early."""
    _refused({"v": 1, "out": [[{}] * 1000] * 200}, "too many items")


def test_envelope_codec_is_the_one_on_the_wire() -> None:
    assert _plain(GOLDEN_REQUEST)["out"][0] == envelope_to_dict(FIXED_ENV)


# ---------------------------------------------------------------- compression


def test_shipped_dictionary_is_package_data() -> None:
    entry = resources.files("gateway.protocol").joinpath("dicts/1.zdict")
    assert entry.is_file() and entry.read_bytes()[:4] == b"\x37\xa4\x30\xec"  # zstd dict magic
    assert set(shipped_dicts()) == {1}
    comp = default_compressor()
    assert comp is default_compressor()
    assert comp.ids() == (1,) and comp.newest() == 1 and comp.offer() == "1"


def test_dictionary_negotiation() -> None:
    d1 = shipped_dicts()[1]
    comp = SyncCompressor({1: d1, 2: d1, 5: d1})
    assert comp.ids() == (1, 2, 5) and comp.newest() == 5 and comp.offer() == "1,2,5"
    cases = {
        "1,2": 2, "2,1": 2, " 1 , 5 ": 5, "3,4": 0, "": 0, "0": 0, "x,2": 2, "1;2": 0,
        "-5,1": 1, "05": 5, "99999999999999999999,1": 1, "1," * 200: 0, "\u0661": 0,
    }
    for offered, chosen in cases.items():
        assert comp.choose(offered) == chosen, offered
    assert SyncCompressor({}).choose("1,2") == 0 and SyncCompressor({}).newest() == 0


def test_bad_dictionary_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="out of range"):
        SyncCompressor({0: shipped_dicts()[1]})
    with pytest.raises(zstandard.ZstdError):
        SyncCompressor({1: b"not a dictionary" * 10})


def test_compress_round_trip_and_dictionary_mismatch() -> None:
    comp = default_compressor()
    body = encode_request(FIXED_REQUEST)
    for dict_id in (0, 1):
        packed = comp.compress(body, dict_id)
        params = zstandard.get_frame_parameters(packed)
        assert params.content_size == len(body) and params.has_checksum
        assert comp.decompress(packed, dict_id) == body
    with pytest.raises(CompressionError, match="another dictionary"):
        comp.decompress(comp.compress(body, 1), 0)
    with pytest.raises(CompressionError, match="unknown dictionary 7"):
        comp.decompress(comp.compress(body, 0), 7)
    with pytest.raises(CompressionError, match="unknown dictionary"):
        comp.compress(body, 2)
    assert issubclass(CompressionError, WireError) and issubclass(BodyTooLarge, CompressionError)


def test_dictionary_pays_for_a_typical_request() -> None:
    comp = default_compressor()
    body = encode_request(FIXED_REQUEST)
    plain, with_dict = len(comp.compress(body, 0)), len(comp.compress(body, 1))
    assert with_dict < 0.5 * len(body) and with_dict < 0.7 * plain


def _bomb(size: int, *, content_size: bool = True) -> bytes:
    """A zstd frame of ``size`` zero bytes, built in 1 MiB steps so the test allocates little."""
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=content_size)
    obj = cctx.compressobj(size=size if content_size else -1)
    zeros = bytes(2**20)
    parts = [obj.compress(zeros) for _ in range(size // 2**20)]
    return b"".join([*parts, obj.flush()])


def test_zstd_bomb_is_refused_without_allocating() -> None:
    comp = default_compressor()
    bomb = _bomb(100 * 2**20)
    assert len(bomb) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="decompressed body over"):
            comp.decompress(bomb, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    with pytest.raises(BodyTooLarge):
        comp.decompress(comp.compress(bytes(5000), 0), 0, max_out=4999)
    assert comp.decompress(comp.compress(bytes(5000), 0), 0, max_out=5000) == bytes(5000)


def test_frame_without_content_size_is_refused() -> None:
    with pytest.raises(CompressionError, match="content size"):
        default_compressor().decompress(_bomb(10, content_size=False), 0)


def test_hostile_compressed_bodies() -> None:
    comp = default_compressor()
    good = comp.compress(encode_request(FIXED_REQUEST), 1)
    with pytest.raises(BodyTooLarge, match="compressed body over"):
        comp.decompress(good, 1, max_in=len(good) - 1)
    with pytest.raises(CompressionError, match="corrupt"):
        comp.decompress(good + b"\x00", 1)  # trailing data
    with pytest.raises(CompressionError, match="corrupt"):
        comp.decompress(good + good, 1)  # a second frame
    skippable = b"\x50\x2a\x4d\x18\x04\x00\x00\x00abcd"
    with pytest.raises(CompressionError, match="not a zstd frame"):
        comp.decompress(skippable + good, 1)
    with pytest.raises(CompressionError):
        comp.decompress(good[:5], 1)
    corrupt = bytearray(good)
    corrupt[len(good) // 2] ^= 0x40
    with pytest.raises(CompressionError, match="corrupt"):
        comp.decompress(bytes(corrupt), 1)


@given(st.binary(max_size=200), st.sampled_from([0, 1]))
def test_arbitrary_compressed_bodies_never_crash(data: bytes, dict_id: int) -> None:
    comp = default_compressor()
    for candidate in (data, b"\x28\xb5\x2f\xfd" + data):
        try:
            out = comp.decompress(candidate, dict_id, max_out=4096)
        except CompressionError:
            continue
        assert len(out) <= 4096


def test_encode_accepts_int_enums() -> None:
    """Callers may pass ``Urgency.KHAN`` where an int is due; it travels as a plain int."""
    need = BlobNeed("ab" * 32, 65_536, 184_320, Urgency.KHAN)
    rep = dataclasses.replace(FIXED_REPLY, need=(need,))
    assert encode_reply(rep) == GOLDEN_REPLY
    assert decode_reply(encode_reply(rep)) == FIXED_REPLY


def test_largest_legal_messages_decode() -> None:
    """Every list and string at its limit still fits the item budget and the depth bound."""
    big = dataclasses.replace(
        FIXED_ENV, recipients=tuple(f"{i:03d}.00.31.H35" for i in range(500)),
        attachments=tuple(Attachment(f"{i}.pdf", "application/pdf", "ab" * 32, 1)
                          for i in range(50)),
        extra={f"k{i}": "ệ" * 1000 for i in range(32)}, subject="ạ" * 1000,
    )
    req = dataclasses.replace(FIXED_REQUEST, out=(big,) * 64, acks=tuple(range(1024)),
                              statuses=FIXED_REQUEST.statuses * 256)
    assert decode_request(encode_request(req)) == req
    receipt = FIXED_REPLY.receipts[0]
    rep = dataclasses.replace(
        FIXED_REPLY, accepted=FIXED_REPLY.accepted * 64, refused=FIXED_REPLY.refused * 64,
        need=FIXED_REPLY.need * 1024, inbox=(InboxItem(1, big),) * 64,
        receipts=tuple(dataclasses.replace(receipt, rseq=i) for i in range(512)),
    )
    assert decode_reply(encode_reply(rep)) == rep
