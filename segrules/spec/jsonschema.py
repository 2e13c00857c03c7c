"""The JSON Schema of spec files (``segrules schema``), from the pydantic models: the spec model
with the plugins' sections, each registered destination type with its own options model (so a
bad ``type:`` or option is flagged in the editor), and ``timezone:`` as the IANA names."""

from __future__ import annotations

from typing import Any

from .timezones import known_timezones

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def spec_json_schema(model: type, destinations: dict[str, Any] | None = None) -> dict:
    """``model``'s JSON Schema (draft 2020-12); ``destinations``: type name -> a definition with
    ``options`` (a pydantic model) and ``doc``, as plugins register them."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    if destinations:
        defs["Destination"] = _destinations(destinations, defs, defs.get("Destination", {}))
    timezone = schema["properties"]["timezone"]
    timezone["enum"] = sorted(known_timezones())
    return {"$schema": DRAFT, **schema}


def _destinations(destinations: dict[str, Any], defs: dict, base: dict) -> dict:
    variants = []
    for name, definition in sorted(destinations.items()):
        options = definition.options.model_json_schema(by_alias=True)
        prefix = f"{name}_"
        for key, value in options.pop("$defs", {}).items():
            defs[prefix + key] = _renamed(value, prefix)
        options = _renamed(options, prefix)
        type_doc = base.get("properties", {}).get("type", {}).get("description", "Destination type.")
        variants.append({
            "title": f"{name} destination",
            "description": (definition.doc or options.get("description") or "").strip() or None,
            "type": "object",
            "properties": {"type": {"const": name, "description": type_doc}, **options.get("properties", {})},
            "required": ["type", *[r for r in options.get("required", []) if r != "type"]],
            "additionalProperties": options.get("additionalProperties", True),
        })
    for variant in variants:
        if variant["description"] is None:
            del variant["description"]
    return {"title": "Destination", "description": base.get("description", ""), "oneOf": variants}


def _renamed(node: Any, prefix: str) -> Any:
    """``$ref: #/$defs/X`` -> ``#/$defs/<prefix>X`` throughout (options models of two plugins
    may both have a nested model named ``Auth``)."""
    if isinstance(node, dict):
        out = {k: _renamed(v, prefix) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = "#/$defs/" + prefix + ref[len("#/$defs/"):]
        return out
    if isinstance(node, list):
        return [_renamed(v, prefix) for v in node]
    return node
