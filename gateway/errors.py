"""The project's exception root."""


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""
