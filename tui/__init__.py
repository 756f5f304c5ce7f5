"""The clerks' Textual UI (văn thư). Talks to the local store only, never to the hub."""
