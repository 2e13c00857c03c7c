"""Validate emulator requests against a vendor's official OpenAPI document (needs
``openapi-core``, a test dependency).  The document is read from where the caller keeps it;
segrules does not ship vendor specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .server import Request


def openapi_validator(spec_path: str | Path, server_url: str) -> Callable[[Request], list[str]]:
    """A callable for an emulator's ``validator``: the problems of one request against the
    document (an empty list when it conforms).  ``server_url`` is the document's server URL."""
    from openapi_core import Config, OpenAPI
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    # The official documents do not always pass the strict meta-validation (Klaviyo's has an
    # ambiguous oneOf in an unrelated schema); requests are still validated against them.
    api = OpenAPI.from_dict(json.loads(Path(spec_path).read_text(encoding="utf-8")),
                            config=Config(spec_validator_cls=None))

    class _Adapter:
        def __init__(self, request: Request):
            self.host_url = server_url
            self.path = request.path
            self.method = request.method.lower()
            query = [(k, v) for k, values in request.query.items() for v in values]
            self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=Headers(request.headers),
                                                cookie=ImmutableMultiDict())
            self.content_type = request.headers.get("content-type", "") if request.body else None
            self.body = request.body or None

        @property
        def full_url_pattern(self):
            return self.host_url + self.path

    def validate(request: Request) -> list[str]:
        try:
            api.validate_request(_Adapter(request))
        except Exception as exc:  # openapi-core raises one error type per kind of mismatch
            cause = exc.__cause__ or exc
            details = getattr(cause, "schema_errors", None) or [cause]
            return [f"{request.method} {request.path}: {type(exc).__name__}: {d}" for d in details]
        return []
    return validate


def swagger2_validator(spec_path: str | Path) -> Callable[[Request], list[str]]:
    """The same for a Swagger 2.0 document (Iterable's), which openapi-core does not read: the
    operation must exist for the path and method, the ``apiKey`` header the document requires
    must be present, and a JSON body must validate (JSON Schema draft 4, the document's
    ``definitions``) against the operation's ``in: body`` schema."""
    import re

    import jsonschema

    doc = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    base = (doc.get("basePath") or "/").rstrip("/")
    headers = [s["name"].lower() for s in doc.get("securityDefinitions", {}).values()
               if s.get("type") == "apiKey" and s.get("in") == "header"]
    routes = []
    for template, item in doc["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base + template)) + "$")
        routes.append((pattern, item))

    def validate(request: Request) -> list[str]:
        where = f"{request.method} {request.path}"
        item = next((item for pattern, item in routes if pattern.match(request.path)), None)
        operation = (item or {}).get(request.method.lower())
        if operation is None:
            return [f"{where}: no such operation in the document"]
        problems = [f"{where}: missing header {h}" for h in headers if h not in request.headers]
        body = next((p for p in operation.get("parameters", []) if p.get("in") == "body"), None)
        if body is not None:
            try:
                data = request.json()
            except ValueError as exc:
                return problems + [f"{where}: body is not JSON: {exc}"]
            schema = {**body["schema"], "definitions": doc.get("definitions", {})}
            validator = jsonschema.Draft4Validator(schema)
            problems += [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                         for e in validator.iter_errors(data)]
        return problems
    return validate
