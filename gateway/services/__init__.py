"""Implementations of the ``gateway`` subcommands; ``gateway.cli`` only parses arguments."""
