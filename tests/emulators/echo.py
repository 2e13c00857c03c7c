"""An echoing server: every answer quotes the request's credentials back (the ``Authorization``
header and the full request target with its query string), after ``pad`` filler characters, so a
test can place the echoed secret across any truncation boundary of the client's messages.

``status``: the answer's status (401, 400, 500...); with 200 the echo comes back as a per-row
rejection reason of every row (``{"rejected": {key: echo}}``), the way vendors quote bad input.
"""

from __future__ import annotations

from .server import EmulatorServer, Faults, Request


class EchoServer(EmulatorServer):
    def __init__(self, *, status: int = 401, pad: int = 0, faults: Faults | None = None):
        super().__init__(faults)
        self.status, self.pad = status, pad

    def echo(self, request: Request) -> str:
        target = request.path + ("?" + request.raw_query if request.raw_query else "")
        return "x" * self.pad + f"auth={request.headers.get('authorization', '')} target={target} end"

    def handle(self, request: Request):
        text = self.echo(request)
        if self.status == 200:
            keys = [row["key"] for row in (request.json() or {}).get("rows", [])]
            return 200, {"rejected": {k: text for k in keys}}
        return self.status, {"message": text}
