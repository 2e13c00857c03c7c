"""Model artifacts: versioned JSON files in the project's ``models/`` folder.

``models/<spec name>/<model>/v<N>.json`` holds the portable model (``portable.export``: scoring
needs no scikit-learn), the feature list, the metrics, the spec hash and the training times;
``v<N>.html`` is its model card. Training writes version N+1; scoring and ``validate`` use the
highest N. The folder is next to the project's ``segrules.yml`` (found by walking up from the
spec file), or next to the spec file when it belongs to no project.

The spec hash covers what the model depends on, not the whole file: the model's definition, the
text of every feature and segment its expressions read (transitively), the entity and source
declarations (keys and time columns; not the table names, so the same spec over another schema keeps
its model) and the parameters they use. Adding a segment that uses ``score('m')`` keeps the
hash; changing a feature the model reads changes it (``validate`` then fails: PRED201).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable

import segrules
from segrules.plugin import FeatureRef, atomic_write, ast, unparse

from .config import MODELS, Model

FORMAT = 1
_VERSION = re.compile(r"v(\d+)\.json")


def models_folder(spec_path: str | None) -> Path:
    """The project's ``models/`` folder for the spec file ``spec_path``."""
    here = Path(spec_path).resolve().parent if spec_path and Path(spec_path).is_file() else Path.cwd()
    try:
        project = segrules.load_project(start=here)
    except segrules.SegrulesError:
        project = None  # a broken project file is reported by the commands that read it
    return (project.root if project is not None else here) / "models"


def model_folder(spec_path: str | None, spec_name: str, model: str) -> Path:
    return models_folder(spec_path) / spec_name / model


def shown(path: Path) -> str:
    """``path`` for messages: relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def versions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION.fullmatch(p.name)))


def latest_path(spec_path: str | None, spec_name: str, model: str) -> Path | None:
    folder = model_folder(spec_path, spec_name, model)
    found = versions(folder)
    return folder / f"v{found[-1]}.json" if found else None


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise segrules.PluginError(f"{path}: not a segrules model artifact of format {FORMAT}")
    return data


def save(spec_path: str | None, spec_name: str, model: str, artifact: dict[str, Any],
         card: Callable[[dict[str, Any]], str]) -> Path:
    """Write the next version of the artifact and its model card (``card(artifact)``, HTML);
    returns the JSON's path."""
    folder = model_folder(spec_path, spec_name, model)
    folder.mkdir(parents=True, exist_ok=True)
    version = (versions(folder) or [0])[-1] + 1
    artifact = {**artifact, "format": FORMAT, "version": version}
    path = folder / f"v{version}.json"
    _write_text(folder / f"v{version}.html", card(artifact))
    _write_text(path, json.dumps(artifact, indent=1, sort_keys=True, default=str) + "\n")
    return path


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _where_from(declaration) -> str:
    """An entity or source declaration without its table name: the same spec reading its tables
    from another schema or database (staging, production) scores with the same model."""
    return json.dumps({k: v for k, v in declaration.model_dump(mode="json").items() if k != "table"}, sort_keys=True)


def spec_hash(checked, name: str) -> str:
    """The hash of what model ``name`` depends on in the checked spec (see the module docstring)."""
    m = checked.model
    config: Model = getattr(m, MODELS)[name]
    parts: list[str] = [json.dumps(config.model_dump(mode="json"), sort_keys=True)]
    parts.append(_where_from(m.entity))
    # the model's features, population and label, in a fixed order
    roots = [node for (owner, key), (_, node) in sorted(checked.source_expressions.items(), key=lambda kv: kv[0])
             if owner == MODELS and key.startswith(f"{name}.")]
    seen: set[tuple[str, str]] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        for sub in node.walk():
            binding = checked.bindings.get(id(sub))
            ref = None
            if isinstance(binding, FeatureRef):
                ref = ("feature", binding.name)
            elif isinstance(sub, ast.SegmentRef):
                ref = ("segment", sub.name)
            elif isinstance(sub, ast.Aggregate):
                ref = ("source", sub.source)
            elif isinstance(sub, ast.Param):
                ref = ("param", sub.name)
            if ref is None or ref in seen:
                continue
            seen.add(ref)
            kind, ref_name = ref
            if kind == "feature":
                stack.append(checked.features[ref_name])
            elif kind == "segment":
                stack.append(checked.segments[ref_name])
    for kind, ref_name in sorted(seen):
        if kind == "feature":
            text = unparse(checked.features[ref_name])
        elif kind == "segment":
            text = unparse(checked.segments[ref_name])
        elif kind == "source":
            text = _where_from(m.sources[ref_name])
        else:
            text = json.dumps(m.params.get(ref_name), sort_keys=True, default=str)
        parts.append(f"{kind}:{ref_name}={text}")
    parts += [unparse(node) for node in roots]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
