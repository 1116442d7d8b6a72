"""A SOQL engine for the subset integrations use: lexer, parser, evaluator."""

from sandbox.soql.errors import SoqlError
from sandbox.soql.evaluator import CompiledQuery, compile_query
from sandbox.soql.parser import parse

__all__ = ["CompiledQuery", "SoqlError", "compile_query", "parse"]
