"""Arithmetic for the assistant, evaluated from Python's ``ast`` (never ``eval``).

Only numbers, + - * / // % **, unary signs, parentheses, a few functions and pi/e are allowed.
Every step is bounded: the expression's length and nesting, an exponent's size, and each value's
magnitude, so no expression ("9**9**9", ten thousand parentheses) costs more than a moment.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from desktop.core.errors import UsageError

MAX_EXPRESSION = 200  # characters
MAX_DEPTH = 30  # nested operations
MAX_DIGITS = 300  # an integer result larger than 10**300 is refused, as a float beyond ~1e308 is

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
def _round(value: Number, digits: Number = 0) -> Number:
    """round(), but a huge digit count (round(5, -10**8)) would compute 10**10**8 first."""
    if not isinstance(digits, int) or abs(digits) > 100:
        raise ValueError("round takes at most 100 digits")
    return round(value, digits)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "round": _round, "min": min, "max": max, "sqrt": math.sqrt, "log": math.log, "exp": math.exp,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_LIMIT = 10**MAX_DIGITS


class CalculationError(UsageError):
    """An expression that is not arithmetic, or whose value is out of bounds."""


def calculate(expression: str) -> Number:
    """The value of ``expression``; raises CalculationError with a short reason."""
    if len(expression) > MAX_EXPRESSION:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION} characters")
    # The parser itself recurses on nesting: refuse deep brackets before it sees them.
    depth = deepest = 0
    for char in expression:
        depth += (char == "(") - (char == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise CalculationError(f"the expression nests more than {MAX_DEPTH} brackets")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalculationError("the expression is not valid arithmetic") from None
    return _value(tree.body, 0)


def _value(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculationError(f"the expression nests more than {MAX_DEPTH} operations")
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):  # not bool, not complex
        return _bounded(node.value)  # type: ignore[arg-type]  # narrowed by the exact type check
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _bounded(_UNARY[type(node.op)](_value(node.operand, depth + 1)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, depth + 1), _value(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _apply(_BINARY[type(node.op)], left, right)
    if (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        and not node.keywords and 0 < len(node.args) <= 10
    ):
        arguments = [_value(argument, depth + 1) for argument in node.args]
        return _apply(_FUNCTIONS[node.func.id], *arguments)
    raise CalculationError(f"'{ast.unparse(node)[:40]}' is not allowed: only numbers, + - * / // % **, brackets, "
                           f"{', '.join(_FUNCTIONS)} and pi, e")


def _check_power(base: Number, exponent: Number) -> None:
    """Refused before computing: 9**9**9 would take minutes and gigabytes."""
    if abs(exponent) > 10_000:
        raise CalculationError("the exponent is too large")
    if abs(base) > 1 and exponent > 0 and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise CalculationError(f"the result would have more than {MAX_DIGITS} digits")


def _apply(function: Callable[..., Any], *arguments: Number) -> Number:
    try:
        result = function(*arguments)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise CalculationError(f"cannot compute it: {exc}") from None
    if isinstance(result, complex) or not isinstance(result, int | float):
        raise CalculationError("the result is not a real number")
    return _bounded(result)


def _bounded(value: Number) -> Number:
    if isinstance(value, int) and abs(value) >= _LIMIT:
        raise CalculationError(f"the result would have more than {MAX_DIGITS} digits")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculationError("the result is not a finite number")
    return value


def shown(value: Number) -> str:
    """A result as people write it: 12, 0.25, 3.333333333333."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value) if isinstance(value, int) else f"{value:.12g}"
