"""The sync protocol (docs/protocol.md): messages, codecs, frames, compression, pacing, limits.

Pure: bytes in, typed values out, and the reverse. No sockets, no files, no clock; both the
box's engine (:mod:`gateway.sync`) and the hub (:mod:`gateway.hub`) build on it.
"""
