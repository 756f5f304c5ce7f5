"""A hub and real gateways on loopback, each behind its own emulated link.

Shared by the demo, the end-to-end tests and the benchmarks, so all three exercise exactly the
product: real TLS, real SQLite files, real sockets, the real sync engine.
"""

from gateway.testbed.bed import Node, Testbed

__all__ = ["Node", "Testbed"]
