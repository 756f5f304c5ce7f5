"""The hub's SQLite database: its migrations and every statement the hub runs against it.

:class:`~gateway.store.hub.documents.HubStore` is the handle the hub holds; the records of
credentials, fleet and statuses hang off it. Nothing here imports :mod:`gateway.hub`: the hub's
policy (what to accept, who may send what, how much a reply carries) comes in as values.
"""
