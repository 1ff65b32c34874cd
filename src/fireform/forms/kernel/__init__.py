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

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fireform.exceptions import FormError
from fireform.forms.form import Form, _get, _shape
from fireform.forms.kernel.c_build import C_FLAGS, c_kernel, compiler
from fireform.forms.kernel.c_codegen import generate_c
from fireform.forms.kernel.c_plan import EXP_SHORT_ERR, EXP_TOP_BUDGET, plan_c
from fireform.forms.kernel.jax_backend import jax_kernel
from fireform.forms.kernel.numpy_backend import numpy_kernel

__all__ = [
    "Kernel",
    "Agreement",
    "agreement",
    "compile_kernel",
    "generate_c",
    "plan_c",
    "clear_cache",
    "BACKENDS",
    "C_FLAGS",
    "REL_TOL",
    "TINY",
    "EXP_SHORT_ERR",
    "EXP_TOP_BUDGET",
]

BACKENDS = ("auto", "c", "jax", "numpy")
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


def packed_inputs(form: Form, drivers) -> tuple[dict[str, np.ndarray], int, int]:
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



def compile_kernel(form: Form, drivers, *, backend: str = "auto") -> Kernel:
    """A fused evaluator of ``form`` on ``drivers`` (cached per form and drivers content)."""
    if backend not in BACKENDS:
        raise FormError(f"unknown kernel backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        backend = "c" if compiler() is not None else "jax"
    arrays, n_cells, n_months = packed_inputs(form, drivers)
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
        run = c_kernel(form, arrays, n_cells, n_months, plan, src)
    else:
        run, _ = {"jax": jax_kernel, "numpy": numpy_kernel}[backend](form, arrays, n_cells, n_months)
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

