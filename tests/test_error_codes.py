"""Diagnostic codes: every code the source can produce is documented, and every documented code
is produced by at least one test of the suite (recorded by tests/codes_recorder.py)."""

from __future__ import annotations

import pytest

from codes_recorder import PRODUCED, on_worker, whole_suite
from doc_codes import PAGES, ROOT, documented_codes, family, source_codes

def test_error_codes_every_source_code_is_documented():
    source, documented = source_codes(), documented_codes()
    assert {family(c) for c in source} == set(PAGES), "a code family without its documentation page"
    assert sorted(source - documented) == [], "codes in the source that no page documents"
    assert sorted(documented - source) == [], "documented codes the source does not have"


@pytest.mark.runs_last
def test_error_codes_every_documented_code_is_produced_by_a_test(request):
    if on_worker(request.config):
        pytest.skip("on xdist workers the controller checks the codes every worker recorded (codes_recorder)")
    if not whole_suite(request.session):
        pytest.skip("needs the whole suite: it checks which codes the other tests produced")
    missing = sorted(documented_codes() - PRODUCED)
    assert missing == [], f"documented codes no test produces ({len(missing)}): {missing}"


def test_error_codes_recorder_sees_diagnostics():
    """The recorder is live: building a diagnostic with a fresh code records it."""
    from segrules.diagnostics import Diagnostic

    Diagnostic("SR999", "recorder probe")
    assert "SR999" in PRODUCED
    PRODUCED.discard("SR999")
