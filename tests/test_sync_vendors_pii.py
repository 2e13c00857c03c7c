"""Ad platforms get hashed identifiers only: the raw email or phone of a member reaches neither
Google nor Meta, nor the state store, nor the sync log and its exports, nor the command's output
(a dry run's samples included) -- and what the vendor holds is exactly the vendor-normalised
SHA-256 of each member's identifier."""

from __future__ import annotations

import os
import uuid

import duckdb
import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner

from segrules.cli.app import main
from segrules.plugin import hash_email, hash_phone

from vendor_platforms import BY_NAME, ENV, request_texts

PEOPLE = [  # id, email, phone, score; the spaces and capitals are normalised before hashing
    (1, " Ann.Lee@Example.com", "+4915112345678", 80), (2, "bob@example.org", "+12125650000", 90),
    (3, "cy@example.net", "+447911123456", 70), (4, "dee@example.com", "+33612345678", 20),
    (5, "not-an-email", "0151 1234", 95),  # invalid: rejected before sending, never stored raw
]


def _write(path, people):
    con = ibis.duckdb.connect(str(path))
    con.create_table("people", pa.table({
        "id": pa.array([p[0] for p in people], pa.int64()), "email": [p[1] for p in people],
        "phone": [p[2] for p in people], "first_name": ["N"] * len(people),
        "score": pa.array([p[3] for p in people], pa.int64())}), overwrite=True)
    con.disconnect()


def _raw_values(people) -> set[str]:
    out = set()
    for _, email, phone, _ in people:
        out |= {email, email.strip(), email.strip().lower(), phone, phone.lstrip("+"), phone.replace(" ", "")}
    return out


def _state_text(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    texts = []
    for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
        texts += [" ".join(map(str, row)) for row in con.execute(f'select * from "{table}"').fetchall()]
    con.close()
    return "\n".join(texts)


@pytest.mark.parametrize("name", ["google_ads", "meta"])
@pytest.mark.parametrize("column", ["email", "phone"])
def test_vendor_ad_platforms_never_receive_or_store_raw_identifiers(name, column, tmp_path, monkeypatch):
    v = BY_NAME[name]
    vendor = "google" if name == "google_ads" else "meta"
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    people = list(PEOPLE)
    _write(db, people)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    outputs = []
    with v.emulator() as emu:
        v.prepare(emu)
        spec.write_text(v.spec(emu.url, identify_by=column))
        args = ["sync", str(spec), "--db", str(db), "--state", str(state)]
        outputs.append(runner.invoke(main, args + ["--dry-run"]).output)
        outputs.append(runner.invoke(main, args).output)
        people[0] = (1, people[0][1], people[0][2], 10)  # Ann leaves: removed by her hash from the state
        people[3] = (4, people[3][1], people[3][2], 60)  # Dee joins
        _write(db, people)
        result = runner.invoke(main, args)
        outputs.append(result.output)
        assert "rejected" in result.output
        digest = (lambda p: hash_email(p[1], vendor)) if column == "email" else (lambda p: hash_phone(p[2], vendor))
        assert v.audience(emu) == {digest(p) for p in people if p[3] >= 50 and p[0] != 5}
        sent = request_texts(emu)
        logs = [runner.invoke(main, ["sync-log", "--state", str(state)]).output]
        for run_id in {line.split()[1] for line in logs[0].splitlines() if line.startswith("│ ") and
                       len(line.split()) > 2 and len(line.split()[1]) == 16}:
            logs.append(runner.invoke(main, ["sync-log", "--state", str(state), "--run", run_id, "--limit", "0"]).output)
        export = tmp_path / "changes.csv"
        run_ids = [r for r in (line.split("│")[1].strip() for line in logs[0].splitlines() if line.count("│") > 3)
                   if len(r) == 16]
        assert run_ids, logs[0]
        runner.invoke(main, ["sync-log", "--state", str(state), "--run", run_ids[0], "--out", str(export)])
        texts = {"requests": sent, "state": _state_text(state), "output": "\n".join(outputs + logs),
                 "export": export.read_text()}
    raw = _raw_values(PEOPLE)
    for where, text in texts.items():
        assert [value for value in raw if value in text] == [], where
    assert hash_email(PEOPLE[1][1], vendor) in texts["state"] or hash_phone(PEOPLE[1][2], vendor) in texts["state"]


@pytest.mark.skipif(not os.environ.get("SEGRULES_POSTGRES_URL"), reason="needs SEGRULES_POSTGRES_URL")
def test_vendor_ad_platform_state_in_a_warehouse_holds_digests_only(tmp_path):
    """State in PostgreSQL: the diff of hashed identifiers runs there, removal by the stored digest."""
    from segrules.state import open_state
    from sync_helpers import people_db, run_sync
    v = BY_NAME["meta"]
    schema = f"sync_meta_{uuid.uuid4().hex[:8]}"
    url = f"{os.environ['SEGRULES_POSTGRES_URL']}#{schema}"
    people = {i: (f" P{i}@Shop.com", "N", 60 + i) for i in range(1, 11)}
    with people_db(people) as con, v.emulator() as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url), con, url, env=ENV)
        assert o.status == "ok" and v.audience(emu) == v.expected(people)
        people[3] = (people[3][0], "N", 1)
        from sync_helpers import write_people
        write_people(con, people)
        (o,) = run_sync(v.spec(emu.url), con, url, env=ENV)
        assert (o.counts["added"], o.counts["removed"]) == (0, 1) and v.audience(emu) == v.expected(people)
        store = open_state(url)
        stored = str(store.table("sync_changes").to_pyarrow().to_pylist())
        store.con.drop_database(schema, force=True, cascade=True)
        store.con.disconnect()
    assert "shop.com" not in stored.lower() and hash_email(people[3][0], "meta") in stored
