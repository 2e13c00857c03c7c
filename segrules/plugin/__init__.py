"""Plugin stage: the hook contract, the manager factory and the registry."""

from .destinations import BatchResult, DestinationDef, Limits, Row, SyncContext
from .hookspecs import hookimpl
from .registry import Registry, build_registry
from .types import FunctionDef, PluginInfo, SinkDef, SinkResult, SpecSection, ValidationContext, Validator

__all__ = ["hookimpl", "Registry", "build_registry", "FunctionDef", "PluginInfo", "SinkDef", "SinkResult",
           "SpecSection", "ValidationContext", "Validator", "BatchResult", "DestinationDef", "Limits", "Row",
           "SyncContext"]
