"""``segrules serve``: keep a spec's membership current as rows arrive (docs/realtime.md).

Needs the ``serve`` extra (``pip install segrules[serve]``) for the HTTP layer (:mod:`.app`);
the service itself (:class:`~.service.Service`) runs in-process on any DuckDB or PostgreSQL
connection."""
