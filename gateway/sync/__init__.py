"""The box's sync engine: the transport to the hub, the workers that move blobs, the daemon.

The bytes on the wire are :mod:`gateway.protocol`'s; what is durable is :mod:`gateway.store`'s.
"""
