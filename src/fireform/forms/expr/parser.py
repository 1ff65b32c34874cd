"""Tokenizer and Pratt parser of the safe expression language (never Python's ``eval``)."""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass

from fireform.exceptions import ExpressionError
from fireform.forms.expr.nodes import FUNCTIONS, BinOp, Call, Expr, Name, Neg, Num

__all__ = ["parse", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 2000
MAX_DEPTH = 64

@dataclass(frozen=True)
class _Tok:
    kind: str  # num | name | op | end
    text: str
    pos: int


_NUM = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = set("+-*/^(),")
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def _err(text: str, pos: int, msg: str) -> ExpressionError:
    snippet = text if len(text) <= 80 else text[max(0, pos - 30) : pos + 30]
    return ExpressionError(f"{msg} at position {pos} in expression {snippet!r}")


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        # ASCII only: str.isdigit/isalpha accept letters and digits of every script ("é", "²"),
        # which the name and number patterns do not; those fall through to "not allowed" below
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUM.match(text, i)
            assert m is not None
            s = m.group(0)
            v = float(s)
            if not math.isfinite(v):
                raise _err(text, i, f"number {s!r} is not finite in float64")
            toks.append(_Tok("num", s, i))
            i = m.end()
            continue
        if c in _LETTERS:
            m = _NAME.match(text, i)
            assert m is not None
            s = m.group(0)
            if keyword.iskeyword(s):
                raise _err(text, i, f"keyword {s!r} is not allowed")
            if s.startswith("__"):
                raise _err(text, i, f"dunder name {s!r} is not allowed")
            toks.append(_Tok("name", s, i))
            i = m.end()
            continue
        if c == "*" and text.startswith("**", i):
            raise _err(text, i, "'**' is not an operator here; use '^' for powers")
        if c in _OPS:
            toks.append(_Tok("op", c, i))
            i += 1
            continue
        what = {
            ".": "attribute access ('.')",
            "[": "subscripts ('[')",
            "]": "subscripts (']')",
            "'": "strings",
            '"': "strings",
            ":": "':' (lambdas, slices)",
            "=": "assignment or comparison ('=')",
            "@": "'@'",
            "%": "'%'",
        }.get(c, f"character {c!r}")
        raise _err(text, i, f"{what} not allowed")
    toks.append(_Tok("end", "", n))
    return toks


# -- parser (Pratt) --------------------------------------------------------------------------
_BINARY_BP = {"+": (10, 11), "-": (10, 11), "*": (20, 21), "/": (20, 21), "^": (31, 30)}
_UNARY_BP = 25


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.text != text or t.kind != "op":
            got = "end of input" if t.kind == "end" else repr(t.text)
            raise _err(self.text, t.pos, f"expected {text!r}, found {got}")
        return t

    def expr(self, min_bp: int = 0) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _err(self.text, self.peek().pos, f"expression nested deeper than {MAX_DEPTH}")
        lhs = self.prefix()
        while True:
            t = self.peek()
            if t.kind != "op" or t.text not in _BINARY_BP:
                break
            lbp, rbp = _BINARY_BP[t.text]
            if lbp < min_bp:
                break
            self.next()
            rhs = self.expr(rbp)
            lhs = BinOp(t.text, lhs, rhs)
        self.depth -= 1
        return lhs

    def prefix(self) -> Expr:
        t = self.next()
        if t.kind == "num":
            return Num(float(t.text))
        if t.kind == "op" and t.text == "-":
            operand = self.expr(_UNARY_BP)
            # fold a negative literal so "-1" is one number everywhere (text, Fortran, C)
            return Num(-operand.value) if isinstance(operand, Num) else Neg(operand)
        if t.kind == "op" and t.text == "+":
            return self.expr(_UNARY_BP)
        if t.kind == "op" and t.text == "(":
            e = self.expr(0)
            self.expect(")")
            return e
        if t.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(t)
            if t.text in FUNCTIONS:
                raise _err(self.text, t.pos, f"function {t.text!r} used without arguments")
            return Name(t.text)
        got = "end of input" if t.kind == "end" else repr(t.text)
        raise _err(self.text, t.pos, f"unexpected {got}")

    def call(self, name: _Tok) -> Expr:
        if name.text not in FUNCTIONS:
            raise _err(
                self.text,
                name.pos,
                f"call of {name.text!r} is outside the allowed functions "
                f"({', '.join(FUNCTIONS)})",
            )
        self.expect("(")
        args = [self.expr(0)]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.next()
            args.append(self.expr(0))
        self.expect(")")
        allowed = FUNCTIONS[name.text]
        ok = len(args) >= 2 if allowed is None else len(args) in allowed
        if not ok:
            want = "two or more" if allowed is None else " or ".join(map(str, allowed))
            raise _err(
                self.text, name.pos, f"{name.text}() takes {want} arguments, got {len(args)}"
            )
        return Call(name.text, tuple(args))


def parse(text: str) -> Expr:
    """Parse ``text`` into an :class:`Expr`; syntax errors raise ExpressionError."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    if not text.strip():
        raise ExpressionError("empty expression")
    p = _Parser(text)
    e = p.expr(0)
    t = p.peek()
    if t.kind != "end":
        raise _err(text, t.pos, f"unexpected {t.text!r} after a complete expression")
    depth = _tree_depth(e)
    if depth > MAX_DEPTH:  # a long chain (a + b + ... ) nests on the left without nesting parentheses
        raise ExpressionError(f"expression is {depth} operations deep; the limit is {MAX_DEPTH} "
                              "(printers and evaluators recurse through it)")
    return e


def _tree_depth(e: Expr) -> int:
    """Depth of the AST, computed without recursion (the tree may be deeper than the stack)."""
    best, stack = 0, [(e, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        if isinstance(node, Neg):
            stack.append((node.operand, d + 1))
        elif isinstance(node, BinOp):
            stack += [(node.left, d + 1), (node.right, d + 1)]
        elif isinstance(node, Call):
            stack += [(a, d + 1) for a in node.args]
    return best

