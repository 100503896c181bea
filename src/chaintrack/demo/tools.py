"""The demo's two tools, in place of the page's online ones (SerpAPI and llm-math).

``Search`` ranks a small bundled corpus (``data/corpus.json``) by TF-IDF and answers with the
best passages. ``Calculator`` evaluates arithmetic with a small evaluator over Python's syntax
tree: numbers, + - * / // % **, parentheses and a few math functions; anything else (names,
attributes, calls to other functions) is refused. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

SEARCH_DESCRIPTION = (
    "A search engine. Useful for when you need to answer questions about current events. "
    "Input should be a search query."
)
CALCULATOR_DESCRIPTION = "Useful for when you need to answer questions about math."

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "he", "her",
    "his", "in", "is", "it", "its", "of", "on", "or", "she", "that", "the", "their", "this",
    "to", "was", "were", "what", "when", "where", "which", "who", "whom", "whose", "why", "with",
})  # fmt: skip


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


@lru_cache(maxsize=1)
def corpus() -> tuple[dict[str, str], ...]:
    """The bundled documents: ``{"title", "text"}`` each."""
    raw = resources.files("chaintrack.demo").joinpath("data/corpus.json").read_text("utf-8")
    return tuple({"title": str(d["title"]), "text": str(d["text"])} for d in json.loads(raw))


def search(query: str, k: int = 1) -> str:
    """The ``k`` best passages for ``query`` (TF-IDF over the corpus), or a 'no result' line."""
    documents = corpus()
    tokenized = [_words(f"{d['title']} {d['text']}") for d in documents]
    frequency = Counter(w for words in tokenized for w in set(words))
    terms = set(_words(query))
    scores = []
    for index, words in enumerate(tokenized):
        counts = Counter(words)
        score = sum(
            (counts[t] / len(words)) * math.log(1 + len(documents) / frequency[t])
            for t in terms
            if counts[t]
        )
        if score > 0:
            scores.append((score, index))
    if not scores:
        return "No good search result found."
    best = [documents[i]["text"] for _, i in sorted(scores, key=lambda s: (-s[0], s[1]))[:k]]
    return " ".join(best)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "abs": abs, "round": round,
    "min": min, "max": max,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e}
_MAX_LENGTH = 200
_MAX_EXPONENT = 1000
_MAX_MAGNITUDE = 10**100


class CalculatorError(ValueError):
    """The expression is not arithmetic the calculator can evaluate."""


def calculate(expression: str) -> int | float:
    """Evaluate arithmetic safely. ``^`` means power, as people write it."""
    text = expression.strip().strip("`\"'").replace("^", "**").replace("×", "*")
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > _MAX_LENGTH:
        raise CalculatorError(f"the expression is longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculatorError(f"{expression!r} is not an arithmetic expression") from None
    result: int | float = _value(tree.body)
    return result


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > _MAX_EXPONENT or abs(left) > 10**6):
            raise CalculatorError("the power is too large to compute")
        try:
            result = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
        if isinstance(result, int) and abs(result) > _MAX_MAGNITUDE:
            raise CalculatorError("the result is too large")
        return result
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        arguments = [_value(a) for a in node.args]
        try:
            return _FUNCTIONS[node.func.id](*arguments)
        except (ValueError, TypeError, OverflowError) as exc:
            raise CalculatorError(f"{node.func.id}: {exc}") from None
    raise CalculatorError(
        f"{ast.unparse(node)!r} is not allowed: use numbers, + - * / // % ** ( ) and "
        f"{', '.join(sorted(_FUNCTIONS))}, pi, e"
    )


def _calculator(expression: str) -> str:
    from langchain_core.tools import ToolException

    try:
        result = calculate(expression)
    except CalculatorError as exc:
        raise ToolException(f"Calculator error: {exc}") from None
    return f"Answer: {result}"


def demo_tools(callbacks: Sequence[Any] | None = None) -> list[Any]:
    """``[Search, Calculator]`` as LangChain tools, named and described as on the page."""
    from langchain_core.tools import Tool

    return [
        Tool(name="Search", func=search, description=SEARCH_DESCRIPTION,
             callbacks=list(callbacks) if callbacks else None),
        Tool(name="Calculator", func=_calculator, description=CALCULATOR_DESCRIPTION,
             handle_tool_error=True, callbacks=list(callbacks) if callbacks else None),
    ]  # fmt: skip
