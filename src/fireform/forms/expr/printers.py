"""Printers of expressions: canonical text, LaTeX, Fortran 90, C99 and numpy source."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fireform.forms.expr.nodes import BinOp, Call, Expr, Name, Neg, Num

__all__ = ["format_number", "to_text", "to_latex", "to_fortran", "to_c", "to_numpy"]

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

