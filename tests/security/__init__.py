"""Hostile tests against a real hub over mutual TLS (see docs/security.md)."""
