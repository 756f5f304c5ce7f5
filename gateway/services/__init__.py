"""The use cases clerks and scripts call: send, list, show, export, mark, retry, status, init,
scrub, enroll, run, and the hub's init, token and revoke.

Every function returns typed values and raises the project's errors (a
:class:`~gateway.model.Refused` carries the reason in Vietnamese and English); none prints,
parses arguments or exits. The front ends (``gateway.cli``, ``tui``, ``gateway.testbed``) word
and show the results. Blocking file work (hashing, copying, fsync) runs in a worker thread,
never on the event loop. The hub's use cases live in :mod:`gateway.services.hub`, which only
``gateway hub …`` loads (the TUI never does).
"""
