"""Store-and-forward document gateway for commune offices."""

__version__ = "0.1.0"
