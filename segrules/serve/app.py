"""The HTTP API of ``segrules serve`` (FastAPI on uvicorn): a thin layer over :class:`.Service`.

Every endpoint but ``/health`` and ``/ready`` (probes: they show nothing about the data) needs
``Authorization: Bearer <token>``, compared in constant time; the token is never logged or
echoed. Blocking work (the database: ingest, the change log beyond memory) runs in the thread
pool. Lookups, counts and the token check run on the event loop: they read memory only
(microseconds), and a thread hop costs more than that — up to a GIL switch interval (5 ms) each
way while the evaluation thread runs Python.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..errors import SegrulesError
from .ingest import RowProblem, RowsRejected
from .service import Service, UnknownSource

SSE_POLL_SECONDS = 0.05  # how often an idle change stream looks for new changes (in memory)
SSE_KEEPALIVE_SECONDS = 15.0


def create_app(service: Service, token: str) -> FastAPI:
    """The ASGI app for ``service``; ``token``: the bearer token every data endpoint needs."""
    if not token:
        raise ValueError("a bearer token is required")
    expected = token.encode()

    async def authorized(request: Request) -> None:  # async: no thread hop per request
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title=f"segrules serve: {service.spec.name}", docs_url=None, redoc_url=None)
    auth = [Depends(authorized)]

    @app.exception_handler(RowsRejected)
    async def rejected(request: Request, exc: RowsRejected) -> JSONResponse:
        return JSONResponse({"error": "rows rejected; nothing was written", "code": "SR902",
                             "problems": [p.as_json() for p in exc.problems]}, status_code=422)

    @app.exception_handler(UnknownSource)
    async def unknown(request: Request, exc: UnknownSource) -> JSONResponse:
        return JSONResponse({"error": exc.diagnostics[0].message, "code": "SR901"}, status_code=404)

    @app.exception_handler(SegrulesError)
    async def bad_input(request: Request, exc: SegrulesError) -> JSONResponse:
        d = exc.diagnostics[0]
        return JSONResponse({"error": d.message, "code": d.code}, status_code=404 if d.code == "SR304" else 400)

    async def ingest(source: str, request: Request, op: str = "append") -> dict[str, Any]:
        try:
            rows = json.loads(await request.body())
        except ValueError as exc:
            raise RowsRejected(source, [RowProblem(None, None, f"the body is not JSON: {exc}")]) from None
        if isinstance(rows, dict) and ("rows" in rows or "keys" in rows):
            rows = rows.get("rows", rows.get("keys"))
        done = await run_in_threadpool(lambda: service.ingest(source, rows, op=op))
        return {"source": done.source, "rows": done.rows, "batch": done.batch}

    @app.post("/v1/sources/{source}", dependencies=auth)
    async def post_source(source: str, request: Request) -> dict[str, Any]:
        return await ingest(source, request)

    @app.put("/v1/sources/{source}", dependencies=auth)
    async def put_source(source: str, request: Request) -> dict[str, Any]:
        """Upsert entity rows by key: each row replaces the key's row (or adds it)."""
        return await ingest(source, request, "upsert")

    @app.post("/v1/sources/{source}/delete", dependencies=auth)
    async def delete_rows(source: str, request: Request) -> dict[str, Any]:
        """Delete entity rows by key: the body is a JSON array of keys (or ``{"keys": [...]}``)."""
        return await ingest(source, request, "delete")

    @app.delete("/v1/sources/{source}/{key}", dependencies=auth)
    async def delete_one(source: str, key: str) -> dict[str, Any]:
        done = await run_in_threadpool(lambda: service.ingest(source, [service.parse_key(key)], op="delete"))
        return {"source": done.source, "rows": done.rows, "batch": done.batch}

    if "events" in service.spec.model.sources:
        @app.post("/v1/events", dependencies=auth)
        async def post_events(request: Request) -> dict[str, Any]:
            return await ingest("events", request)

    @app.get("/v1/members/{key}", dependencies=auth)
    async def member(key: str) -> Response:
        found = service.member(service.parse_key(key))  # memory (.members): no thread hop, no lock wait
        if found is None:
            raise HTTPException(404, f"{key} is not in the universe of {service.spec.name}")
        return Response(json.dumps(found, default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
                        media_type="application/json")

    @app.get("/v1/segments/{segment}/count", dependencies=auth)
    async def count(segment: str) -> dict[str, Any]:
        return {"segment": segment, "members": service.count(segment)}

    @app.get("/v1/changes", dependencies=auth)
    async def changes(request: Request, after: int | None = None, follow: bool = True) -> StreamingResponse:
        """Server-sent events, one per change (``id:`` its seq): from ``after`` (or the
        ``Last-Event-ID`` header) on; ``follow=false`` ends the stream when it has caught up."""
        start = after if after is not None else int(request.headers.get("last-event-id") or 0)
        return StreamingResponse(_events(service, request, start, follow), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/metrics", dependencies=auth)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        ok = service.ready
        return JSONResponse({"ready": ok, "pending": service.pending, "changes": service.latest_seq},
                            status_code=200 if ok else 503)

    return app


async def _events(service: Service, request: Request, cursor: int, follow: bool) -> AsyncIterator[bytes]:
    idle = 0.0
    while True:
        if cursor < service.latest_seq:
            changes = await run_in_threadpool(service.changes, cursor)
            if changes:  # one write per fetch: a write per change costs the event loop more than the rest
                cursor = changes[-1].seq
                yield b"".join(c.event for c in changes)
            idle = 0.0
            continue
        if not follow or await request.is_disconnected():
            return
        await asyncio.sleep(SSE_POLL_SECONDS)
        idle += SSE_POLL_SECONDS
        if idle >= SSE_KEEPALIVE_SECONDS:
            idle = 0.0
            yield b": keep-alive\n\n"
