"""The span query language (parser, compiler to SQL with bound parameters only), span search,
project dashboards and export. See docs/search.md."""

from chaintrack.query.nodes import QueryError
from chaintrack.query.parser import parse

__all__ = ["QueryError", "parse"]
