"""The mechanism contract: checks every mechanism (library or new) must pass.

Reusable outside pytest: each ``check_*`` raises :class:`ContractViolation` (an AssertionError)
with a message naming the mechanism, input, parameters and offending value, and returns None
when the mechanism complies. :func:`run_contract` runs them all (the hypothesis-driven shape
checks live in tests/mechanisms/properties and call :func:`check_monotone` / :func:`check_hump`).

The contract:
- record: snake_case id; inputs are catalog drivers; parameter names are identifiers that
  shadow neither inputs nor functions; the function's signature is ``f(*inputs, xp=np,
  **params)`` in record order; every input has a declared shape (monotone +-1 or hump);
  [A]/[M] mechanisms say PROPOSAL in their notes; references exist in references.bib;
- bounded: finite and in [0, 1] for parameters across their box (corners included) and inputs
  across the catalog ranges (range ends included), in float64 and float32;
- broadcasting: static inputs (n, 1) with dynamic inputs (n, m) give (n, m), equal to the
  evaluation on explicitly broadcast arrays;
- equation: the record's ``equation`` parses, validates and uses exactly the record's inputs and
  parameters, and evaluates (``fireform.forms.expr``) to the function within 1e-6 relative;
- jax: the function traces under ``jax.jit`` with ``xp=jax.numpy`` (no Python branching on
  array values) and agrees with numpy to float32 precision;
- shape: monotone in each declared input over a dense grid across its catalog range; humps
  rise to an interior peak and fall.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from fireform.drivers.catalog import catalog
from fireform.forms import expr as E
from fireform.forms.expr import FUNCTIONS
from fireform.mechanisms._base import Mechanism
from fireform.mechanisms.references import bib_keys

__all__ = [
    "ContractViolation",
    "unit_to_params",
    "param_draws",
    "input_values",
    "input_samples",
    "check_record",
    "check_references",
    "check_bounded",
    "check_broadcasting",
    "check_equation",
    "check_jax",
    "check_monotone",
    "check_hump",
    "check_shape_random",
    "run_contract",
]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ContractViolation(AssertionError):
    """A mechanism breaks its contract (message names mechanism, input, parameters, value)."""


def _fail(mech: Mechanism, msg: str) -> ContractViolation:
    return ContractViolation(f"mechanism {mech.id!r}: {msg}")


# -- sampling --------------------------------------------------------------------------------
def unit_to_params(mech: Mechanism, u: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Map a point of [0, 1]^k to parameters (log-uniform for ``log`` parameters), ends exact."""
    out: dict[str, float] = {}
    for p, ui in zip(mech.params, u, strict=True):
        ui = min(1.0, max(0.0, float(ui)))
        if ui == 0.0:
            v = p.lo
        elif ui == 1.0:
            v = p.hi
        elif p.log:
            v = math.exp(math.log(p.lo) + ui * (math.log(p.hi) - math.log(p.lo)))
        else:
            v = p.lo + ui * (p.hi - p.lo)
        out[p.name] = min(p.hi, max(p.lo, v))
    return out


def param_draws(mech: Mechanism, n_random: int = 30, *, seed: int = 0) -> list[dict[str, float]]:
    """All-lo, all-hi, defaults (midpoints where none), every corner (k <= 4), then random draws."""
    k = len(mech.params)
    rng = np.random.default_rng(seed)
    units: list[Sequence[float] | np.ndarray] = [[0.0] * k, [1.0] * k]
    if k <= 4:
        units += [[(c >> i) & 1 for i in range(k)] for c in range(2**k)]
    else:
        units += [rng.integers(0, 2, k).astype(float) for _ in range(16)]
    units += [rng.random(k) for _ in range(n_random)]
    draws = [unit_to_params(mech, u) for u in units]
    mid = unit_to_params(mech, [0.5] * k)
    draws.append(
        {
            p.name: p.default if p.default is not None else mid[p.name]
            for p in mech.params
        }
    )
    return draws


def input_values(name: str, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` values of catalog input ``name``: both range ends, then values spread linearly and
    toward the low end (population, fuel and lightning live mostly near zero)."""
    v = catalog()[name]
    rng = np.random.default_rng(seed)
    span = v.hi - v.lo
    m = max(n - 2, 0)
    lin = v.lo + span * rng.random(m - m // 2)
    low = v.lo + span * 10.0 ** rng.uniform(-6, 0, m // 2)
    out = np.concatenate([[v.lo, v.hi], lin, low])[:n]
    return np.clip(out, v.lo, v.hi)


def input_samples(mech: Mechanism, n: int = 512, *, seed: int = 0) -> dict[str, np.ndarray]:
    """1-d samples (length >= n) of every input: every {lo, hi} corner first, then mixed values."""
    k = len(mech.inputs)
    cat = catalog()
    corners = [[(c >> i) & 1 for i in range(k)] for c in range(2**k)]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(mech.inputs):
        ends = np.array([cat[name].hi if c[j] else cat[name].lo for c in corners])
        vals = input_values(name, n, seed=seed + 17 * j)
        np.random.default_rng(seed + j).shuffle(vals)
        cols[name] = np.concatenate([ends, vals])
    return cols


def _call(mech: Mechanism, inputs: Mapping[str, object], params: Mapping[str, float | np.floating], xp=np):
    return mech.func(*(inputs[n] for n in mech.inputs), xp=xp, **params)


def _describe(params: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.6g}" for k, v in params.items())


# -- record checks ---------------------------------------------------------------------------
def check_record(mech: Mechanism) -> None:
    """Id, inputs, parameter names, function signature, declared shape, proposal notes."""
    cat = catalog()
    if not _ID.match(mech.id):
        raise _fail(mech, "id must be snake_case ([a-z][a-z0-9_]*)")
    if not mech.inputs:
        raise _fail(mech, "needs at least one input")
    for name in mech.inputs:
        if name not in cat:
            raise _fail(mech, f"input {name!r} is not a catalog variable "
                              f"({', '.join(sorted(cat))})")
        if cat[name].role == "target":
            raise _fail(mech, f"input {name!r} is the target, not a driver")
    if len(set(mech.inputs)) != len(mech.inputs):
        raise _fail(mech, f"duplicate inputs {mech.inputs}")
    for p in mech.params:
        if not _IDENT.match(p.name) or p.name in FUNCTIONS or p.name in cat or p.name == "xp":
            raise _fail(mech, f"parameter name {p.name!r} is not a free identifier")
        if not p.units or not p.description:
            raise _fail(mech, f"parameter {p.name!r} needs units and a description")
    sig = inspect.signature(mech.func)
    pos = [
        q.name for q in sig.parameters.values()
        if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)
    ]
    kw = {q.name: q for q in sig.parameters.values() if q.kind == q.KEYWORD_ONLY}
    if tuple(pos) != mech.inputs:
        raise _fail(mech, f"positional arguments {pos} differ from inputs {list(mech.inputs)}")
    if "xp" not in kw or kw["xp"].default is not np:
        raise _fail(mech, "function needs a keyword argument xp=np")
    if set(kw) - {"xp"} != set(mech.param_names):
        raise _fail(mech, f"keyword arguments {sorted(set(kw) - {'xp'})} differ from "
                          f"parameters {sorted(mech.param_names)}")
    shape = mech.shape
    if not shape.bounded:
        raise _fail(mech, "every library mechanism must be bounded in [0, 1]")
    declared = set(shape.monotone) | set(shape.hump)
    if set(shape.monotone) & set(shape.hump):
        raise _fail(mech, "an input cannot be both monotone and a hump")
    if declared != set(mech.inputs):
        raise _fail(mech, f"declared shape covers {sorted(declared)}, "
                          f"inputs are {list(mech.inputs)}")
    for name, sign in shape.monotone.items():
        if sign not in (1, -1):
            raise _fail(mech, f"monotone sign of {name!r} must be +1 or -1, got {sign}")
    if not mech.notes.strip() or not mech.equation.strip():
        raise _fail(mech, "needs notes and an equation")
    if mech.tag in ("A", "M") and "PROPOSAL" not in mech.notes:
        raise _fail(mech, f"tag [{mech.tag}]: notes must say PROPOSAL (no published equation)")


def check_references(mech: Mechanism, keys: frozenset[str] | set[str] | None = None) -> None:
    """Every reference is a key of references.bib."""
    if keys is None:
        keys = bib_keys()
    missing = [r for r in mech.references if r not in keys]
    if missing:
        raise _fail(mech, f"references {missing} are not in references.bib")


# -- numeric checks --------------------------------------------------------------------------
def check_bounded(
    mech: Mechanism, *, n_points: int = 512, n_params: int = 30, seed: int = 0
) -> None:
    """Finite and in [0, 1] over the parameter box and the catalog ranges (float64 and float32)."""
    cols = input_samples(mech, n_points, seed=seed)
    for dtype in (np.float64, np.float32):
        typed = {k: v.astype(dtype) for k, v in cols.items()}
        for params in param_draws(mech, n_params, seed=seed):
            # exp overflow to inf is benign in these forms (1/(1 + inf) = 0); NaNs are not
            with np.errstate(over="ignore", under="ignore", invalid="raise", divide="raise"):
                try:
                    out = np.asarray(_call(mech, typed, params))
                except FloatingPointError as e:
                    raise _fail(mech, f"{e} ({dtype.__name__}, {_describe(params)})") from None
            if out.shape != cols[mech.inputs[0]].shape:
                raise _fail(mech, f"output shape {out.shape} differs from input shape")
            bad = ~np.isfinite(out) | (out < 0) | (out > 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                at = ", ".join(f"{n}={typed[n][i]:.6g}" for n in mech.inputs)
                raise _fail(
                    mech,
                    f"value {out[i]!r} outside [0, 1] at {at} with {_describe(params)} "
                    f"({dtype.__name__})",
                )


def check_broadcasting(mech: Mechanism, *, n: int = 7, m: int = 5, seed: int = 0) -> None:
    """(n, 1) static inputs with (n, m) dynamic ones give (n, m) and equal broadcast evaluation."""
    cat = catalog()
    rng = np.random.default_rng(seed)
    params = param_draws(mech, 1, seed=seed)[-2]
    arrays = {}
    for name in mech.inputs:
        v = cat[name]
        shape = (n, 1) if v.static else (n, m)
        arrays[name] = (v.lo + (v.hi - v.lo) * rng.random(shape) ** 3).astype(np.float32)
    want_shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    shapes = {k: a.shape for k, a in arrays.items()}
    try:
        with np.errstate(over="ignore", under="ignore"):
            out = np.asarray(_call(mech, arrays, params))
            full = {k: np.ascontiguousarray(np.broadcast_to(a, want_shape))
                    for k, a in arrays.items()}
            ref = np.asarray(_call(mech, full, params))
            # parameters given as float32 scalars (as a kernel might) must work as floats do
            p32 = {k: np.float32(v) for k, v in params.items()}
            out32 = np.asarray(_call(mech, arrays, p32))
    except Exception as e:  # a shape error is the contract failure here
        raise _fail(mech, f"fails to broadcast inputs of shapes {shapes}: "
                          f"{type(e).__name__}: {e}") from None
    if out.shape != want_shape:
        raise _fail(mech, f"output shape {out.shape} for input shapes {shapes}; "
                          f"expected {want_shape} (broadcast)")
    if not np.array_equal(out, ref, equal_nan=True):
        raise _fail(mech, "broadcast evaluation differs from evaluation on broadcast arrays")
    if out32.shape != want_shape or not np.allclose(out32, out, rtol=1e-4, atol=1e-6):
        raise _fail(mech, "float32 parameters change the result beyond float32 precision")
    for name in mech.inputs:  # a single cell-month must also work (scalar inputs)
        arrays[name] = arrays[name][0, 0]
    with np.errstate(over="ignore", under="ignore"):
        scalar = np.asarray(_call(mech, arrays, params))
    if scalar.shape != ():
        raise _fail(mech, f"scalar inputs give shape {scalar.shape}, expected ()")


def check_equation(
    mech: Mechanism, *, rtol: float = 1e-6, n_params: int = 12, seed: int = 0
) -> None:
    """The record's equation uses exactly its inputs and parameters and equals the function."""
    try:
        tree = E.parse(mech.equation)
        E.validate(
            tree,
            inputs=frozenset(catalog()) - {"burned_fraction"},
            params={p.name: (p.lo, p.hi) for p in mech.params},
            where=f"mechanism {mech.id!r} equation",
        )
    except Exception as e:  # ExpressionError: report it as a contract failure
        raise _fail(mech, f"equation {mech.equation!r} is not valid: {e}") from None
    used = E.names(tree)
    want = set(mech.inputs) | set(mech.param_names)
    if used != want:
        raise _fail(mech, f"equation uses {sorted(used)}, record declares {sorted(want)}")
    cols = input_samples(mech, 256, seed=seed)
    for params in param_draws(mech, n_params, seed=seed):
        with np.errstate(over="ignore", under="ignore"):
            f = np.asarray(_call(mech, cols, params), dtype=np.float64)
            g = np.broadcast_to(
                np.asarray(E.evaluate(tree, {**cols, **params}, xp=np), dtype=np.float64),
                f.shape,
            )
        # relative agreement; the absolute floor only covers values below any burned fraction
        close = np.isclose(g, f, rtol=rtol, atol=1e-15)
        if not close.all():
            i = int(np.flatnonzero(~close)[0])
            at = ", ".join(f"{n}={cols[n][i]:.6g}" for n in mech.inputs)
            raise _fail(mech, f"equation gives {g[i]!r}, function {f[i]!r} at {at} with "
                              f"{_describe(params)}")


def check_jax(mech: Mechanism, *, seed: int = 0) -> None:
    """Traces under jax.jit with xp=jax.numpy and matches numpy to float32 precision."""
    # jax costs seconds to import: only for the contract's jax check
    import jax
    import jax.numpy as jnp

    cols = input_samples(mech, 128, seed=seed)
    fn = jax.jit(lambda args, params: mech.func(*args, xp=jnp, **params))
    for params in param_draws(mech, 3, seed=seed)[-4:]:
        try:
            got = np.asarray(
                fn(
                    tuple(jnp.asarray(cols[n], dtype=jnp.float32) for n in mech.inputs),
                    {k: jnp.float32(v) for k, v in params.items()},
                )
            )
        except Exception as e:  # a tracer error names the offending Python branch
            raise _fail(mech, f"does not trace under jax.jit: {type(e).__name__}: {e}") from None
        with np.errstate(over="ignore", under="ignore"):
            want = np.asarray(_call(mech, cols, params), dtype=np.float64)
        if not np.allclose(got, want, rtol=2e-4, atol=2e-6):
            i = int(np.argmax(np.abs(got - want)))
            raise _fail(mech, f"jax gives {got[i]!r}, numpy {want[i]!r} with {_describe(params)}")


# -- shape checks ----------------------------------------------------------------------------
def _grid(name: str, n: int) -> np.ndarray:
    v = catalog()[name]
    lin = np.linspace(v.lo, v.hi, n)
    low = v.lo + (v.hi - v.lo) * np.logspace(-7, 0, n)
    return np.unique(np.concatenate([lin, low]))


def _along(mech: Mechanism, name: str, params: Mapping[str, float],
           base: Mapping[str, float], n: int) -> tuple[np.ndarray, np.ndarray]:
    x = _grid(name, n)
    cols = {k: np.full_like(x, float(base[k])) for k in mech.inputs if k != name}
    cols[name] = x
    with np.errstate(over="ignore", under="ignore"):
        y = np.asarray(_call(mech, cols, params), dtype=np.float64)
    return x, y


def check_monotone(mech: Mechanism, name: str, params: Mapping[str, float],
                   base: Mapping[str, float], *, n: int = 513, tol: float = 1e-12) -> None:
    """Non-decreasing (+1) or non-increasing (-1) in ``name`` across its catalog range."""
    sign = mech.shape.monotone[name]
    x, y = _along(mech, name, params, base, n)
    d = sign * np.diff(y)
    if (d < -tol).any():
        i = int(np.argmin(d))
        raise _fail(
            mech,
            f"declared {'increasing' if sign > 0 else 'decreasing'} in {name!r} but goes "
            f"{y[i]:.6g} -> {y[i + 1]:.6g} between {name}={x[i]:.6g} and {x[i + 1]:.6g} "
            f"(other inputs {dict(base)}; {_describe(params)})",
        )


def check_hump(mech: Mechanism, name: str, params: Mapping[str, float],
               base: Mapping[str, float], *, n: int = 1025, tol: float = 1e-12) -> None:
    """Rises to an interior maximum, then falls: unimodal, peak above both range ends."""
    x, y = _along(mech, name, params, base, n)
    k = int(np.argmax(y))
    rising, falling = np.diff(y[: k + 1]), np.diff(y[k:])
    where = f"(other inputs {dict(base)}; {_describe(params)})"
    if (rising < -tol).any() or (falling > tol).any():
        raise _fail(mech, f"declared hump in {name!r} is not unimodal {where}")
    if not (y[k] > y[0] and y[k] > y[-1]):
        raise _fail(
            mech,
            f"declared hump in {name!r} has no interior peak: ends {y[0]:.6g}, {y[-1]:.6g}, "
            f"max {y[k]:.6g} at {name}={x[k]:.6g} {where}",
        )


def check_shape_random(mech: Mechanism, *, n_draws: int = 8, seed: int = 0) -> None:
    """Monotone and hump checks at a few random parameter draws and base points (no hypothesis)."""
    rng = np.random.default_rng(seed)
    cat = catalog()
    for params in param_draws(mech, n_draws, seed=seed)[-n_draws:]:
        base = {k: cat[k].lo + (cat[k].hi - cat[k].lo) * rng.random() ** 2 for k in mech.inputs}
        for name in mech.shape.monotone:
            check_monotone(mech, name, params, base)
        for name in mech.shape.hump:
            check_hump(mech, name, params, base)


def run_contract(mech: Mechanism, *, jax: bool = True) -> None:
    """Every check above, in order; raises the first ContractViolation."""
    check_record(mech)
    check_references(mech)
    check_bounded(mech)
    check_broadcasting(mech)
    check_equation(mech)
    check_shape_random(mech)
    if jax:
        check_jax(mech)
