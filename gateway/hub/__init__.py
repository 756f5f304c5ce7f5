"""The provincial hub: routing, enrollment, fleet view; served over mutual TLS."""
