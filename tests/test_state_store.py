"""The state store opens a local DuckDB file by default, or a schema in a warehouse."""

import os

import pytest

from segrules.errors import BackendError
from segrules.state import DEFAULT_STATE_PATH, open_state


def test_default_state_is_a_local_duckdb_file_created_on_demand(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_state()
    store.con.create_table("runs", schema={"run_id": "string"})
    assert (tmp_path / DEFAULT_STATE_PATH).exists()
    assert store.schema is None and store.has_table("runs")
    assert open_state().table("runs").count().execute() == 0


def test_state_path_whose_parent_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BackendError) as exc:
        open_state(blocker / "sub" / "state.duckdb")
    assert exc.value.diagnostics[0].code == "SR704"


@pytest.mark.skipif(not os.environ.get("SEGRULES_POSTGRES_URL"), reason="needs SEGRULES_POSTGRES_URL")
def test_warehouse_state_lives_in_its_own_schema():
    url = os.environ["SEGRULES_POSTGRES_URL"]
    store = open_state(url + "#segrules_state_test")
    assert store.schema == "segrules_state_test"
    store.con.create_table("probe", schema={"k": "int64"}, database=store.schema, overwrite=True)
    assert store.has_table("probe")
    assert "probe" not in store.con.list_tables()  # not in the default schema
    store.con.drop_table("probe", database=store.schema)
