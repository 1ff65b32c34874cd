"""``Surrogate``: a smooth least-squares stand-in for the ILAMB 2.x objective, with a JAX Jacobian.

The ILAMB 2.x Overall (Bias + 2 RMSE + Seasonal + Spatial) / 5 is a mass-weighted mean of
``exp(-|err| / sigma_ref)`` cell scores, a phase score and a correlation: flat where the
prediction is far off, kinked where it is exact, piecewise constant in the phase. Every part is
1 when the prediction's period mean and climatology equal the reference's in every cell, so a
weighted squared error of those is a surrogate with the same optimum on a noise-free target and a
nearby one on a noisy target. Residuals, per cell i with a defined reference, with
W_i = A_i rbar_i / sum_j A_j rbar_j (mass weighting; A_i otherwise; 0 where sigma_ref = 0):

- bias     sqrt(W_i) (cbar_i - rbar_i) / sigma_i
- RMSE     sqrt(2 W_i d_m / sum d) (dc_im - dr_im) / sigma_i, m = 1..12: the centred
           climatologies of the cycle basis (d_m: noleap month lengths), weighted 2 as in Overall
- spatial  sqrt(1 / n) (cbar_i - rbar_i) / std(rbar): every cell alike, as the spatial
           correlation counts them (cells that never burn carry no mass weight but do shape the
           map: a form that burns there is wrong)

The seasonal score has no gradient (the month of the maximum); matching the climatology matches
the phase. ``Surrogate.residuals(u)`` / ``jacobian(u)`` take the parameters in Optuna's normalised
space u in [0, 1]^n (log-transformed where the parameter is log, then mapped to [0, 1]), so a
bounded least-squares solver works on a well-scaled box; the prediction is the form's own
mechanism functions traced with ``xp=jax.numpy`` (as the kernel's "jax" backend), float64.
Jacobians are forward mode (``jax.jacfwd``: one pass carrying n tangents).

The C kernel stays the evaluator of the exact objective; JAX serves only the surrogate.
"""

from __future__ import annotations

import importlib.util
import threading
import weakref

import numpy as np

from fireform.exceptions import FitError

__all__ = ["Surrogate", "surrogate", "to_unit", "from_unit", "jax_available"]

# compiled surrogates per FitContext (weakly: they go with their context), then per form and
# settings: compiling the residuals and their Jacobian costs seconds, a fit of a known form none
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def jax_available() -> bool:
    return importlib.util.find_spec("jax") is not None


def _bounds(form) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = np.array([p.lo for p in form.params], dtype=float)
    hi = np.array([p.hi for p in form.params], dtype=float)
    log = np.array([bool(p.log) for p in form.params])
    return lo, hi, log


def to_unit(form, theta) -> np.ndarray:
    """theta (layout order) -> u in [0, 1]^n (Optuna's normalised space), clipped to the box."""
    lo, hi, log = _bounds(form)
    th = np.clip(np.asarray(theta, dtype=float), lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(log, (np.log(th) - np.log(np.where(log, lo, 1.0)))
                     / (np.log(np.where(log, hi, 2.0)) - np.log(np.where(log, lo, 1.0))),
                     (th - lo) / np.where(hi > lo, hi - lo, 1.0))
    return np.clip(np.nan_to_num(u, nan=0.5), 0.0, 1.0)


def from_unit(form, u) -> np.ndarray:
    """u in [0, 1]^n -> theta (layout order), exactly inside the bounds."""
    lo, hi, log = _bounds(form)
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        llo, lhi = np.log(np.where(log, lo, 1.0)), np.log(np.where(log, hi, 1.0))
        th = np.where(log, np.exp(llo + u * (lhi - llo)), lo + u * (hi - lo))
    return np.clip(th, lo, hi)


class Surrogate:
    """The least-squares surrogate of one form's objective on one FitContext's training data."""

    def __init__(self, form, ctx, *, spatial_weight: float = 1.0, max_cells: int | None = 2000) -> None:
        import jax
        import jax.numpy as jnp

        self.form = form
        self.n_params = len(form.params)
        b = ctx.benchmark
        p = b.pre
        ax = b.axis
        if ax.cycle_years == 0:
            raise FitError("the least-squares surrogate needs at least one whole year of training data")
        drivers = ctx._with_inputs(form)  # derived inputs the form reads, on the training months
        sigma = np.asarray(p["sigma"], dtype=float)
        rbar = np.asarray(p["rbar"], dtype=float)
        dr = np.asarray(p["dr"], dtype=float)
        ok = np.asarray(p["r_ok"], bool) & np.isfinite(rbar) & np.isfinite(sigma)
        if not ok.any():
            raise FitError("no training cell has a defined reference")
        self.cells = np.nonzero(ok)[0]
        # cells where the reference is constant (never burns: sigma_ref = 0) carry no bias or
        # RMSE weight, but the spatial term still sees them: burning there is an error
        scored = (sigma[ok] > 0) & np.isfinite(dr[ok]).all(axis=1)
        if not scored.any():
            raise FitError("no training cell has a reference with sigma_ref > 0")
        area = np.asarray(b.area, dtype=float)[ok]
        w = np.where(scored, area * (np.maximum(rbar[ok], 0.0) if b.mass_weighting else 1.0), 0.0)
        w = w / w.sum() if w.sum() > 0 else scored / scored.sum()
        sigma = np.where(scored, sigma[ok], 1.0)
        dr = np.where(scored[:, None], dr[ok], 0.0)
        rbar = rbar[ok]
        std_r = float(np.std(rbar)) or 1.0  # over every cell, before the sample below
        # a sample of at most max_cells cells (the Jacobian's cost grows with the cells): the
        # heaviest half by bias weight, and a uniform draw from the rest whose weights are scaled
        # up by (cells left / cells drawn), so every sum stays an unbiased estimate
        up = np.ones(w.size)
        if max_cells is not None and w.size > int(max_cells):
            k = int(max_cells) // 2
            order = np.argsort(-w, kind="stable")
            top, rest = order[:k], order[k:]
            pick = np.sort(np.random.default_rng(0).choice(rest, size=int(max_cells) - k, replace=False))
            keep = np.sort(np.concatenate([top, pick]))
            up[pick] = rest.size / pick.size
            up, w, sigma, dr, rbar = up[keep], w[keep] * up[keep], sigma[keep], dr[keep], rbar[keep]
            ok_idx = self.cells[keep]
            ok = np.zeros_like(ok)
            ok[ok_idx] = True
            self.cells = ok_idx
        d = np.asarray(ax.slot_days, dtype=float)
        dt = np.asarray(ax.dt, dtype=float)
        n = int(ok.sum())
        lo, hi, log = _bounds(form)
        llo = np.where(log, np.log(np.where(log, lo, 1.0)), lo)
        lhi = np.where(log, np.log(np.where(log, hi, 1.0)), hi)
        layout = form.param_names
        slices = {t.id: [(q.name, layout.index(f"{t.id}.{q.name}")) for q in t.params] for t in form.terms}
        terms = form.terms
        win = ax.window
        years = int(ax.cycle_years)
        with jax.enable_x64(True):
            xs = {name: jnp.asarray(np.asarray(drivers.array(name))[ok], dtype=jnp.float64)
                  for name in form.inputs}
            c_sig = jnp.asarray(1.0 / sigma)
            c_rbar = jnp.asarray(rbar)
            c_dr = jnp.asarray(dr)
            c_wb = jnp.asarray(np.sqrt(w))
            c_wr = jnp.asarray(np.sqrt(2.0 * w)[:, None] * np.sqrt(d / d.sum())[None, :])
            c_dt = jnp.asarray(dt / dt.sum())
            c_sp = jnp.asarray(np.sqrt(spatial_weight * up / up.sum()) / std_r)
            j_llo, j_lhi, j_log = jnp.asarray(llo), jnp.asarray(lhi), jnp.asarray(log)

            def theta_of(u):
                v = j_llo + u * (j_lhi - j_llo)
                return jnp.where(j_log, jnp.exp(v), v)

            def predict(theta):
                acc = jnp.full((n, 1), theta[0], dtype=jnp.float64)
                for t in terms:
                    vals = {name: theta[i] for name, i in slices[t.id]}
                    acc = acc * jnp.asarray(t.compute(xs, vals, xp=jnp), dtype=jnp.float64)
                return acc  # (n, months) or (n, 1) when every term is static

            def resid(u):
                c = predict(theta_of(u))
                c = jnp.broadcast_to(c, (n, dt.size))
                cbar = c @ c_dt
                clim = c[:, win].reshape(n, years, 12).mean(axis=1)
                dc = clim - clim.mean(axis=1, keepdims=True)
                e = (cbar - c_rbar) * c_sig
                return jnp.concatenate([c_wb * e, (c_wr * (dc - c_dr) * c_sig[:, None]).ravel(),
                                        c_sp * (cbar - c_rbar)])

            self._f = jax.jit(resid)
            self._j = jax.jit(jax.jacfwd(resid))
        self._lock = threading.Lock()
        self.n_residuals = n * 14
        self.n_cells = n
        self.n_calls = 0  # residual evaluations
        self.n_jacobians = 0  # Jacobian evaluations (each one forward pass with n tangents)

    def _call(self, fn, u, counter: str, fill: float) -> np.ndarray:
        """``fn(u)`` in float64, counted in ``counter``; non-finite entries replaced by ``fill``."""
        import jax

        with jax.enable_x64(True):
            out = np.asarray(fn(np.asarray(u, dtype=np.float64)))
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)
        return np.where(np.isfinite(out), out, fill)

    def residuals(self, u) -> np.ndarray:
        return self._call(self._f, u, "n_calls", 1e6)  # a huge residual: the solver backs off

    def jacobian(self, u) -> np.ndarray:
        return self._call(self._j, u, "n_jacobians", 0.0)

    def loss(self, u) -> float:
        """0.5 * sum of squared residuals (what the solver minimises)."""
        r = self.residuals(u)
        return 0.5 * float(r @ r)


def surrogate(form, ctx, *, spatial_weight: float = 1.0, max_cells: int | None = 2000) -> Surrogate:
    """The :class:`Surrogate` of ``form`` on ``ctx``, built once per (context, form, settings)."""
    key = (form.hash, float(spatial_weight), max_cells)
    with _CACHE_LOCK:
        per = _CACHE.setdefault(ctx, {})
        s = per.get(key)
    if s is None:
        s = Surrogate(form, ctx, spatial_weight=spatial_weight, max_cells=max_cells)
        with _CACHE_LOCK:
            s = per.setdefault(key, s)
    return s
