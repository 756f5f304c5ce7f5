"""Pure codecs of the sync protocol (docs/protocol.md §3, §6, §7): no I/O lives here."""
