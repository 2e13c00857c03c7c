"""``Spec.sync``: the Python entry of audience sync (``segrules sync`` is a thin layer over it),
against the local webhook receiver."""

from __future__ import annotations

import pytest

import segrules
from emulators import WebhookReceiver

from sync_helpers import members, people_db, write_people
from test_sync_engine import ENV, PEOPLE, SECRET, hook_spec


@pytest.fixture
def con():
    with people_db(PEOPLE) as c:
        yield c


def _emails(people) -> set[str]:
    return {p[0] for p in members(people).values()}


def test_sync_api_dry_run_sends_nothing_then_sync_sends_the_changes(con, tmp_path):
    state = tmp_path / "state.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        spec = segrules.load_text(hook_spec(hook.url), "spec.yaml")
        dry = spec.sync(con, state=state, as_of="2026-11-01", dry_run=True, env=ENV)
        assert dry.run_id is None and dry.ok and hook.batches == []
        [o] = dry.outcomes
        assert (o.sync, o.status, o.counts["added"]) == ("active_hook", "dry-run", len(members(PEOPLE)))
        seen = []

        class Progress:
            def start(self, sync, total):
                seen.append((sync, total))

            def advance(self, sync, rows):
                seen.append((sync, rows))

        done = spec.sync(con, state=state, as_of="2026-11-01", env=ENV, progress=Progress())
        assert done.ok and done.run_id and done.outcomes[0].status == "ok"
        assert {email for email, _ in hook.members.values()} == _emails(PEOPLE)
        assert seen[0] == ("active_hook", len(members(PEOPLE))) and sum(n for _, n in seen[1:]) == len(members(PEOPLE))
        people = {**PEOPLE, 2: ("bo@x.com", "Bo", 5)}  # leaves the segment: only the removal is sent
        write_people(con, people)
        again = spec.sync(con, state=state, as_of="2026-11-01", env=ENV)
        assert (again.outcomes[0].counts["added"], again.outcomes[0].counts["removed"]) == (0, 1)
        assert {email for email, _ in hook.members.values()} == _emails(people)
        assert again.run_id != done.run_id


def test_sync_api_max_removals_refuses_and_sends_nothing(con, tmp_path):
    state = tmp_path / "state.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        spec = segrules.load_text(hook_spec(hook.url, extra="  max_removals: 0"), "spec.yaml")
        assert spec.sync(con, state=state, as_of="2026-11-01", env=ENV).ok
        write_people(con, {k: (p[0], p[1], 0) for k, p in PEOPLE.items()})
        sent = len(hook.batches)
        refused = spec.sync(con, state=state, as_of="2026-11-01", env=ENV)
        assert not refused.ok and [o.sync for o in refused.refused] == ["active_hook"]
        assert refused.run_id is None and len(hook.batches) == sent


def test_sync_api_bad_input_raises(con, tmp_path):
    spec = segrules.load_text(hook_spec("http://127.0.0.1:9"), "spec.yaml")
    with pytest.raises(segrules.SpecError) as exc:  # the secret is not in env
        spec.sync(con, state=tmp_path / "s.duckdb", env={})
    assert "SR814" in exc.value.render()
    with pytest.raises(segrules.SpecError) as exc:
        spec.sync(con, state=tmp_path / "s.duckdb", env=ENV, syncs=["nope"])
    assert exc.value.diagnostics


def test_sync_api_docs_python_example_runs(tmp_path, monkeypatch, capsys):
    """The Python example of docs/sync.md, run as written on the demo shop."""
    import re
    from pathlib import Path

    from segrules.demo import write_demo_data
    root = Path(__file__).resolve().parent.parent
    [code] = re.findall(r"<!-- sync-python -->\n```python\n(.*?)```", (root / "docs" / "sync.md").read_text(), re.S)
    write_demo_data(tmp_path / "shop.duckdb", customers=600, seed=3)
    (tmp_path / "docs" / "examples").mkdir(parents=True)
    (tmp_path / "docs" / "examples" / "sync_shop.yaml").write_text(
        (root / "docs" / "examples" / "sync_shop.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/sync.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("{'added': "), printed
    counts = eval(printed[0])
    # a member without an email is a rejected row (identify_by: email): the sync is then partial
    assert printed[1].endswith(" ok" if counts["rejected"] == 0 else " partial"), printed
    import ibis
    table = ibis.duckdb.connect(str(tmp_path / "audiences.duckdb")).table("at_risk_members").to_pyarrow()
    assert table.num_rows == counts["added"] > 0
