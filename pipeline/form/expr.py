"""The small expression language of the form spec: rules, computed fields and their Excel formulas.

An expression is Python syntax over field ids, restricted to arithmetic, comparisons, and/or/not, `in`
with a tuple of constants, and five functions:

- ``abs(x)``; ``total(a, b, …)``: sum with blanks counted as 0; ``zero(x)``: blank → 0;
- ``filled(x)`` / ``blank(x)``: presence tests.

One parse serves three uses, so a rule is never written twice:
- ``evaluate(values)`` on a pandas DataFrame (one row per return: vectorised, for the batch validator) or
  on a dict of scalars (one return: computed fields while reading and generating);
- ``to_excel(cell_of)`` renders a computed field as an Excel 97-compatible formula (no IFERROR: agencies
  open the form in Excel 2003);
- ``operands``: the fields whose blank value makes a rule not applicable (blanks are the 'required'
  check's business, not every rule's).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PRESENCE_FUNCS = {"filled", "blank"}
BLANK_TOLERANT_FUNCS = {"filled", "blank", "total", "zero"}
FUNCS = {"abs", *BLANK_TOLERANT_FUNCS}
_CMP = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class ExprError(ValueError):
    """An expression uses syntax or names the spec language does not allow."""


@dataclass(frozen=True)
class Expr:
    source: str
    tree: ast.expr
    names: frozenset[str]  # every field id named
    operands: frozenset[str]  # names used outside blank-tolerant functions

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return _Evaluator(values).visit(self.tree)

    def to_excel(self, cell_of: Callable[[str], str]) -> str:
        writer = _ExcelWriter(cell_of)
        body = writer.visit(self.tree)
        if not writer.denominators:
            return "=" + body
        guards = ",".join(f"N({d})=0" for d in writer.denominators)
        return f'=IF(OR({guards}),"",{body})'  # a blank or zero divisor shows an empty cell, not #DIV/0!


def parse(source: str) -> Expr:
    """Parse and check an expression; raise ExprError saying what is not allowed."""
    try:
        tree = ast.parse(str(source).strip(), mode="eval").body
    except SyntaxError as err:
        raise ExprError(f"invalid syntax in {source!r}: {err.msg}") from None
    checker = _Checker()
    checker.visit(tree)
    return Expr(str(source), tree, frozenset(checker.names), frozenset(checker.operands))


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.operands: set[str] = set()
        self._tolerant_depth = 0

    def visit_Name(self, node: ast.Name) -> None:
        self.names.add(node.id)
        if not self._tolerant_depth:
            self.operands.add(node.id)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, int | float | str | bool):
            raise ExprError(f"constant {node.value!r} is not allowed")

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCS:
            raise ExprError(f"unknown function {ast.unparse(node.func)!r}; allowed: {sorted(FUNCS)}")
        if node.keywords or not node.args:
            raise ExprError(f"{node.func.id}() takes positional field arguments")
        tolerant = node.func.id in BLANK_TOLERANT_FUNCS
        self._tolerant_depth += tolerant
        for arg in node.args:
            self.visit(arg)
        self._tolerant_depth -= tolerant

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if type(node.op) not in _ARITH:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not (isinstance(right, ast.Tuple) and all(isinstance(e, ast.Constant) for e in right.elts)):
                    raise ExprError("`in` needs a tuple of constants, e.g. x in (\"A\", \"B\")")
            elif type(op) not in _CMP:
                raise ExprError(f"comparison {type(op).__name__} is not allowed")
        self.visit(node.left)
        for right in node.comparators:
            if not isinstance(right, ast.Tuple):
                self.visit(right)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if not isinstance(node.op, ast.Not | ast.USub):
            raise ExprError(f"unary {type(node.op).__name__} is not allowed")
        self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        allowed = (ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Load,
                   ast.Constant, ast.Call, ast.Tuple, ast.Not, ast.USub, *(_ARITH), *(_CMP))
        if not isinstance(node, allowed):
            raise ExprError(f"{type(node).__name__} is not allowed in spec expressions")
        super().generic_visit(node)


def _is_series(x: Any) -> bool:
    return hasattr(x, "index") and hasattr(x, "dtype")


def _isblank(x: Any) -> Any:
    if _is_series(x):
        blank = x.isna()
        if x.dtype == object:
            blank = blank | (x.astype(str).str.strip() == "")
        return blank
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


def _as_bool(x: Any) -> Any:
    if _is_series(x):
        return x.fillna(False).astype(bool)
    return bool(x) and not (isinstance(x, float) and math.isnan(x))


def _zero(x: Any) -> Any:
    if _is_series(x):
        return x.fillna(0)
    return 0 if _isblank(x) else x


class _Evaluator(ast.NodeVisitor):
    """Works on scalars and on pandas Series alike; blanks are None/NaN."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> Any:
        value = self.values.get(node.id)
        return math.nan if value is None else value

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if _is_series(right):
            return left / right.where(right != 0)
        return math.nan if right == 0 or _isblank(right) else left / right

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        value = _as_bool(value)
        return ~value if _is_series(value) else not value

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [_as_bool(self.visit(v)) for v in node.values]
        result = values[0]
        for value in values[1:]:
            if isinstance(node.op, ast.And):
                result = (result & value) if _is_series(result) or _is_series(value) else (result and value)
            else:
                result = (result | value) if _is_series(result) or _is_series(value) else (result or value)
        return result

    def visit_Compare(self, node: ast.Compare) -> Any:
        result: Any = True
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                options = [e.value for e in right_node.elts]  # type: ignore[attr-defined]
                part = left.isin(options) if _is_series(left) else left in options
                if isinstance(op, ast.NotIn):
                    part = ~part if _is_series(part) else not part
            else:
                right = self.visit(right_node)
                part = _compare(type(op), left, right)
                left = right
            result = part if result is True else (result & part)
        return result

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        args = [self.visit(a) for a in node.args]
        if name == "abs":
            return abs(args[0])
        if name == "zero":
            return _zero(args[0])
        if name == "total":
            result = _zero(args[0])
            for arg in args[1:]:
                result = result + _zero(arg)
            return result
        blank = _isblank(args[0])
        if name == "blank":
            return blank
        return ~blank if _is_series(blank) else not blank

    def generic_visit(self, node: ast.AST) -> Any:
        raise ExprError(f"cannot evaluate {type(node).__name__}")


def _compare(op: type, left: Any, right: Any) -> Any:
    if not _is_series(left) and not _is_series(right) and (_isblank(left) or _isblank(right)):
        return False
    if op is ast.Lt:
        return left < right
    if op is ast.LtE:
        return left <= right
    if op is ast.Gt:
        return left > right
    if op is ast.GtE:
        return left >= right
    if op is ast.Eq:
        return left == right
    return left != right


class _ExcelWriter(ast.NodeVisitor):
    """Render a numeric expression as an Excel formula, collecting divisors for the zero guard."""

    def __init__(self, cell_of: Callable[[str], str]) -> None:
        self.cell_of = cell_of
        self.denominators: list[str] = []

    def visit_Name(self, node: ast.Name) -> str:
        return self.cell_of(node.id)

    def visit_Constant(self, node: ast.Constant) -> str:
        if isinstance(node.value, str):
            return '"' + node.value.replace('"', '""') + '"'
        return repr(node.value)

    def visit_BinOp(self, node: ast.BinOp) -> str:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Div):
            self.denominators.append(right)
        return f"({left}{_ARITH[type(node.op)]}{right})"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.USub):
            return f"(-{self.visit(node.operand)})"
        return f"NOT({self.visit(node.operand)})"

    def visit_Call(self, node: ast.Call) -> str:
        name = node.func.id  # type: ignore[attr-defined]
        args = [self.visit(a) for a in node.args]
        if name == "total":
            return f"SUM({','.join(args)})"
        if name == "zero":
            return f"N({args[0]})"
        if name == "abs":
            return f"ABS({args[0]})"
        raise ExprError(f"{name}() cannot be used in a computed field")

    def generic_visit(self, node: ast.AST) -> str:
        raise ExprError(f"{type(node).__name__} cannot be used in a computed field")
