"""C99 source of a planned form: two kernels (range-proven and clamped), the month loop's product
with pooled exponentials and one shared division, parameter-only subexpressions lifted."""

from __future__ import annotations

import functools

from fireform.forms import expr as ex
from fireform.forms.form import Form
from fireform.forms.kernel.c_plan import EXP2_RANGE, EXP_SHORT_ERR, EXP_TOP_BUDGET, CPlan, param_index, plan_c, scaled
from fireform.forms.kernel.c_prelude import C_PRELUDE, LOG2E

__all__ = ["generate_c"]


def generate_c(form: Form, static: dict[str, bool], *, plan: CPlan | None = None) -> str:
    """C99 source of two functions with the signature ``void f(const double *theta,
    const void *const *inputs, long n_cells, long n_months, float *out)``: ``ff_kernel``, whose
    exponentials are unclamped where parameter bounds and the data's range prove the argument
    in range (valid for theta within bounds), and ``ff_kernel_safe``, clamped everywhere.
    ``inputs``: float32 arrays in ``form.inputs`` order (static inputs of length n_cells,
    dynamic ones n_cells x n_months, row-major), then float64 hoisted arrays (``plan``)."""
    plan = plan or plan_c(form, static)
    index = param_index(form)
    inputs = list(form.inputs)
    head = [C_PRELUDE, f"/* fireform form hash {form.hash} */"]
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
        a = scaled(arg, LOG2E)
        lo, hi = ex.interval(a, plan.ranges)
        ok = fast and EXP2_RANGE[0] <= lo and hi <= EXP2_RANGE[1]
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

