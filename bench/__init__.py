"""Benchmark building blocks: a seeded commune document corpus and real-tool baselines.

Why a package of parts: the runner that wires scenarios (link emulation, byte counting,
the gateway's own sync) lives elsewhere; these pieces stay reusable and testable alone.
"""
