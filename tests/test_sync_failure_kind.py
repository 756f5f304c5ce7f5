"""A reset connection is a down link to probe at once, however aiohttp wraps it: a long-poll
cut by the link fails with aiohttp's ClientOSError(ECONNRESET), which once counted as an
unknown network error (growing, jittered backoff: ~0.5 s more per cut on 3G)."""

from __future__ import annotations

import errno

import aiohttp
import pytest

from gateway.sync.reconnect import FAST_KINDS
from gateway.sync.transport import failure_kind


@pytest.mark.parametrize("code", [errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED])
def test_a_reset_wrapped_by_aiohttp_is_a_dropped_link(code: int) -> None:
    exc = aiohttp.ClientOSError(code, "Connection reset by peer")
    assert failure_kind(exc) == "dropped" and "dropped" in FAST_KINDS


def test_other_os_errors_stay_network_errors() -> None:
    assert failure_kind(aiohttp.ClientOSError(errno.EHOSTUNREACH, "No route")) == "network"
