"""What an expression means: its names, its value (numpy or jax), its interval over parameter
bounds, and the validation rules (names, bounds, the exponent rule)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from fireform.exceptions import ExpressionError
from fireform.forms.expr.nodes import FUNCTIONS, BinOp, Call, Expr, Name, Neg, Num
from fireform.forms.expr.printers import to_text

__all__ = ["names", "evaluate", "interval", "validate", "MAX_EXPONENT", "LOG_FLOOR"]

MAX_EXPONENT = 10.0
LOG_FLOOR = 1e-300  # log's argument floor, shared with the C kernel's ff_log

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
        if f == "log":
            # as the C kernel's ff_log: log(x <= 1e-300) = log(1e-300) = -690.8, so exp() of it is
            # ~0 in both (numpy's -inf would make 0 * inf = NaN where the kernel gives 0)
            return xp.log(xp.maximum(args[0], LOG_FLOOR))
        if f in ("exp", "sqrt", "tanh", "abs"):
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
def interval(e: Expr, bounds: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """Conservative interval of ``e`` over parameter bounds; (-inf, inf) when unknown."""
    inf = math.inf
    if isinstance(e, Num):
        return (e.value, e.value)
    if isinstance(e, Name):
        return bounds.get(e.id, (-inf, inf))
    if isinstance(e, Neg):
        lo, hi = interval(e.operand, bounds)
        return (-hi, -lo)
    if isinstance(e, BinOp):
        a, b = interval(e.left, bounds), interval(e.right, bounds)
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
    iv = [interval(a, bounds) for a in e.args]
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
            clo, chi = ((0.0, 0.0), (1.0, 1.0)) if len(iv) == 1 else (iv[1], iv[2])
            return (max(min(iv[0][0], chi[0]), clo[0]), min(max(iv[0][1], clo[1]), chi[1]))
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
                lo, hi = interval(e.right, bounds)
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

