"""The expression language: grammar, parser, frozen AST nodes, unparser.

>>> from segrules.lang import parse_expr, unparse
>>> unparse(parse_expr("count(orders  where status=='paid' within 90d) >= 3"))
"count(orders where status == 'paid' within 90d) >= 3"
"""

from . import ast
from .parser import Parser, parse_expr
from .positions import SourceMap
from .unparse import unparse

__all__ = ["ast", "parse_expr", "unparse", "Parser", "SourceMap"]
