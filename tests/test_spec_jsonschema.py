"""The JSON Schema of specs (`segrules schema`) is a draft 2020-12 schema that accepts the shipped
specs and rejects bad destination types, bad destination options and unknown time zones."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from segrules.cli import main

SPECS = sorted(p for p in Path("segment_specs").rglob("*.yaml") if not p.name.endswith(".test.yaml")) + \
    [Path("docs/examples/sync_shop.yaml")]


@pytest.fixture(scope="module")
def validator():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _spec(**extra):
    doc = {"version": 1, "name": "s", "entity": {"table": "customers", "key": "id"},
           "segments": {"vip": {"where": "ltv > 5"}}}
    doc.update(extra)
    return doc


def _as_json(value):
    """YAML as an editor's JSON view of it: dates and times are strings."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _errors(validator, doc) -> list[str]:
    return [e.message for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("path", SPECS, ids=str)
def test_spec_jsonschema_accepts_the_shipped_specs(validator, path):
    doc = _as_json(yaml.safe_load(path.read_text()))
    assert _errors(validator, doc) == []


def test_spec_jsonschema_accepts_every_destination_type(validator):
    doc = _spec(destinations={
        "hook": {"type": "webhook", "url": "https://example.org/in", "secret": "${HOOK_SECRET}"},
        "file": {"type": "csv", "path": "out/vip.csv"},
        "crm": {"type": "klaviyo", "api_key": "${KLAVIYO_KEY}", "list_id": "L1"}})
    assert _errors(validator, doc) == []


@pytest.mark.parametrize("destination", [
    {"type": "webhok", "url": "https://example.org/in"},          # unknown type
    {"type": "webhook", "url": "https://example.org/in", "colour": "red"},  # unknown option
    {"type": "webhook"},                                            # missing required option
    {"type": "webhook", "url": "https://example.org/in", "timeout": "soon"},  # option of the wrong type
    {"type": "csv", "list_id": "L1"},                               # another type's option
    {"url": "https://example.org/in"},                              # no type
])
def test_spec_jsonschema_rejects_bad_destinations(validator, destination):
    assert _errors(validator, _spec(destinations={"d": destination}))


@pytest.mark.parametrize("zone", ["Europe/Berln", "CEST", "utc+1", ""])
def test_spec_jsonschema_rejects_unknown_time_zones(validator, zone):
    assert _errors(validator, _spec(timezone=zone))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_spec_jsonschema_accepts_iana_time_zones(validator, zone):
    assert _errors(validator, _spec(timezone=zone)) == []


def test_spec_jsonschema_time_zones_are_those_the_loader_accepts(validator):
    """The enum and the spec loader agree (one source: zoneinfo)."""
    from segrules.spec.timezones import check_timezone
    zones = validator.schema["properties"]["timezone"]["enum"]
    assert zones == sorted(zones) and all(check_timezone(z) is None for z in zones)


def test_spec_jsonschema_intended_overlaps(validator):
    good = _spec(overlaps=[{"segment": "a", "within": "b", "reason": "by design"},
                           {"segments": ["a", "b"], "reason": "by design"}])
    assert _errors(validator, good) == []
    assert _errors(validator, _spec(overlaps=[{"segment": "a", "within": "b"}]))  # no reason


def test_spec_jsonschema_of_test_files_has_the_draft():
    result = CliRunner().invoke(main, ["schema", "--test-file"])
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_spec_jsonschema_of_the_project_file_accepts_the_repository_project():
    result = CliRunner().invoke(main, ["schema", "--project-file"])
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert [e.message for e in validator.iter_errors(_as_json(yaml.safe_load(Path("segrules.yml").read_text())))] == []
    assert list(validator.iter_errors({"version": 1, "targest": {}}))
