"""Plugin stage: the hook contract, the manager factory and the registry."""

from .destinations import BatchResult, DestinationDef, Limits, Row, SyncContext
from .files import atomic_write
from .hookspecs import hookimpl
from .registry import Registry, build_registry
from .types import (DerivedSegment, EntityFunctionDef, FunctionDef, NamespaceDef, PluginInfo, SegmentOutputDef, SinkDef, SinkResult,
                    SourceExpression, SpecSection, ValidationContext, Validator, ValueField)

__all__ = ["hookimpl", "Registry", "build_registry", "DerivedSegment", "EntityFunctionDef", "SegmentOutputDef", "FunctionDef",
           "NamespaceDef", "PluginInfo", "SinkDef", "SinkResult", "SourceExpression", "SpecSection",
           "ValidationContext", "Validator", "ValueField", "BatchResult", "DestinationDef", "Limits", "Row",
           "SyncContext", "atomic_write"]
