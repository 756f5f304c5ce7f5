"""Widgets grouped by the screen that uses them; ``common`` holds the shared ones."""
