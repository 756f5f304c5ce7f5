"""The project's exception root: every error the gateway raises on purpose derives from it."""


class GatewayError(Exception):
    """Root of the gateway's own errors, so a broad ``except`` never swallows a refusal."""
