"""Link emulator: a loopback TCP proxy that makes a fast machine look like a rural line.

Used by the end-to-end tests, the demo and the benchmarks (gateway -> proxy -> hub), because
the test machines have no kernel netem. ``python -m gateway.linkemu --help`` runs it
standalone.
"""

from gateway.linkemu.profiles import PROFILES, LinkProfile, cut_offsets, get_profile
from gateway.linkemu.proxy import LinkProxy, LinkStats, TokenBucket, cap_socket_buffers

__all__ = [
    "PROFILES",
    "LinkProfile",
    "LinkProxy",
    "LinkStats",
    "TokenBucket",
    "cap_socket_buffers",
    "cut_offsets",
    "get_profile",
]
