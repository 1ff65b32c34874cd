"""The safe expression language of new terms and mechanism equations.

Grammar (parsed by a hand-written tokenizer and Pratt parser into fireform's own AST; text is
never handed to Python's ``ast``, ``eval`` or ``compile``)::

    expr    := expr ("+" | "-") expr | expr ("*" | "/") expr | "-" expr | expr "^" expr
             | NUMBER | NAME | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
    FUNC    := exp | log | sqrt | tanh | sigmoid | min | max | clip | abs

Precedence, loosest first: ``+ -`` < ``* /`` < unary ``-`` < ``^`` (right-associative), so
``-x^2 = -(x^2)`` and ``2^3^2 = 2^(3^2)``. ``sigmoid(x) = 1 / (1 + exp(-x))``; ``clip(x)`` clips
to [0, 1], ``clip(x, lo, hi)`` to [lo, hi]; ``min``/``max`` take two or more arguments.

Rules enforced by :func:`parse` (syntax) and :func:`validate` (meaning), each failing with an
:class:`~fireform.exceptions.ExpressionError` that names the position and the offending token:

- at most ``MAX_LENGTH`` (2000) characters and nesting depth ``MAX_DEPTH`` (64);
- numbers must be finite as float64 (``1e400`` is rejected);
- no attribute access, subscripts, strings, keywords, ``**``, lambdas or other calls;
- every name is a catalog input or a declared parameter with finite bounds ``lo < hi``;
- **exponent rule**: the exponent of ``^`` must not depend on inputs; a constant exponent needs
  ``|p| <= 10``; a parameter-dependent exponent must have interval bounds (from the parameters'
  bounds) inside ``[-10, 10]``. Growth beyond that belongs in ``exp``.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from fireform.exceptions import ExpressionError

__all__ = [
    "Expr",
    "Num",
    "Name",
    "Neg",
    "BinOp",
    "Call",
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "parse",
    "evaluate",
    "names",
    "to_text",
    "to_latex",
    "to_fortran",
    "to_numpy",
    "to_c",
    "validate",
    "format_number",
]

MAX_LENGTH = 2000
MAX_DEPTH = 64
MAX_EXPONENT = 10.0

# name -> allowed argument counts (None = two or more)
FUNCTIONS: dict[str, tuple[int, ...] | None] = {
    "exp": (1,),
    "log": (1,),
    "sqrt": (1,),
    "tanh": (1,),
    "sigmoid": (1,),
    "abs": (1,),
    "clip": (1, 3),
    "min": None,
    "max": None,
}


# -- AST -------------------------------------------------------------------------------------
class Expr:
    """Base class of expression nodes (all frozen dataclasses, hashable, comparable)."""

    __slots__ = ()


@dataclass(frozen=True)
class Num(Expr):
    value: float


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True)
class BinOp(Expr):
    op: str  # one of + - * / ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]


# -- tokenizer -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tok:
    kind: str  # num | name | op | end
    text: str
    pos: int


_NUM = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = set("+-*/^(),")


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
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUM.match(text, i)
            assert m is not None
            s = m.group(0)
            v = float(s)
            if not math.isfinite(v):
                raise _err(text, i, f"number {s!r} is not finite in float64")
            toks.append(_Tok("num", s, i))
            i = m.end()
            continue
        if c.isalpha() or c == "_":
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
    return e


# -- queries ---------------------------------------------------------------------------------
def names(expr: Expr) -> set[str]:
    """All variable names (inputs and parameters) in ``expr``."""
    out: set[str] = set()

    def walk(e: Expr) -> None:
        if isinstance(e, Name):
            out.add(e.id)
        elif isinstance(e, Neg):
            walk(e.operand)
        elif isinstance(e, BinOp):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, Call):
            for a in e.args:
                walk(a)

    walk(expr)
    return out


# -- evaluation ------------------------------------------------------------------------------
def evaluate(expr: Expr, env: Mapping[str, object], *, xp=np):
    """Evaluate ``expr`` with array namespace ``xp`` (numpy or jax.numpy); names from ``env``."""

    def ev(e: Expr):
        if isinstance(e, Num):
            return e.value
        if isinstance(e, Name):
            try:
                return env[e.id]
            except KeyError:
                raise ExpressionError(f"no value for name {e.id!r} when evaluating") from None
        if isinstance(e, Neg):
            return -ev(e.operand)
        if isinstance(e, BinOp):
            a, b = ev(e.left), ev(e.right)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if e.op == "/":
                return a / b
            return xp.power(a, b)
        assert isinstance(e, Call)
        args = [ev(a) for a in e.args]
        f = e.func
        if f in ("exp", "log", "sqrt", "tanh", "abs"):
            return getattr(xp, f)(args[0])
        if f == "sigmoid":
            return 1.0 / (1.0 + xp.exp(-args[0]))
        if f == "clip":
            lo, hi = (0.0, 1.0) if len(args) == 1 else (args[1], args[2])
            return xp.minimum(xp.maximum(args[0], lo), hi)
        red = xp.minimum if f == "min" else xp.maximum
        acc = args[0]
        for a in args[1:]:
            acc = red(acc, a)
        return acc

    return ev(expr)


# -- validation ------------------------------------------------------------------------------
def _interval(e: Expr, bounds: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """Conservative interval of ``e`` over parameter bounds; (-inf, inf) when unknown."""
    inf = math.inf
    if isinstance(e, Num):
        return (e.value, e.value)
    if isinstance(e, Name):
        return bounds.get(e.id, (-inf, inf))
    if isinstance(e, Neg):
        lo, hi = _interval(e.operand, bounds)
        return (-hi, -lo)
    if isinstance(e, BinOp):
        a, b = _interval(e.left, bounds), _interval(e.right, bounds)
        with np.errstate(all="ignore"):
            if e.op == "+":
                return (a[0] + b[0], a[1] + b[1])
            if e.op == "-":
                return (a[0] - b[1], a[1] - b[0])
            if e.op == "*":
                c = [x * y for x in a for y in b]
                if any(math.isnan(v) for v in c):
                    return (-inf, inf)
                return (min(c), max(c))
            if e.op == "/":
                if b[0] <= 0 <= b[1]:
                    return (-inf, inf)
                c = [x / y for x in a for y in b]
                return (min(c), max(c))
            if e.op == "^" and isinstance(e.right, Num) and float(e.right.value).is_integer() \
                    and 0 <= e.right.value <= 64:
                k = int(e.right.value)  # integer powers (squares in Gaussians): corners + zero
                c = [a[0] ** k, a[1] ** k]
                lo = 0.0 if (k % 2 == 0 and a[0] <= 0 <= a[1]) else min(c)
                return (-inf, inf) if any(math.isnan(v) for v in c) else (lo, max(c))
        return (-inf, inf)  # other powers: not worth bounding
    assert isinstance(e, Call)
    iv = [_interval(a, bounds) for a in e.args]
    f = e.func
    try:
        if f == "exp":
            return (math.exp(iv[0][0]) if iv[0][0] < 700 else inf, math.exp(min(iv[0][1], 700)))
        if f == "tanh":
            return (math.tanh(iv[0][0]), math.tanh(iv[0][1]))
        if f == "sigmoid":
            return (0.0, 1.0)
        if f == "log" and iv[0][0] > 0:
            return (math.log(iv[0][0]), math.log(iv[0][1]))
        if f == "sqrt" and iv[0][0] >= 0:
            return (math.sqrt(iv[0][0]), math.sqrt(iv[0][1]))
        if f == "abs":
            lo, hi = iv[0]
            return (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        if f == "clip":
            lo, hi = ((0.0, 0.0), (1.0, 1.0)) if len(iv) == 1 else (iv[1], iv[2])
            return (max(min(iv[0][0], hi[0]), lo[0]), min(max(iv[0][1], lo[1]), hi[1]))
        if f == "min":
            return (min(i[0] for i in iv), min(i[1] for i in iv))
        if f == "max":
            return (max(i[0] for i in iv), max(i[1] for i in iv))
    except (OverflowError, ValueError):
        pass
    return (-inf, inf)


def validate(
    expr: Expr,
    *,
    inputs: set[str] | frozenset[str],
    params: Mapping[str, tuple[float, float]],
    where: str = "expression",
) -> None:
    """Check names, parameter bounds and the exponent rule (see module docstring)."""
    for p, b in params.items():
        if p in FUNCTIONS:
            raise ExpressionError(f"{where}: parameter {p!r} shadows the function {p}()")
        if p in inputs:
            raise ExpressionError(f"{where}: parameter {p!r} has the name of a catalog input")
        try:
            lo, hi = float(b[0]), float(b[1])
        except (TypeError, ValueError, IndexError):
            raise ExpressionError(
                f"{where}: parameter {p!r} must have numeric bounds (lo, hi), got {b!r}"
            ) from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ExpressionError(
                f"{where}: parameter {p!r} is unbounded or empty: bounds [{lo}, {hi}]; "
                "every parameter needs finite bounds lo < hi"
            )
    for n in sorted(names(expr)):
        if n not in inputs and n not in params:
            raise ExpressionError(
                f"{where}: unknown name {n!r}: neither a declared parameter "
                f"({', '.join(sorted(params)) or 'none declared'}) nor a catalog input "
                f"({', '.join(sorted(inputs))})"
            )
    bounds = {k: (float(v[0]), float(v[1])) for k, v in params.items()}

    def walk(e: Expr) -> None:
        if isinstance(e, BinOp):
            if e.op == "^":
                used = names(e.right)
                bad = sorted(used & set(inputs))
                if bad:
                    raise ExpressionError(
                        f"{where}: exponent {to_text(e.right)!r} depends on input(s) {bad}; "
                        "exponents may depend only on parameters (use exp() for growth)"
                    )
                lo, hi = _interval(e.right, bounds)
                if not (lo >= -MAX_EXPONENT and hi <= MAX_EXPONENT):
                    kind = "constant exponent" if not used else "exponent bounds"
                    raise ExpressionError(
                        f"{where}: absurd exponent in {to_text(e)!r}: {kind} "
                        f"[{lo:g}, {hi:g}] exceed |p| <= {MAX_EXPONENT:g}"
                    )
            walk(e.left)
            walk(e.right)
        elif isinstance(e, Neg):
            walk(e.operand)
        elif isinstance(e, Call):
            for a in e.args:
                walk(a)

    walk(expr)


# -- printers --------------------------------------------------------------------------------
def format_number(v: float) -> str:
    """Shortest round-tripping text of a float ("2", "0.5", "1e-05")."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


_PREC = {"+": 10, "-": 10, "*": 20, "/": 20, "neg": 25, "^": 30, "atom": 100}


def _prec(e: Expr) -> int:
    if isinstance(e, BinOp):
        return _PREC[e.op]
    if isinstance(e, Neg):
        return _PREC["neg"]
    if isinstance(e, Num) and e.value < 0:
        return _PREC["neg"]
    return _PREC["atom"]


def _wrap_needed(child: Expr, parent_op: str, side: str) -> bool:
    """Whether ``child`` needs parentheses as the ``side`` operand of ``parent_op``."""
    cp, pp = _prec(child), _PREC[parent_op]
    if cp < pp:
        return True
    if cp > pp:
        return False
    if parent_op == "^":  # right-associative
        return side == "left"
    if parent_op == "neg":
        return False
    # left-associative: a - (b - c), a / (b * c) need them; a + (b + c) is printed with them too
    return side == "right"


def to_text(expr: Expr) -> str:
    """Canonical text: minimal parentheses, single spaces around + and -, shortest numbers."""

    def p(e: Expr) -> str:
        if isinstance(e, Num):
            return format_number(e.value)
        if isinstance(e, Name):
            return e.id
        if isinstance(e, Neg):
            s = p(e.operand)
            return f"-({s})" if _prec(e.operand) < _PREC["neg"] else f"-{s}"
        if isinstance(e, BinOp):
            ls, rs = p(e.left), p(e.right)
            if _wrap_needed(e.left, e.op, "left"):
                ls = f"({ls})"
            if _wrap_needed(e.right, e.op, "right") or (
                e.op != "^" and _prec(e.right) == _PREC["neg"]
            ):
                rs = f"({rs})"
            sep = f" {e.op} " if e.op in "+-" else e.op
            return f"{ls}{sep}{rs}"
        assert isinstance(e, Call)
        return f"{e.func}({', '.join(p(a) for a in e.args)})"

    return p(expr)


def _latex_name(n: str) -> str:
    return r"\mathit{" + n.replace("_", r"\_") + "}"


def to_latex(expr: Expr, *, symbols: Mapping[str, str] | None = None) -> str:
    """LaTeX source; ``symbols`` maps names to LaTeX (default ``\\mathit{name}``)."""
    symbols = symbols or {}

    def p(e: Expr) -> str:
        if isinstance(e, Num):
            s = format_number(e.value)
            if "e" in s:
                m, _, x = s.partition("e")
                return rf"{m} \times 10^{{{int(x)}}}"
            return s
        if isinstance(e, Name):
            return symbols.get(e.id, _latex_name(e.id))
        if isinstance(e, Neg):
            s = p(e.operand)
            return rf"-\left({s}\right)" if _prec(e.operand) < _PREC["neg"] else f"-{s}"
        if isinstance(e, BinOp):
            if e.op == "/":
                return rf"\frac{{{p(e.left)}}}{{{p(e.right)}}}"
            ls, rs = p(e.left), p(e.right)
            if e.op == "^":
                if _prec(e.left) <= _PREC["^"] or isinstance(e.left, Call):
                    ls = rf"\left({ls}\right)"
                return f"{{{ls}}}^{{{rs}}}"
            if _wrap_needed(e.left, e.op, "left"):
                ls = rf"\left({ls}\right)"
            if _wrap_needed(e.right, e.op, "right") or _prec(e.right) == _PREC["neg"]:
                rs = rf"\left({rs}\right)"
            op = r" \cdot " if e.op == "*" else f" {e.op} "
            return f"{ls}{op}{rs}"
        assert isinstance(e, Call)
        args = [p(a) for a in e.args]
        f = e.func
        if f == "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        if f == "abs":
            return rf"\left|{args[0]}\right|"
        if f in ("exp", "log", "tanh", "min", "max"):
            return rf"\{f}\left({', '.join(args)}\right)"
        if f == "sigmoid":
            return rf"\sigma\left({args[0]}\right)"
        return rf"\operatorname{{clip}}\left({', '.join(args)}\right)"

    return p(expr)


def _code_printer(
    expr: Expr,
    rename: Callable[[str], str] | Mapping[str, str] | None,
    *,
    num: Callable[[float], str],
    power: Callable[[str, str, Expr], str],
    funcs: Mapping[str, Callable[[list[str]], str]],
) -> str:
    """Fully parenthesised code in a C-like infix language (safe for every target)."""
    if rename is None:
        ren: Callable[[str], str] = lambda s: s  # noqa: E731
    elif callable(rename):
        ren = rename
    else:
        mapping = dict(rename)
        ren = lambda s: mapping[s]  # noqa: E731

    def p(e: Expr) -> str:
        if isinstance(e, Num):
            s = num(e.value)
            return f"({s})" if e.value < 0 else s
        if isinstance(e, Name):
            return ren(e.id)
        if isinstance(e, Neg):
            return f"(-{p(e.operand)})"
        if isinstance(e, BinOp):
            if e.op == "^":
                return power(p(e.left), p(e.right), e.right)
            return f"({p(e.left)} {e.op} {p(e.right)})"
        assert isinstance(e, Call)
        return funcs[e.func]([p(a) for a in e.args])

    return p(expr)


def _fold(fn: str, args: list[str]) -> str:
    acc = args[0]
    for a in args[1:]:
        acc = f"{fn}({acc}, {a})"
    return acc


def to_fortran(expr: Expr, rename: Callable[[str], str] | Mapping[str, str] | None = None,
               *, kind: str = "r8") -> str:
    """Fortran 90 source of ``expr`` in real(kind); ``rename`` maps names to identifiers."""

    def num(v: float) -> str:
        s = repr(abs(float(v)))
        s = f"{s}_{kind}"
        return f"-{s}" if v < 0 else s

    def power(b: str, x: str, xe: Expr) -> str:
        if isinstance(xe, Num) and float(xe.value).is_integer():
            n = int(xe.value)  # integer power: exact repeated multiplication, like numpy's x**2.0
            return f"({b}**{n})" if n >= 0 else f"({b}**({n}))"
        return f"({b}**{x})"

    one, zero = f"1.0_{kind}", f"0.0_{kind}"
    funcs = {
        "exp": lambda a: f"exp({a[0]})",
        "log": lambda a: f"log({a[0]})",
        "sqrt": lambda a: f"sqrt({a[0]})",
        "tanh": lambda a: f"tanh({a[0]})",
        "abs": lambda a: f"abs({a[0]})",
        "sigmoid": lambda a: f"({one} / ({one} + exp(-{a[0]})))",
        "clip": lambda a: (
            f"min({one}, max({zero}, {a[0]}))" if len(a) == 1 else f"min({a[2]}, max({a[1]}, {a[0]}))"
        ),
        "min": lambda a: f"min({', '.join(a)})",
        "max": lambda a: f"max({', '.join(a)})",
    }
    return _code_printer(expr, rename, num=num, power=power, funcs=funcs)


def to_c(expr: Expr, rename: Callable[[str], str] | Mapping[str, str] | None = None) -> str:
    """C99 (double) source of ``expr`` for the fused kernel, which defines ``ff_exp``,
    ``ff_log``, ``ff_tanh``, ``ff_min`` and ``ff_max`` (see :mod:`fireform.forms.kernel`)."""

    def num(v: float) -> str:
        return repr(float(v))

    def power(b: str, x: str, xe: Expr) -> str:
        if isinstance(xe, Num) and xe.value == 2.0:
            return f"(({b}) * ({b}))"
        return f"pow({b}, {x})"

    funcs = {
        "exp": lambda a: f"ff_exp({a[0]})",
        "log": lambda a: f"ff_log({a[0]})",
        "sqrt": lambda a: f"sqrt({a[0]})",
        "tanh": lambda a: f"ff_tanh({a[0]})",
        "abs": lambda a: f"fabs({a[0]})",
        "sigmoid": lambda a: f"(1.0 / (1.0 + ff_exp(-{a[0]})))",
        "clip": lambda a: (
            f"ff_min(ff_max({a[0]}, 0.0), 1.0)" if len(a) == 1
            else f"ff_min(ff_max({a[0]}, {a[1]}), {a[2]})"
        ),
        "min": lambda a: _fold("ff_min", a),
        "max": lambda a: _fold("ff_max", a),
    }
    return _code_printer(expr, rename, num=num, power=power, funcs=funcs)


def to_numpy(expr: Expr, rename: Callable[[str], str] | Mapping[str, str] | None = None,
             *, np_name: str = "np") -> str:
    """Python/numpy source of ``expr`` (for the generated numpy-only module)."""

    def num(v: float) -> str:
        return repr(float(v))

    def power(b: str, x: str, xe: Expr) -> str:
        return f"{np_name}.power({b}, {x})"

    funcs = {
        "exp": lambda a: f"{np_name}.exp({a[0]})",
        "log": lambda a: f"{np_name}.log({a[0]})",
        "sqrt": lambda a: f"{np_name}.sqrt({a[0]})",
        "tanh": lambda a: f"{np_name}.tanh({a[0]})",
        "abs": lambda a: f"{np_name}.abs({a[0]})",
        "sigmoid": lambda a: f"(1.0 / (1.0 + {np_name}.exp(-{a[0]})))",
        "clip": lambda a: (
            f"{np_name}.minimum({np_name}.maximum({a[0]}, 0.0), 1.0)" if len(a) == 1
            else f"{np_name}.minimum({np_name}.maximum({a[0]}, {a[1]}), {a[2]})"
        ),
        "min": lambda a: _fold(f"{np_name}.minimum", a),
        "max": lambda a: _fold(f"{np_name}.maximum", a),
    }
    return _code_printer(expr, rename, num=num, power=power, funcs=funcs)
