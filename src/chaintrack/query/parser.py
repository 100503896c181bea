"""The span query language: tokens with their positions, and a parser that builds the AST.

A query is conditions joined with ``and``, ``or``, ``not`` and parentheses; a condition is
``field op value`` (``=  !=  <  <=  >  >=  ~``) or ``field in (value, …)``. Values are quoted
strings ("…" or '…', backslash escapes), numbers, relative times (``-7d``, ``-3h``, ``-15m``,
``-30s``, ``-2w``) or bare words (``kind = chat_model``). Nothing here knows SQL: the compiler
(``compiler.py``) turns the AST into a SQLAlchemy expression with bound parameters only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from chaintrack.query.fields import FIELDS, PREFIXES, allowed_fields_text
from chaintrack.query.nodes import And, Condition, Node, Not, Or, QueryError, Value

_OPERATORS = ("!=", "<=", ">=", "=", "<", ">", "~")
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<iso>\d{4}-\d{2}-\d{2}
        (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w.:-]))
  | (?P<reltime>-\d+[smhdw](?![\w.]))
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op>!=|<=|>=|=|<|>|~)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_.:/-]*)?)
    """,
    re.VERBOSE,
)
#: Longest query accepted (a query is typed or saved by a person, never generated in bulk).
MAX_QUERY_CHARS = 4_000
#: Most values in one ``in (…)`` list.
MAX_IN_VALUES = 500
_MAX_DEPTH = 50


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def _unquote(text: str, pos: int, query: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``; raises :class:`QueryError` at the first character that starts
    no token (an unclosed quote, a stray ``;``)."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(query, MAX_QUERY_CHARS, f"a query holds at most {MAX_QUERY_CHARS} "
                         "characters")  # fmt: skip
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            ch = query[pos]
            why = ("this quote is never closed" if ch in "\"'"
                   else f"unexpected character {ch!r}")  # fmt: skip
            raise QueryError(query, pos, why)
        kind = match.lastgroup or ""
        if kind != "space":
            text = match.group()
            if kind == "word" and text.lower() in _KEYWORDS:
                kind = text.lower()
            tokens.append(Token(kind, text, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, why: str, tok: Token | None = None) -> QueryError:
        return QueryError(self.query, (tok or self.tok).pos, why)

    def parse(self) -> Node | None:
        if self.tok.kind == "end":
            return None  # the empty query: every span
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail(f"expected 'and', 'or' or the end of the query, found "
                            f"{self.tok.text!r}")  # fmt: skip
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.tok.kind == "or":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.tok.kind == "and":
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.tok.kind == "not":
            self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail(f"a query nests at most {_MAX_DEPTH} levels")
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        if self.tok.kind == "lparen":
            self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail(f"a query nests at most {_MAX_DEPTH} levels")
            node = self.or_expr()
            if self.tok.kind != "rparen":
                raise self.fail(f"expected ')' to close the '(' here, found "
                                f"{self.tok.text or 'the end of the query'!r}")  # fmt: skip
            self.take()
            self.depth -= 1
            return node
        return self.condition()

    def condition(self) -> Condition:
        tok = self.tok
        if tok.kind != "word":
            found = tok.text or "the end of the query"
            raise self.fail(f"expected a field, found {found!r}. {allowed_fields_text()}")
        self.take()
        name, _, key = tok.text.partition(".")
        if name not in FIELDS or (bool(key) != (name in PREFIXES)):
            raise QueryError(self.query, tok.pos,
                             f"unknown field {tok.text!r}. {allowed_fields_text()}")  # fmt: skip
        op_tok = self.tok
        if op_tok.kind == "in":
            self.take()
            return Condition(name, key, "in", self.value_list(), tok.pos, op_tok.pos)
        if op_tok.kind != "op":
            raise self.fail(f"expected an operator after {tok.text!r} "
                            f"({', '.join(_OPERATORS)} or in), found "
                            f"{op_tok.text or 'the end of the query'!r}")  # fmt: skip
        self.take()
        return Condition(name, key, op_tok.text, (self.value(),), tok.pos, op_tok.pos)

    def value_list(self) -> tuple[Value, ...]:
        if self.tok.kind != "lparen":
            raise self.fail("expected '(' after 'in', as in: kind in (\"llm\", \"chat_model\")")
        self.take()
        values = [self.value()]
        while self.tok.kind == "comma":
            self.take()
            values.append(self.value())
            if len(values) > MAX_IN_VALUES:
                raise self.fail(f"an 'in' list holds at most {MAX_IN_VALUES} values")
        if self.tok.kind != "rparen":
            raise self.fail("expected ',' or ')' in the 'in' list")
        self.take()
        return tuple(values)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Value("string", _unquote(tok.text, tok.pos, self.query), tok.pos)
        if tok.kind == "number":
            self.take()
            try:
                number = float(tok.text)
            except ValueError:  # pragma: no cover - the pattern admits only numbers
                raise self.fail(f"{tok.text!r} is not a number") from None
            if not math.isfinite(number):
                raise self.fail(f"{tok.text!r} is not a finite number")
            return Value("number", number, tok.pos)
        if tok.kind == "reltime":
            self.take()
            return Value("reltime", tok.text, tok.pos)
        if tok.kind in ("word", "iso"):
            self.take()
            return Value("string", tok.text, tok.pos)
        found = tok.text or "the end of the query"
        raise self.fail(f"expected a value (a quoted string, a number or a time such as -7d), "
                        f"found {found!r}")  # fmt: skip


def parse(query: str) -> Node | None:
    """The AST of ``query`` (None for an empty query, which matches every span).

    Raises :class:`QueryError` (an ``InvalidArgumentError``) naming the position of the first
    problem and the fields a query may use.
    """
    if not isinstance(query, str):
        raise QueryError(str(query), 0, "a query is a string")
    return _Parser(query).parse()
