"""Spec stage: YAML -> pydantic models, with a side index of YAML positions."""

from .loader import SpecDocument, parse_spec, read_spec
from .models import Entity, Segment, Source, SpecModel, spec_model
from .yamlpos import load_yaml

__all__ = ["SpecDocument", "parse_spec", "read_spec", "Entity", "Segment", "Source", "SpecModel", "spec_model",
           "load_yaml"]
