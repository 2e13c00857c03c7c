"""syncs: and destinations: are checked with positions; secrets come only from the environment."""

from __future__ import annotations

import pytest

import segrules
from segrules.errors import SpecError
from segrules.sync import plan_syncs

from sync_helpers import spec_text

GOOD_DEST = """
hook:
  type: webhook
  url: http://127.0.0.1:9/hook
  secret: ${HOOK_SECRET}
"""
GOOD_SYNC = """
active_hook:
  segment: active
  destination: hook
  identify_by: email
  fields: {name: first_name, ds: double_score}
"""
COLUMNS = ["id", "email", "first_name", "score"]


def _plan(dest=GOOD_DEST, syncs=GOOD_SYNC, env=None, names=None):
    spec = segrules.load_text(spec_text(dest, syncs), "spec.yaml")
    return spec, plan_syncs(spec.document, COLUMNS, spec.registry.destinations, names,
                            env={"HOOK_SECRET": "s3cr3t-value"} if env is None else env)


def _error(**kwargs) -> SpecError:
    with pytest.raises(SpecError) as info:
        _plan(**kwargs)
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_sync_config_good_spec_plans():
    _, planned = _plan()
    (p,) = planned
    assert p.name == "active_hook" and p.definition.name == "webhook"
    assert p.sources == {"identifier": "email", "name": "first_name", "ds": "double_score"}
    assert p.options.secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(p) + str(p.options), "a secret shows in a repr (tracebacks, logs)"
    assert p.sync.identifier_kind == "email"


@pytest.mark.parametrize("dest,syncs,code,needle", [
    (GOOD_DEST.replace("webhook", "webhok"), GOOD_SYNC, "SR810", "type: webhok"),
    (GOOD_DEST, GOOD_SYNC.replace("destination: hook", "destination: hok"), "SR811", "destination: hok"),
    (GOOD_DEST, GOOD_SYNC.replace("segment: active", "segment: actve"), "SR812", "segment: actve"),
    (GOOD_DEST, GOOD_SYNC.replace("identify_by: email", "identify_by: mail"), "SR813", "identify_by: mail"),
    (GOOD_DEST, GOOD_SYNC.replace("ds: double_score", "ds: dbl"), "SR813", "fields:"),
    (GOOD_DEST.replace("${HOOK_SECRET}", "${MISSING_SECRET}"), GOOD_SYNC, "SR814", "secret:"),
    (GOOD_DEST.replace("${HOOK_SECRET}", "literal-secret"), GOOD_SYNC, "SR815", "secret:"),
    (GOOD_DEST.replace("url:", "ur1:"), GOOD_SYNC, "SR816", "ur1:"),
])
def test_sync_config_errors_are_positioned(dest, syncs, code, needle):
    exc = _error(dest=dest, syncs=syncs)
    text = spec_text(dest, syncs)
    spans = [d.span for d in exc.diagnostics if d.code == code]
    assert spans and all(s is not None and s.file == "spec.yaml" for s in spans), exc.diagnostics
    assert _line_of(text, needle) in {s.line for s in spans}, (exc.diagnostics, text)


def test_sync_config_missing_env_names_the_variable_never_a_value():
    exc = _error(dest=GOOD_DEST.replace("${HOOK_SECRET}", "${MISSING_SECRET}"))
    assert "MISSING_SECRET" in exc.render({"spec.yaml": ""})
    literal = _error(dest=GOOD_DEST.replace("${HOOK_SECRET}", "literal-secret"))
    assert "literal-secret" not in literal.render({"spec.yaml": "x"}), "a secret written in the spec is echoed"


def test_sync_config_unknown_sync_name_and_mode_support():
    assert _error(names=["nope"]).diagnostics[0].code == "SR818"
    table_dest = "t:\n  type: table\n  db: out.duckdb\n  table: members\n"
    add_only = GOOD_SYNC.replace("destination: hook", "destination: t") + "  mode: add_only\n"
    assert {d.code for d in _error(dest=table_dest, syncs=add_only).diagnostics} == {"SR819"}


def test_sync_config_bad_max_removals_is_a_spec_error():
    with pytest.raises(SpecError) as info:
        segrules.load_text(spec_text(GOOD_DEST, GOOD_SYNC + "  max_removals: ten\n"), "spec.yaml")
    assert "max_removals" in str(info.value)


@pytest.mark.parametrize("value,acked,limit", [(10, 1000, 10), ("10%", 1000, 100), ("2.5 %", 200, 5), (None, 9, None)])
def test_sync_config_removal_limit(value, acked, limit):
    from segrules.spec.syncs import Sync
    sync = Sync(segment="a", destination="b", identify_by="email", max_removals=value)
    assert sync.removal_limit(acked) == limit


def test_sync_config_validate_reports_sync_problems_without_secrets():
    """``segrules validate`` (CI, no secrets in the environment) checks syncs too."""
    schema = "schema:\n  people: {id: int64, email: string, first_name: string, score: int64}\n"
    good = segrules.load_text(spec_text(GOOD_DEST, GOOD_SYNC) + schema, "spec.yaml")
    assert [d for d in good.validate() if d.is_error] == []
    bad = segrules.load_text(spec_text(GOOD_DEST, GOOD_SYNC.replace("first_name", "frist_name")) + schema, "spec.yaml")
    assert {d.code for d in bad.validate() if d.is_error} == {"SR813"}
    literal = segrules.load_text(spec_text(GOOD_DEST.replace("${HOOK_SECRET}", "abc"), GOOD_SYNC), "spec.yaml")
    assert "SR815" in {d.code for d in literal.validate()}
