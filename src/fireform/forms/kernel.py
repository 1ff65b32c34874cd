"""Fused evaluators of a form: theta -> burned fraction, float32 (n_cells, n_months).

``compile_kernel(form, drivers)`` returns a :class:`Kernel`; ``kernel(theta)`` evaluates it.

Backends
--------
``"c"`` (the default where a C compiler exists): C99 generated from the expression ASTs of the
terms (the mechanisms' ``equation`` strings and new terms' expressions), compiled with
``gcc -O3 -ffast-math -march=native`` and loaded with ctypes. The loop is cells outer, months
inner: terms whose inputs are all static (population, cropland, ...) are computed once per
cell in the outer loop; the inner loop over months reads float32 inputs, computes in float64
and is vectorised by gcc (AVX2: 4 doubles per instruction). Before printing, :func:`plan_c`
rewrites each term: input-only costly subexpressions (``log(max(agb, 0.01))`` of the fuel hump,
after splitting ``log(a / b)`` into ``log(a) - log(b)``) are precomputed once per drivers in
float64 (they do not depend on theta); every top-level exponential and sigmoid of the month loop
is pooled (one ``exp`` for all ``exp`` factors, one shared division) and evaluated as an inline
polynomial ``2^x`` whose ``log2 e`` factor is folded into loop-invariant parameter products;
where parameter bounds and the data's range prove the exponent within [-1022, 1023] the
exponential is unclamped. The object holds two functions: ``ff_kernel`` (range-proven, used
for theta within bounds) and ``ff_kernel_safe`` (clamped everywhere, used otherwise). The
object is compiled with ``-ffast-math`` but linked without it, so ``crtfastmath.o`` is not
linked and loading the library does not switch the whole Python process to flush-to-zero.
Shared objects are cached on disk by source hash (``$FIREFORM_CACHE`` or
``~/.cache/fireform/kernels``).

``"jax"``: the mechanisms' own functions traced with ``xp=jax.numpy`` under ``jax.jit`` (XLA),
inputs placed on the device once at compile time, theta passed as an array (no recompilation
per trial), float64 arithmetic via ``jax.enable_x64``. Also a route to GPUs.

``"numpy"``: :meth:`Form.evaluate` cast to float32 (the reference; slow).

Why C by default (numbers from ``benchmarks/bench_kernel.py``, see docs/kernel.md): on one core
the generated C is ~4x faster than XLA in float64, because (1) static terms and theta-free
subexpressions are hoisted explicitly, whereas XLA fuses broadcasts and may recompute them per
element, (2) the inline polynomial ``exp`` is cheaper than XLA's CPU ``exp`` in float64 and
divisions are pooled, and (3) there is no dispatch overhead per call.

Precision and the tolerance rule
--------------------------------
Both fast backends compute in float64 from the float32 inputs and round once to float32 at the
end, so they agree with the float64 reference ``Form.evaluate`` to float32 rounding (~6e-8
relative) plus float64 error. The rule (:func:`agreement`): ``|k - ref| <= 1e-6 |ref|`` wherever
``|ref| >= 1e-9 scale``; below that ("tiny": a billionth of the largest burned fraction the
form can produce, since every term is in [0, 1]) only ``|k - ref| <= 1e-9 scale`` is checked,
because there both sides are dominated by float64 cancellation (``1 - tanh(18)`` is 0 or
2e-16 depending on the tanh) and by ``exp`` underflow (the clamped kernel floors at 2^-1022).
Computing in float32 would not meet 1e-6: ``sigmoid(k (tas - t0))`` loses ~1.5e-5 absolute in
``tas - t0`` at 300 K.

Caching
-------
Kernels are cached per (form hash, drivers fingerprint, backend, generated-source hash) in the
process; the drivers fingerprint is computed once per Drivers object; input ranges and hoisted
arrays once per drivers content (the last 4 kept), shared by every form of a study.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import platform
import shutil
import subprocess
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fireform.exceptions import FormError
from fireform.forms import expr as ex
from fireform.forms.form import Form, _get, _shape

__all__ = [
    "Kernel",
    "Agreement",
    "agreement",
    "compile_kernel",
    "generate_c",
    "clear_cache",
    "BACKENDS",
    "C_FLAGS",
    "REL_TOL",
    "TINY",
]

BACKENDS = ("auto", "c", "jax", "numpy")
C_FLAGS = (
    "-O3", "-ffast-math", "-march=native", "-mprefer-vector-width=256", "-fPIC",
    "-fno-semantic-interposition",
)

REL_TOL = 1e-6
TINY = 1e-9  # values below TINY * scale are compared absolutely (see the tolerance rule)

_CACHE: dict[tuple, "Kernel"] = {}


@dataclass(frozen=True)
class Agreement:
    """How a kernel's output compares with the reference under the tolerance rule."""

    max_rel: float  # over values |ref| >= TINY * scale
    max_abs_tiny: float  # over the tiny values, in units of scale
    n_compared: int
    n_tiny: int

    @property
    def ok(self) -> bool:
        return self.max_rel <= REL_TOL and self.max_abs_tiny <= TINY


def agreement(out: np.ndarray, ref: np.ndarray, *, scale: float) -> Agreement:
    """Compare a kernel output with ``Form.evaluate`` (see the module docstring's rule)."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        raise FormError(f"shapes differ: kernel {out.shape}, reference {ref.shape}")
    if not (np.isfinite(out).all() and np.isfinite(ref).all()):
        bad = int((~np.isfinite(out)).sum() + (~np.isfinite(ref)).sum())
        return Agreement(np.inf, np.inf, int(out.size), bad)
    floor = TINY * abs(scale)
    big = np.abs(ref) >= floor
    diff = np.abs(out - ref)
    rel = float(np.max(diff[big] / np.abs(ref[big]))) if big.any() else 0.0
    tiny = float(np.max(diff[~big]) / abs(scale)) if (~big).any() and scale else 0.0
    return Agreement(rel, tiny, int(big.sum()), int((~big).sum()))
_FINGERPRINTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class Kernel:
    """A compiled evaluator. ``kernel(theta)`` -> float32 (n_cells, n_months)."""

    form: Form
    backend: str
    n_cells: int
    n_months: int
    static_terms: tuple[str, ...]  # terms computed once per cell
    _run: Callable[[np.ndarray, np.ndarray], None] = field(repr=False)

    def __call__(self, theta, *, out: np.ndarray | None = None) -> np.ndarray:
        vec = self.form.theta_vector(theta)
        if out is None:
            out = np.empty((self.n_cells, self.n_months), dtype=np.float32)
        elif out.shape != (self.n_cells, self.n_months) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise FormError(
                f"out must be C-contiguous float32 {(self.n_cells, self.n_months)}, "
                f"got {out.dtype} {out.shape}"
            )
        self._run(np.ascontiguousarray(vec, dtype=np.float64), out)
        return out


def clear_cache() -> None:
    _CACHE.clear()
    _DATA.clear()


_DATA: "OrderedDict[str, dict]" = OrderedDict()  # drivers fingerprint -> ranges, hoisted arrays


def _data_cache(fp: str, *, keep: int = 4) -> dict:
    d = _DATA.pop(fp, None) or {}
    _DATA[fp] = d  # most recent last
    while len(_DATA) > keep:
        _DATA.popitem(last=False)
    return d


def _fingerprint(drivers) -> str:
    if not hasattr(drivers, "fingerprint"):
        # a plain mapping of arrays: hash the arrays themselves
        h = hashlib.sha256()
        for k in sorted(drivers):
            a = np.ascontiguousarray(drivers[k])
            h.update(k.encode() + str(a.shape).encode() + str(a.dtype).encode() + a.tobytes())
        return h.hexdigest()[:16]
    try:
        fp = _FINGERPRINTS.get(drivers)
    except TypeError:
        fp = None
    if fp is None:
        fp = drivers.fingerprint()
        try:
            _FINGERPRINTS[drivers] = fp
        except TypeError:
            pass
    return fp


def _packed_inputs(form: Form, drivers) -> tuple[dict[str, np.ndarray], int, int]:
    arrays = {n: np.ascontiguousarray(_get(drivers, n), dtype=np.float32) for n in form.inputs}
    n_cells, n_months = _shape(drivers, arrays)
    for n, a in arrays.items():
        if a.ndim != 2 or a.shape[0] != n_cells or a.shape[1] not in (1, n_months):
            raise FormError(
                f"input {n!r} has shape {a.shape}; expected ({n_cells}, {n_months}) or ({n_cells}, 1)"
            )
    return arrays, n_cells, n_months


def _static_terms(form: Form, arrays: dict[str, np.ndarray]) -> tuple[str, ...]:
    return tuple(t.id for t in form.terms if all(arrays[n].shape[1] == 1 for n in t.inputs))


# -- C backend -------------------------------------------------------------------------------
# ff_exp2u: 2^x = 2^n 2^f, n = rint(x), |f| <= 1/2, 2^f = 1 + f q(f) with q a near-minimax
# (Chebyshev) degree-5 polynomial: relative error < 5.2e-9 in 2^f (10x below float32 output
# rounding) and < 1.3e-8 in 2^f - 1, so 1 - exp(-x) keeps its accuracy for small x (the exact
# leading 1 matters there: a plain minimax fit errs by 2.6e-9 at f = 0); inline and branch-free so gcc
# vectorises it (4 doubles per AVX2 instruction). 2^n is built in the exponent bits: n + 1.5*2^52
# + 1023 holds n + 1023 in its low mantissa bits, shifted left by 52 (no float->int64 conversion,
# which AVX2 lacks; the rint keeps -ffast-math from folding "x + shift - shift" back to x).
# Valid for x in [-1022, 1023] only: callers either prove that from parameter bounds and the data's
# range (see _plan_c) or use the clamped ff_exp2c. exp(x) = 2^(x log2 e); the generator folds the
# log2 e into loop-invariant parameter products so the month loop pays no extra multiply.
# ff_tanh: tanh via exp, odd Taylor series below |x| < 0.01 to keep relative accuracy near 0.
# ff_log: exponent and mantissa by integer bit operations (no float<->int64 conversion, which
# AVX2 lacks), then the atanh series to z^15 (relative error < 1e-12).
_C_PRELUDE = r"""#include <math.h>
#include <stdint.h>
#include <string.h>
static inline double ff_min(double a, double b) { return a < b ? a : b; }
static inline double ff_max(double a, double b) { return a > b ? a : b; }
static inline double ff_pow2i(double n) {
  /* 2^n for integer n in [-1022, 1023] from exponent bits: n + 1.5 * 2^52 + 1023 holds n + 1023
     in its low mantissa bits */
  double t = n + 6755399441056767.0;
  int64_t b;
  memcpy(&b, &t, 8);
  b <<= 52;
  double s;
  memcpy(&s, &b, 8);
  return s;
}
static inline double ff_exp2u(double x) {
  double n = __builtin_rint(x);
  double f = x - n;
  return (1.0 + f * (0.6931471880293425 + f * (0.2402265092234272 + f * (0.055503571042530925
          + f * (0.009618056669890468 + f * (0.001339086735134046 + f * 0.00015461447461187085))))))
         * ff_pow2i(n);
}
static inline double ff_exp2su(double x) {
  /* the short form: q of degree 4, relative error < 9.2e-8 (budgeted, see EXP_SHORT_ERR) */
  double n = __builtin_rint(x);
  double f = x - n;
  return (1.0 + f * (0.6931469776645545 + f * (0.24022242049121323 + f * (0.055507336632230085
          + f * (0.009671514304712516 + f * 0.0013264749701262723))))) * ff_pow2i(n);
}
static inline double ff_exp2c(double x) {
  /* 2^-1022 (2.2e-308) stands for 0 and 2^1023 for overflow (see the tolerance rule) */
  return ff_exp2u(x < -1022.0 ? -1022.0 : (x > 1023.0 ? 1023.0 : x));
}
static inline double ff_exp2sc(double x) {
  return ff_exp2su(x < -1022.0 ? -1022.0 : (x > 1023.0 ? 1023.0 : x));
}
static inline double ff_exp(double x) { return ff_exp2c(x * 1.4426950408889634); }
static inline double ff_log(double x) {
  /* x = m 2^e, m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(z), z = (m - 1)/(m + 1), |z| < 0.172 */
  const double two52 = 0x1p52;
  int64_t b, tb;
  x = x > 1e-300 ? x : 1e-300;  /* log(x <= 0) -> log(1e-300) = -690.8: exp() of it is ~0 */
  memcpy(&b, &x, 8);
  /* e = exponent of x / sqrt(1/2), by a logical shift of a biased difference (AVX2 has no
     64-bit arithmetic shift); the bias 1000 keeps it positive for x in [1e-300, 1e308] */
  uint64_t k = (uint64_t)(b - 0x3fe6a09e667f3bcdLL) + ((uint64_t)1000 << 52);
  int64_t eb = (int64_t)(k >> 52) - 1000;
  int64_t mb = b - (int64_t)((uint64_t)eb << 52);
  double m;
  memcpy(&m, &mb, 8);
  tb = (eb + 1024) | 0x4330000000000000LL;  /* e + 1024 < 2^52: exact as the mantissa of 2^52 */
  double e;
  memcpy(&e, &tb, 8);
  e = e - two52 - 1024.0;
  double z = (m - 1.0) / (m + 1.0);
  double z2 = z * z;
  double q = 2.0 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11
             + z2 * (2.0 / 13 + z2 * (2.0 / 15)))))));
  return e * 0.6931471805599453 + z * q;
}
static inline double ff_tanh(double x) {
  double a = fabs(x);
  double big = 1.0 - 2.0 / (ff_exp(2.0 * a) + 1.0);
  double x2 = a * a;
  double small = a * (1.0 - x2 * (1.0 / 3 - x2 * (2.0 / 15 - x2 * (17.0 / 315))));
  double m = a < 0.01 ? small : big;
  return x < 0 ? -m : m;
}
"""

LOG2E = 1.4426950408889634
_EXP2_RANGE = (-1022.0, 1023.0)  # where ff_exp2u is exact without clamping
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


def _subst(e: ex.Expr, m: dict[str, ex.Expr]) -> ex.Expr:
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


def _param_index(form: Form) -> dict[tuple[str, str], int]:
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
    index = _param_index(form)
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
                if inputs_only(x) and params_only(y) and ex._interval(y, ranges)[0] > 0:
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


def _scaled(e: ex.Expr, c: float) -> ex.Expr:
    """``c * e`` with ``c`` pushed into a loop-invariant factor where one exists (so that
    exp(x) = 2^(x log2 e) costs no extra multiply per cell-month)."""

    def inv(x: ex.Expr) -> bool:
        return all(n.startswith("p_") for n in ex.names(x))

    if isinstance(e, ex.Num):
        return ex.Num(e.value * c)
    if isinstance(e, ex.Neg):
        return _scaled(e.operand, -c)
    if isinstance(e, ex.BinOp):
        if e.op in "+-":
            return ex.BinOp(e.op, _scaled(e.left, c), _scaled(e.right, c))
        if e.op == "*":
            a, x = (e.left, e.right) if inv(e.left) or not inv(e.right) else (e.right, e.left)
            if inv(a) and isinstance(x, ex.BinOp) and x.op in "+-" and (inv(x.left) or inv(x.right)):
                # k (x - x0) -> (c k) x - (c k) x0: one FMA per cell-month instead of a
                # subtraction and a multiply; the cancellation costs ~1e-16 |k x| absolute
                return ex.BinOp(x.op, _scaled(ex.BinOp("*", a, x.left), c),
                                _scaled(ex.BinOp("*", a, x.right), c))
            return ex.BinOp("*", _scaled(a, c), x)
        if e.op == "/" and inv(e.right):
            return ex.BinOp("*", e.left, ex.BinOp("/", ex.Num(c), e.right))
        if e.op == "/":
            return ex.BinOp("/", _scaled(e.left, c), e.right)
    return ex.BinOp("*", ex.Num(c), e)


def generate_c(form: Form, static: dict[str, bool], *, plan: CPlan | None = None) -> str:
    """C99 source of two functions with the signature ``void f(const double *theta,
    const void *const *inputs, long n_cells, long n_months, float *out)``: ``ff_kernel``, whose
    exponentials are unclamped where parameter bounds and the data's range prove the argument
    in range (valid for theta within bounds), and ``ff_kernel_safe``, clamped everywhere.
    ``inputs``: float32 arrays in ``form.inputs`` order (static inputs of length n_cells,
    dynamic ones n_cells x n_months, row-major), then float64 hoisted arrays (``plan``)."""
    plan = plan or plan_c(form, static)
    index = _param_index(form)
    inputs = list(form.inputs)
    head = [_C_PRELUDE, f"/* fireform form hash {form.hash} */"]
    body = []
    for j, n in enumerate(inputs):
        body.append(f"  const float *restrict in_{n} = (const float *) inputs[{j}];")
    for j, h in enumerate(plan.hoisted, start=len(inputs)):
        body.append(f"  const double *restrict in_{h.name} = (const double *) inputs[{j}]; "
                    f"/* {ex.to_text(h.expr)} */")
    for (tid, pname), j in index.items():
        body.append(f"  const double p_{j} = theta[{j}]; /* {tid}.{pname} */")
    body.append("  const double p_scale = theta[0];")

    stat_terms = [t for t in form.terms if all(static[n] for n in t.inputs)]
    dyn_terms = [t for t in form.terms if t not in stat_terms]
    dyn_names = [f"v_{n}" for n in inputs if not static[n]] + [h.name for h in plan.hoisted]
    body.append("  for (long i = 0; i < n_cells; i++) {")
    for n in inputs:
        if static[n]:
            body.append(f"    const double v_{n} = (double) in_{n}[i];")
    body.append("    double s = p_scale;")
    for t in stat_terms:
        body.append(f"    s *= {ex.to_c(plan.exprs[t.id])}; /* {t.id} */")
    for v in dyn_names:
        src = f"in_{v[2:]}" if v.startswith("v_") else f"in_{v}"
        typ = "float" if v.startswith("v_") else "double"
        body.append(f"    const {typ} *restrict r_{v} = {src} + i * n_months;")
    body.append("    float *restrict o = out + i * n_months;")
    body.append("    for (long j = 0; j < n_months; j++) {")
    for v in dyn_names:
        body.append(f"      const double {v} = (double) r_{v}[j];")
    nums, dens, exps = _merged_product([plan.exprs[t.id] for t in dyn_terms])
    body.append("      o[j] = (float) (VALUE);")
    body += ["    }", "  }", "}", ""]

    n_top = len(dens[1]) + (1 if exps else 0)
    short = n_top * EXP_SHORT_ERR <= EXP_TOP_BUDGET

    def exp2(arg: ex.Expr, fast: bool, lift) -> str:
        a = _scaled(arg, LOG2E)
        lo, hi = ex._interval(a, plan.ranges)
        ok = fast and _EXP2_RANGE[0] <= lo and hi <= _EXP2_RANGE[1]
        return f"ff_exp2{'s' if short else ''}{'u' if ok else 'c'}({ex.to_c(lift(a))})"

    out = list(head)
    for name, fast in (("ff_kernel", True), ("ff_kernel_safe", False)):
        lifted: dict[ex.Expr, str] = {}
        lift = functools.partial(_lift_invariants, lifted=lifted)
        value = " * ".join(["s", *(ex.to_c(lift(x)) for x in nums)])
        if exps:
            total = exps[0]
            for x in exps[1:]:
                total = ex.BinOp("+", total, x)
            value += f" * {exp2(total, fast, lift)}"
        all_dens = [*(f"(1.0 + {exp2(ex.Neg(x), fast, lift)})" for x in dens[1]),
                    *(ex.to_c(lift(x)) for x in dens[0])]
        if all_dens:
            value = f"({value}) / ({' * '.join(all_dens)})"
        out += [f"void {name}(const double *restrict theta, const void *const *inputs,",
                "               long n_cells, long n_months, float *restrict out) {"]
        decl = body.index("  for (long i = 0; i < n_cells; i++) {")
        out += body[:decl]
        out += [f"  const double {q} = {ex.to_c(e)};" for e, q in lifted.items()]
        out += [ln.replace("VALUE", value) for ln in body[decl:]]
    return "\n".join(out)


def _invariant(e: ex.Expr) -> bool:
    return all(n.startswith("p_") for n in ex.names(e))


def _factors(e: ex.Expr) -> list[ex.Expr]:
    """Multiplicative factors of ``e``: through ``*``, negation (a factor -1), division by a
    parameter expression (a factor 1 / b) and squares of products ((a b)^2 -> a^2 b^2).
    Reassociating a product costs ~1e-16 relative per factor; nothing cancels."""
    if isinstance(e, ex.BinOp) and e.op == "*":
        return _factors(e.left) + _factors(e.right)
    if isinstance(e, ex.Neg):
        return [ex.Num(-1.0), *_factors(e.operand)]
    if isinstance(e, ex.BinOp) and e.op == "/" and _invariant(e.right):
        return [*_factors(e.left), ex.BinOp("/", ex.Num(1.0), e.right)]
    if isinstance(e, ex.BinOp) and e.op == "^" and isinstance(e.right, ex.Num) \
            and e.right.value == 2.0:
        inner = _factors(e.left)
        if len(inner) > 1:
            return [ex.BinOp("^", f, e.right) for f in inner]
    return [e]


def _lift_invariants(e: ex.Expr, *, lifted: dict[ex.Expr, str]) -> ex.Expr:
    """Replace parameter-only subexpressions by named constants ``q_<k>`` declared before the
    loops: computed once per call, and gcc cannot "undistribute" ``a x - a x0`` back into
    ``a (x - x0)`` (which would cost a multiply more per cell-month)."""
    if isinstance(e, (ex.Num, ex.Name)):
        return e
    if _invariant(e):
        if e not in lifted:
            lifted[e] = f"q_{len(lifted)}"
        return ex.Name(lifted[e])
    fs = _factors(e)
    if len(fs) > 1:
        # a product: its parameter-only factors become one constant, e.g. the soil-wetness
        # limiter's -pi (sm / sm_scale)^2 -> sm * sm * q (two multiplies instead of four)
        inv = [f for f in fs if _invariant(f)]
        var = [_lift_invariants(f, lifted=lifted) for f in fs if not _invariant(f)]
        if inv:
            c = inv[0]
            for f in inv[1:]:
                c = ex.BinOp("*", c, f)
            var.insert(0, _lift_invariants(c, lifted=lifted))
        out = var[0]
        for f in var[1:]:
            out = ex.BinOp("*", out, f)
        return out
    if isinstance(e, ex.Neg):
        return ex.Neg(_lift_invariants(e.operand, lifted=lifted))
    if isinstance(e, ex.BinOp) and e.op == "/" and all(n.startswith("p_") for n in ex.names(e.right)):
        # x / b -> x * (1 / b): a multiply per cell-month instead of a division
        return ex.BinOp("*", _lift_invariants(e.left, lifted=lifted),
                        _lift_invariants(ex.BinOp("/", ex.Num(1.0), e.right), lifted=lifted))
    if isinstance(e, ex.BinOp):
        return ex.BinOp(e.op, _lift_invariants(e.left, lifted=lifted),
                        _lift_invariants(e.right, lifted=lifted))
    if isinstance(e, ex.Call):
        return ex.Call(e.func, tuple(_lift_invariants(a, lifted=lifted) for a in e.args))
    return e


def _merged_product(exprs: list[ex.Expr]) -> tuple[list[ex.Expr], tuple[list[ex.Expr], list[ex.Expr]], list[ex.Expr]]:
    """The month-loop product as numerator factors, denominators (factors and sigmoid
    arguments) and exponents.

    Top-level factors of every dynamic term are pooled: ``exp(a) exp(b) -> exp(a + b)`` and
    ``sigmoid(x) -> 1 / (1 + exp(-x))``, ``a / b`` put b in one shared denominator, so an
    8-term form pays one division and fewer exps per cell-month. (Exact in real arithmetic;
    float64 rounding differs by ~1e-16.)
    """
    nums: list[ex.Expr] = []
    dens: list[ex.Expr] = []
    sig: list[ex.Expr] = []
    exps: list[ex.Expr] = []

    def factors(e: ex.Expr) -> list[ex.Expr]:
        if isinstance(e, ex.BinOp) and e.op == "*":
            return factors(e.left) + factors(e.right)
        return [e]

    def varying(e: ex.Expr) -> bool:
        return any(not n.startswith("p_") for n in ex.names(e))

    def add(e: ex.Expr) -> None:
        if isinstance(e, ex.Call) and e.func == "exp":
            exps.append(e.args[0])
        elif isinstance(e, ex.Call) and e.func == "sigmoid":
            sig.append(e.args[0])
        elif isinstance(e, ex.BinOp) and e.op == "/" and varying(e.right):
            for f in factors(e.left):
                add(f)
            dens.append(e.right)
        else:
            nums.append(e)

    for e in exprs:
        for f in factors(e):
            add(f)
    return nums, (dens, sig), exps


def _cache_dir() -> Path:
    root = os.environ.get("FIREFORM_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "fireform"
    d = base / "kernels"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")


def _build_so(src: str) -> Path:
    cc = _compiler()
    if cc is None:
        raise FormError("the C kernel backend needs a C compiler (gcc); none found on PATH")
    key = hashlib.sha256(
        "\0".join([src, cc, *C_FLAGS, platform.machine(), platform.node()]).encode()
    ).hexdigest()[:20]
    so = _cache_dir() / f"ff_{key}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(prefix="ffk_") as tmp:
        c, o, lib = Path(tmp, "k.c"), Path(tmp, "k.o"), Path(tmp, "k.so")
        c.write_text(src)
        # compile with fast-math, link without it (no crtfastmath.o -> no process-wide FTZ)
        for cmd in (
            [cc, *C_FLAGS, "-c", str(c), "-o", str(o)],
            [cc, "-shared", str(o), "-o", str(lib), "-lm"],
        ):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise FormError(f"kernel compilation failed ({' '.join(cmd)}):\n{r.stderr[-2000:]}")
        tmp_target = so.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(lib, tmp_target)
        os.replace(tmp_target, so)  # atomic: concurrent builders write the same bytes
    return so


def _c_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int,
              plan: CPlan, src: str):
    lib = ctypes.CDLL(str(_build_so(src)))
    fns = []
    for name in ("ff_kernel", "ff_kernel_safe"):
        fn = getattr(lib, name)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_long,
                       ctypes.c_void_p]
        fns.append(fn)
    fast, safe = fns
    keep = [arrays[n] for n in form.inputs] + [plan.values[h.name] for h in plan.hoisted]
    ptrs = (ctypes.c_void_p * max(1, len(keep)))(*[a.ctypes.data for a in keep])
    b = form.bounds
    lo, hi = b.lo, b.hi

    def run(theta: np.ndarray, out: np.ndarray) -> None:
        # ff_kernel's unclamped exponentials are proven in range for theta within bounds only
        fn = fast if bool(np.all(theta >= lo) & np.all(theta <= hi)) else safe
        fn(theta.ctypes.data, ctypes.addressof(ptrs), n_cells, n_months, out.ctypes.data)

    run._keep = (lib, keep, ptrs)  # keep the library and input buffers alive with the kernel
    return run


# -- jax backend -----------------------------------------------------------------------------
def _jax_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int):
    import jax
    import jax.numpy as jnp

    terms = form.terms
    layout = form.param_names
    slices = {}
    for t in terms:
        slices[t.id] = [(p.name, layout.index(f"{t.id}.{p.name}")) for p in t.params]

    with jax.enable_x64(True):
        dev = {n: jax.device_put(a) for n, a in arrays.items()}

        def f(theta, dev):
            xs = {n: a.astype(jnp.float64) for n, a in dev.items()}
            acc = jnp.full((n_cells, 1), theta[0], dtype=jnp.float64)
            dyn = None
            for t in terms:
                vals = {name: theta[i] for name, i in slices[t.id]}
                v = t.compute(xs, vals, xp=jnp)
                v = jnp.asarray(v, dtype=jnp.float64)
                if v.ndim == 2 and v.shape[1] == 1:
                    acc = acc * v  # static term: per cell
                else:
                    dyn = v if dyn is None else dyn * v
            res = acc if dyn is None else acc * dyn
            return jnp.broadcast_to(res, (n_cells, n_months)).astype(jnp.float32)

        jf = jax.jit(f)

    def run(theta: np.ndarray, out: np.ndarray) -> None:
        with jax.enable_x64(True):
            out[...] = np.asarray(jf(theta, dev))

    sig = hashlib.sha256(
        repr([(t.id, id(getattr(t, "mechanism", t))) for t in terms]).encode()
    ).hexdigest()[:12]
    return run, sig


def _numpy_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int):
    def run(theta: np.ndarray, out: np.ndarray) -> None:
        out[...] = form.evaluate(theta, arrays_with_shape)

    class _A(dict):
        pass

    arrays_with_shape = _A(arrays)
    arrays_with_shape.n_cells, arrays_with_shape.n_months = n_cells, n_months
    arrays_with_shape.array = arrays_with_shape.__getitem__
    return run, "numpy"


def compile_kernel(form: Form, drivers, *, backend: str = "auto") -> Kernel:
    """A fused evaluator of ``form`` on ``drivers`` (cached per form and drivers content)."""
    if backend not in BACKENDS:
        raise FormError(f"unknown kernel backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        backend = "c" if _compiler() is not None else "jax"
    arrays, n_cells, n_months = _packed_inputs(form, drivers)
    fp = _fingerprint(drivers)
    if backend == "c":
        static = {n: a.shape[1] == 1 for n, a in arrays.items()}
        plan = plan_c(form, static, arrays, data_cache=_data_cache(fp))
        src = generate_c(form, static, plan=plan)
        sig = hashlib.sha256(src.encode()).hexdigest()[:12]
    else:
        sig = repr([(t.id, id(getattr(t, "mechanism", t))) for t in form.terms])
    key = (form.hash, fp, backend, sig)
    if key in _CACHE:
        return _CACHE[key]
    if backend == "c":
        run = _c_kernel(form, arrays, n_cells, n_months, plan, src)
    else:
        run, _ = {"jax": _jax_kernel, "numpy": _numpy_kernel}[backend](form, arrays, n_cells, n_months)
    k = Kernel(
        form=form,
        backend=backend,
        n_cells=n_cells,
        n_months=n_months,
        static_terms=_static_terms(form, arrays),
        _run=run,
    )
    _CACHE[key] = k
    return k
