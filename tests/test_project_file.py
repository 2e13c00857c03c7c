"""segrules.yml: found by walking up, validated with positions, targets with ${ENV} and
profiles, spec discovery (folders, globs, test files and exclusions skipped)."""

from pathlib import Path

import pytest

from segrules.errors import SpecError
from segrules.project import find_project, load_project
from segrules.project.env import interpolate
from segrules.project.files import expand

from helpers import spec_text


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _codes(exc) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line if d.span else 0, d.span.column if d.span else 0) for d in exc.value.diagnostics]


@pytest.fixture
def repo(tmp_path):
    return _write(tmp_path, {
        "segrules.yml": "version: 1\nspecs: [specs]\ntarget: dev\n"
                        "targets:\n  dev: {db: shop.duckdb}\n  prod: {db: '${PROD_DB}'}\n",
        "specs/a.yaml": spec_text({"vip": "ltv > 5"}),
        "specs/a.test.yaml": "spec: a.yaml\ncases: []\n",
        "specs/crm/b.yml": spec_text({"lapsed": "last_order_at is null"}),
        "specs/.hidden/c.yaml": spec_text({"x": "true"}),
        "specs/notes.txt": "not a spec",
    })


def test_project_file_found_by_walking_up(repo):
    deep = repo / "specs" / "crm"
    assert find_project(deep) == repo / "segrules.yml"
    project = load_project(start=deep)
    assert project.root == repo


def test_project_file_absent_is_none(tmp_path):
    assert load_project(start=tmp_path) is None


def test_project_file_explicit_path_missing_is_sr160(tmp_path):
    with pytest.raises(SpecError) as exc:
        load_project(tmp_path / "nowhere")
    assert _codes(exc)[0][0] == "SR160"


def test_project_file_specs_skip_tests_hidden_and_other_files(repo):
    specs = [p.relative_to(repo).as_posix() for p in load_project(repo).specs()]
    assert specs == ["specs/a.yaml", "specs/crm/b.yml"]


def test_project_file_unknown_key_is_positioned(repo):
    (repo / "segrules.yml").write_text("version: 1\nspecs: [specs]\ntargest: {}\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo)
    assert _codes(exc) == [("SR105", 3, 1)]
    assert exc.value.diagnostics[0].message == "unknown key 'targest' in segrules.yml"
    assert "did you mean" in exc.value.diagnostics[0].hint


def test_project_file_not_a_mapping_is_sr160(repo):
    (repo / "segrules.yml").write_text("- specs\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo)
    assert _codes(exc)[0][0] == "SR160"


def test_project_file_unknown_target_is_sr161_at_the_name(repo):
    (repo / "segrules.yml").write_text("version: 1\nspecs:\n  - {path: specs, target: staging}\ntarget: dve\n"
                                       "targets:\n  dev: {db: x.duckdb}\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo)
    assert sorted(_codes(exc)) == [("SR161", 3, 27), ("SR161", 4, 9)]


def test_project_file_spec_path_naming_nothing_is_sr164(repo):
    (repo / "segrules.yml").write_text("version: 1\nspecs: [specs, segments/*.yaml]\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo).specs()
    assert _codes(exc) == [("SR164", 2, 16)]


def test_project_file_target_db_relative_to_the_project(repo):
    target = load_project(repo).target()
    assert target.name == "dev" and target.db == str(repo / "shop.duckdb")


def test_project_file_target_env_variable(repo, monkeypatch):
    monkeypatch.setenv("PROD_DB", "postgres://u:p@host/db")
    assert load_project(repo).target("prod").db == "postgres://u:p@host/db"


def test_project_file_unset_env_variable_is_sr162_at_the_value(repo, monkeypatch):
    monkeypatch.delenv("PROD_DB", raising=False)
    project = load_project(repo)  # loading does not need the variable; using the target does
    with pytest.raises(SpecError) as exc:
        project.target("prod")
    assert _codes(exc) == [("SR162", 6, 14)]
    assert "PROD_DB" in exc.value.diagnostics[0].message


@pytest.mark.parametrize("text, env, expected", [
    ("${A}", {"A": "x"}, "x"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A}", {"A": ""}, ""),
    ("pre-${A}-${B:-b}", {"A": "a"}, "pre-a-b"),
    ("$$HOME and $HOME", {}, "$HOME and $HOME"),
])
def test_project_file_interpolation(text, env, expected):
    assert interpolate(text, environ=env) == expected


@pytest.mark.parametrize("text", ["${}", "${A", "${1A}"])
def test_project_file_malformed_reference_is_sr162(text):
    with pytest.raises(SpecError) as exc:
        interpolate(text, environ={"A": "x"})
    assert _codes(exc)[0][0] == "SR162"


def test_project_file_target_from_profiles_file(repo, tmp_path_factory, monkeypatch):
    profiles = tmp_path_factory.mktemp("home") / "profiles.yml"
    profiles.write_text("profiles:\n  warehouse:\n    db: postgres://${WH_USER}@wh/analytics\n")
    monkeypatch.setenv("SEGRULES_PROFILES", str(profiles))
    monkeypatch.setenv("WH_USER", "ana")
    (repo / "segrules.yml").write_text("version: 1\nspecs: [specs]\ntarget: wh\n"
                                       "targets:\n  wh: {profile: warehouse}\n  other: {profile: nope}\n")
    project = load_project(repo)
    target = project.target()
    assert (target.db, target.origin) == ("postgres://ana@wh/analytics", str(profiles))
    with pytest.raises(SpecError) as exc:
        project.target("other")
    assert _codes(exc) == [("SR163", 6, 20)]


def test_project_file_missing_profiles_file_is_sr163(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGRULES_PROFILES", str(tmp_path / "none.yml"))
    (repo / "segrules.yml").write_text("version: 1\ntargets:\n  wh: {profile: warehouse}\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo).target("wh")
    assert _codes(exc)[0][0] == "SR163"


def test_project_file_target_with_db_and_profile_is_an_error(repo):
    (repo / "segrules.yml").write_text("version: 1\ntargets:\n  wh: {profile: warehouse, db: x.duckdb}\n")
    with pytest.raises(SpecError) as exc:
        load_project(repo)
    assert _codes(exc) == [("SR100", 3, 7)]


def test_project_file_per_entry_target_last_match_wins(repo):
    (repo / "segrules.yml").write_text(
        "version: 1\ntarget: dev\nspecs:\n  - specs\n  - {path: specs/crm, target: crm}\n"
        "targets:\n  dev: {db: dev.duckdb}\n  crm: {db: crm.duckdb, as_of: 2025-04-28}\n")
    project = load_project(repo)
    assert project.target_name(repo / "specs/a.yaml") == "dev"
    crm = project.target(spec=repo / "specs/crm/b.yml")
    assert crm.name == "crm" and str(crm.as_of) == "2025-04-28"


def test_project_file_exclude_with_reason(repo):
    (repo / "segrules.yml").write_text(
        "version: 1\nspecs: [specs]\nexclude:\n  - {path: specs/crm/*.yml, reason: a draft}\n")
    project = load_project(repo)
    assert [p.name for p in project.specs()] == ["a.yaml"]
    assert project.excluded(repo / "specs/crm/b.yml") == "a draft"


def test_project_file_state_default_beside_the_file(repo):
    assert load_project(repo).state_url() == str(repo / ".segrules/state.duckdb")


def test_project_file_state_url_kept(repo):
    (repo / "segrules.yml").write_text("version: 1\nstate: postgres://u@h/db#segrules_state\n")
    assert load_project(repo).state_url() == "postgres://u@h/db#segrules_state"


def test_project_file_glob_expansion_skips_test_files(repo):
    found = [p.name for p in expand("specs/**/*.y*ml", repo)]
    assert found == ["a.yaml", "b.yml"]
