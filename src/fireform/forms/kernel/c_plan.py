"""Rewriting a form's terms before C generation: theta-free input subexpressions hoisted out of
the loops (precomputed per drivers in float64), value ranges of every C name (parameters from
bounds, inputs from the data) so exponentials can run unclamped where their range is proven."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fireform.exceptions import FormError
from fireform.forms import expr as ex
from fireform.forms.form import Form

__all__ = ["Hoisted", "CPlan", "plan_c", "param_index", "scaled", "EXP_SHORT_ERR", "EXP_TOP_BUDGET",
           "EXP2_RANGE"]


EXP2_RANGE = (-1022.0, 1023.0)  # where ff_exp2u is exact without clamping
# Error budget of the month loop's top-level exponentials (the pooled exp and one per sigmoid):
# each enters the product as one relative error (a sigmoid's 1 / (1 + E) even damps E's by
# E / (1 + E) <= 1), so n of them cost at most n x their polynomial's error. The short polynomial
# (EXP_SHORT_ERR, one FMA less) is used while n x EXP_SHORT_ERR <= EXP_TOP_BUDGET, which leaves
# 4e-7 of REL_TOL for float32 output rounding (6e-8), nested exp/log (< 1.3e-8 each) and float64.
# Nested exponentials (1 - exp(-k x), ...) always use the full polynomial: cancellation.
EXP_SHORT_ERR = 1e-7
EXP_TOP_BUDGET = 6e-7
_COSTLY = frozenset({"exp", "log", "sqrt", "tanh", "sigmoid"})


@dataclass(frozen=True)
class Hoisted:
    """An input-only subexpression precomputed once per (form, drivers), in float64, per
    cell-month (only subexpressions holding a dynamic input are hoisted)."""

    name: str  # C name, h_<k>
    expr: ex.Expr  # over C names (v_<input>)


@dataclass(frozen=True)
class CPlan:
    """What the C generator needs beyond the form: rewritten term expressions over C names
    (p_<j> parameters, v_<input> inputs, h_<k> hoisted arrays), the hoisted subexpressions,
    and value ranges of C names (parameters from bounds, inputs and hoisted from the data)."""

    exprs: dict[str, ex.Expr]
    hoisted: tuple[Hoisted, ...]
    ranges: dict[str, tuple[float, float]]
    values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # hoisted arrays


def _subst(e: ex.Expr, m: Mapping[str, ex.Expr]) -> ex.Expr:
    if isinstance(e, ex.Name):
        return m.get(e.id, e)
    if isinstance(e, ex.Neg):
        return ex.Neg(_subst(e.operand, m))
    if isinstance(e, ex.BinOp):
        return ex.BinOp(e.op, _subst(e.left, m), _subst(e.right, m))
    if isinstance(e, ex.Call):
        return ex.Call(e.func, tuple(_subst(a, m) for a in e.args))
    return e


def _costly(e: ex.Expr) -> bool:
    if isinstance(e, ex.Call):
        return e.func in _COSTLY or any(_costly(a) for a in e.args)
    if isinstance(e, ex.BinOp):
        return e.op == "^" or _costly(e.left) or _costly(e.right)
    if isinstance(e, ex.Neg):
        return _costly(e.operand)
    return False


def param_index(form: Form) -> dict[tuple[str, str], int]:
    index, k = {}, 1
    for t in form.terms:
        for p in t.params:
            index[(t.id, p.name)] = k
            k += 1
    return index


def plan_c(form: Form, static: dict[str, bool], arrays: dict[str, np.ndarray] | None = None,
           *, data_cache: dict | None = None) -> CPlan:
    """Rename every term to C names and, when the data are given, hoist input-only costly
    subexpressions (``log(max(agb, 0.01))`` of the fuel hump, ...) out of the kernel: they do
    not depend on theta, so they are computed once in float64 by numpy and read as arrays.
    ``log(a / b)`` with ``a`` input-only and ``b`` a positive parameter expression is split to
    ``log(a) - log(b)`` first so that ``log(a)`` can be hoisted. A hoisted value must be finite
    everywhere, otherwise the subexpression stays in the kernel. ``data_cache`` (one dict per
    drivers content) keeps input ranges and hoisted arrays across the forms of one study."""
    index = param_index(form)
    b = form.bounds
    ranges: dict[str, tuple[float, float]] = {"p_scale": (float(b.lo[0]), float(b.hi[0]))}
    for j in index.values():
        ranges[f"p_{j}"] = (float(b.lo[j]), float(b.hi[j]))
    cstatic = {f"v_{n}": bool(static[n]) for n in form.inputs}
    env: dict[str, np.ndarray] = {}
    cache = data_cache if data_cache is not None else {}
    if arrays is not None:
        for n in form.inputs:
            a = arrays[n]
            env[f"v_{n}"] = a
            if ("range", n) not in cache:
                with np.errstate(all="ignore"):
                    lo, hi = float(np.min(a)), float(np.max(a))
                ok = np.isfinite([lo, hi]).all()
                cache[("range", n)] = (lo, hi) if ok else (-math.inf, math.inf)
            ranges[f"v_{n}"] = cache[("range", n)]
    hoisted: dict[ex.Expr, Hoisted] = {}

    def inputs_only(e: ex.Expr) -> bool:
        ns = ex.names(e)
        return bool(ns) and all(n.startswith("v_") for n in ns)

    def params_only(e: ex.Expr) -> bool:
        return all(n.startswith("p_") for n in ex.names(e))

    def hoist(e: ex.Expr) -> ex.Expr | None:
        """A Name for the precomputed value of input-only ``e``, or None if not hoistable."""
        if arrays is None or not inputs_only(e) or not _costly(e):
            return None
        if all(cstatic[n] for n in ex.names(e)):
            return None  # per cell already: nothing to gain
        if e in hoisted:
            return ex.Name(hoisted[e].name)
        key = ("hoist", ex.to_text(e))
        val = cache.get(key)
        if val is None:
            with np.errstate(all="ignore"):
                v = ex.evaluate(e, {n: env[n].astype(np.float64) for n in ex.names(e)})
            v = np.ascontiguousarray(np.broadcast_to(v, next(env[n] for n in ex.names(e)
                                                            if not cstatic[n]).shape), dtype=np.float64)
            if not np.isfinite(v).all():
                return None
            cache[key] = val = v
        h = Hoisted(f"h_{len(hoisted)}", e)
        hoisted[e] = h
        env[h.name] = val
        ranges[h.name] = (float(val.min()), float(val.max()))
        return ex.Name(h.name)

    def walk(e: ex.Expr) -> ex.Expr:
        h = hoist(e)
        if h is not None:
            return h
        if isinstance(e, ex.Call) and e.func == "log" and isinstance(e.args[0], ex.BinOp) \
                and e.args[0].op in "*/":
            a, c = e.args[0].left, e.args[0].right
            for x, y, sign in ((a, c, 1), (c, a, -1 if e.args[0].op == "/" else 1)):
                if inputs_only(x) and params_only(y) and ex.interval(y, ranges)[0] > 0:
                    hx = hoist(ex.Call("log", (x,)))
                    if hx is not None:
                        op = "+" if e.args[0].op == "*" else "-"
                        ly = ex.Call("log", (y,))
                        return ex.BinOp(op, hx, ly) if sign == 1 else ex.BinOp(op, ly, hx)
        if isinstance(e, ex.Neg):
            return ex.Neg(walk(e.operand))
        if isinstance(e, ex.BinOp):
            return ex.BinOp(e.op, walk(e.left), walk(e.right))
        if isinstance(e, ex.Call):
            return ex.Call(e.func, tuple(walk(x) for x in e.args))
        return e

    exprs = {}
    for t in form.terms:
        ren = {n: ex.Name(f"v_{n}") for n in t.inputs}
        ren.update({p.name: ex.Name(f"p_{index[(t.id, p.name)]}") for p in t.params})
        missing = ex.names(t.expr) - set(ren)
        if missing:
            raise FormError(f"term {t.id!r}: equation uses undeclared names {sorted(missing)}")
        e = _subst(t.expr, ren)
        exprs[t.id] = e if all(static[n] for n in t.inputs) else walk(e)
    return CPlan(exprs, tuple(hoisted.values()), ranges,
                 {h.name: env[h.name] for h in hoisted.values()})


def scaled(e: ex.Expr, c: float) -> ex.Expr:
    """``c * e`` with ``c`` pushed into a loop-invariant factor where one exists (so that
    exp(x) = 2^(x log2 e) costs no extra multiply per cell-month)."""

    def inv(x: ex.Expr) -> bool:
        return all(n.startswith("p_") for n in ex.names(x))

    if isinstance(e, ex.Num):
        return ex.Num(e.value * c)
    if isinstance(e, ex.Neg):
        return scaled(e.operand, -c)
    if isinstance(e, ex.BinOp):
        if e.op in "+-":
            return ex.BinOp(e.op, scaled(e.left, c), scaled(e.right, c))
        if e.op == "*":
            a, x = (e.left, e.right) if inv(e.left) or not inv(e.right) else (e.right, e.left)
            if inv(a) and isinstance(x, ex.BinOp) and x.op in "+-" and (inv(x.left) or inv(x.right)):
                # k (x - x0) -> (c k) x - (c k) x0: one FMA per cell-month instead of a
                # subtraction and a multiply; the cancellation costs ~1e-16 |k x| absolute
                return ex.BinOp(x.op, scaled(ex.BinOp("*", a, x.left), c),
                                scaled(ex.BinOp("*", a, x.right), c))
            return ex.BinOp("*", scaled(a, c), x)
        if e.op == "/" and inv(e.right):
            return ex.BinOp("*", e.left, ex.BinOp("/", ex.Num(c), e.right))
        if e.op == "/":
            return ex.BinOp("/", scaled(e.left, c), e.right)
    return ex.BinOp("*", ex.Num(c), e)


