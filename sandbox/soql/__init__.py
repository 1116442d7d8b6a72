"""A SOQL engine for the subset integrations use: lexer, parser, evaluator."""

from sfsync.sandbox.soql.errors import SoqlError
from sfsync.sandbox.soql.evaluator import CompiledQuery, compile_query
from sfsync.sandbox.soql.parser import parse

__all__ = ["CompiledQuery", "SoqlError", "compile_query", "parse"]
