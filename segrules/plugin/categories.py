"""The type categories a plugin function's ``args`` may name (a leaf module: the check stage
reads it without importing the plugin definitions, which import the check stage)."""

TYPE_CATEGORIES = ("any", "numeric", "integer", "string", "boolean", "date", "timestamp", "temporal")
