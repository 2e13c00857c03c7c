"""--select: names, tag:, owner:, path:, spec:, +segment (dependencies), segment+ (dependents);
unions with commas, spaces and repeats; a selector matching nothing or unknown is an error."""

import os
from pathlib import Path

import pytest

from segrules.errors import SpecError
from segrules.project.resolve import resolve
from segrules.project.select import parse_selectors

from helpers import HEAD, SCHEMA

CRM = HEAD.replace("name: t", "name: crm") + """\
segments:
  big_spenders: {where: ltv > 500, tags: [crm, value], owner: growth}
  frequent: {where: count(events within 30d) >= 5, tags: [engagement]}
  vip_not_browsing: {where: "segment('big_spenders') and not segment('frequent')", owner: crm-team}
  vip_reader:
    where: recent_vip
    tags: [crm]
features:
  recent_vip: segment('vip_not_browsing') and last_order_at is not null
""" + SCHEMA
CRM = CRM.replace("features:\n  ltv: sum(orders.amount)\n  last_order_at: max(orders.ordered_at)\n", "", 1)
CRM = CRM.replace("features:\n  recent_vip:", "features:\n  ltv: sum(orders.amount)\n  last_order_at: max(orders.ordered_at)\n"
                  "  recent_vip:")
OPS = HEAD.replace("name: t", "name: ops") + "segments:\n  lapsed: {where: last_order_at is null, owner: growth}\n" + SCHEMA


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "segrules.yml").write_text("version: 1\nspecs: [segments]\n")
    (tmp_path / "segments" / "crm").mkdir(parents=True)
    (tmp_path / "segments" / "crm" / "crm.yaml").write_text(CRM)
    (tmp_path / "segments" / "ops.yaml").write_text(OPS)
    (tmp_path / "segments" / "ops.test.yaml").write_text("spec: ops.yaml\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _picked(*select, paths=()) -> dict[str, list[str] | None]:
    return {Path(c.path).name: c.segments for c in resolve(list(paths), list(select))}


def test_project_select_nothing_is_every_project_spec(project):
    assert _picked() == {"crm.yaml": None, "ops.yaml": None}


@pytest.mark.parametrize("select, expected", [
    (["big_spenders"], {"crm.yaml": ["big_spenders"]}),
    (["tag:crm"], {"crm.yaml": ["big_spenders", "vip_reader"]}),
    (["owner:growth"], {"crm.yaml": ["big_spenders"], "ops.yaml": ["lapsed"]}),
    (["path:segments/crm/*"], {"crm.yaml": ["big_spenders", "frequent", "vip_not_browsing", "vip_reader"]}),
    (["spec:ops"], {"ops.yaml": ["lapsed"]}),
    (["big_spenders,lapsed"], {"crm.yaml": ["big_spenders"], "ops.yaml": ["lapsed"]}),
    (["big_spenders lapsed"], {"crm.yaml": ["big_spenders"], "ops.yaml": ["lapsed"]}),
    (["big_spenders", "tag:engagement"], {"crm.yaml": ["big_spenders", "frequent"]}),
    (["+vip_not_browsing"], {"crm.yaml": ["big_spenders", "frequent", "vip_not_browsing"]}),
    (["+vip_reader"], {"crm.yaml": ["big_spenders", "frequent", "vip_not_browsing", "vip_reader"]}),
    (["big_spenders+"], {"crm.yaml": ["big_spenders", "vip_not_browsing", "vip_reader"]}),
    (["+tag:engagement"], {"crm.yaml": ["frequent"]}),
    (["vip_*"], {"crm.yaml": ["vip_not_browsing", "vip_reader"]}),
    (["owner:crm-*"], {"crm.yaml": ["vip_not_browsing"]}),
])
def test_project_select_methods(project, select, expected):
    assert _picked(*select) == expected


def test_project_select_within_given_paths(project):
    assert _picked("owner:growth", paths=["segments/ops.yaml"]) == {"ops.yaml": ["lapsed"]}


def test_project_select_folder_argument_skips_test_files(project):
    assert _picked(paths=["segments"]) == {"crm.yaml": None, "ops.yaml": None}


def test_project_select_test_file_argument_is_skipped(project):
    assert _picked(paths=["segments/ops.test.yaml", "segments/ops.yaml"]) == {"ops.yaml": None}


@pytest.mark.parametrize("select", ["big_spender", "tag:nope", "owner:nobody", "path:other/*", "+nope"])
def test_project_select_matching_nothing_is_sr166(project, select):
    with pytest.raises(SpecError) as exc:
        resolve([], [select])
    assert exc.value.diagnostics[0].code == "SR166" and select in exc.value.diagnostics[0].message


@pytest.mark.parametrize("select", ["colour:red", "tag:", "+path:x/*", ",", "  "])
def test_project_select_bad_selector_is_sr165(select):
    with pytest.raises(SpecError) as exc:
        parse_selectors([select])
    assert exc.value.diagnostics[0].code == "SR165"


def test_project_select_no_project_and_no_specs_is_sr164(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as exc:
        resolve([], [])
    assert exc.value.diagnostics[0].code == "SR164"


def test_project_select_broken_spec_is_kept_with_its_error(project):
    (project / "segments" / "broken.yaml").write_text("version: 1\nname: b\n")
    chosen = {Path(c.path).name: c for c in resolve([], ["big_spenders"])}
    assert set(chosen) == {"broken.yaml", "crm.yaml"}
    assert chosen["broken.yaml"].error.diagnostics[0].code == "SR106"


def test_project_select_one_spec_command_with_several_is_sr167(project):
    with pytest.raises(SpecError) as exc:
        resolve([], ["owner:growth"]).one("compile")
    assert exc.value.diagnostics[0].code == "SR167"
    assert resolve([], ["tag:crm"]).one("compile").segments == ["big_spenders", "vip_reader"]


def test_project_select_paths_shown_relative_to_the_current_folder(project):
    os.chdir(project / "segments")
    assert sorted(c.path for c in resolve([], [])) == ["crm/crm.yaml", "ops.yaml"]
