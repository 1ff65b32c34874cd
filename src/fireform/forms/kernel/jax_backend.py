"""The jax backend: the mechanisms' own functions traced under ``jax.jit`` in float64."""

from __future__ import annotations

import hashlib

import numpy as np

from fireform.forms.form import Form

__all__ = ["jax_kernel"]


def jax_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int):
    # jax costs seconds to import: only when the jax backend is asked for
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

