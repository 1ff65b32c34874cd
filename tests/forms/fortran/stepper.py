"""A month-by-month interpreter of the derived-input records (``drivers/derived_defs.py``).

It reads nothing but the record: states and their initial values, the ordered steps (parsed by
the expression language), the window and the output. The numpy functions in
``fireform.drivers.derived`` must equal it; the Fortran modules are generated from the same
records and checked against the numpy functions by the deployment check.
"""

from __future__ import annotations

import numpy as np

from fireform.drivers.derived_defs import MONTH_DAYS, DerivedDef
from fireform.forms import expr as ex

_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def step_record(d: DerivedDef, arrays: dict[str, np.ndarray], days: np.ndarray) -> np.ndarray:
    """The derived input over (time, ...) arrays, one month at a time, as the record says."""
    first = np.asarray(arrays[d.inputs[0].name], dtype=np.float64)
    n_t, shape = first.shape[0], first.shape[1:]
    consts = {c.name: c.value for c in d.constants}
    states = {c.name: np.full(shape, c.value) for c in d.state}
    window: list[np.ndarray] = []
    nan_seen = np.zeros(shape, bool)
    out = np.empty(first.shape)

    def ev(text, env):
        return np.broadcast_to(ex.evaluate(ex.parse(text), env), shape).astype(np.float64)

    with np.errstate(invalid="ignore"):
        for t in range(n_t):
            env = {**consts, **states, MONTH_DAYS: float(days[t])}
            env |= {q.name: np.asarray(arrays[q.name][t], dtype=np.float64) for q in d.inputs}
            nan_in = np.zeros(shape, bool)
            for q in d.inputs:
                nan_in |= np.isnan(env[q.name])
            for s in d.steps:
                v = ev(s.expr, env)
                if s.when is not None:
                    cond = _CMP[s.when[1]](ev(s.when[0], env), ev(s.when[2], env))
                    v = np.where(cond, v, ev(s.otherwise, env))
                env[s.target] = v
            if d.kind == "recursion":
                states = {c.name: np.where(nan_in, np.nan, env[c.name]) for c in d.state}
                env |= states
            else:
                window = (window + [env["x"]])[-d.window:]
                nan_seen |= nan_in
                env["mean"] = np.where(nan_seen, np.nan, sum(window) / len(window))
            out[t] = ev(d.output, env)
    return out
