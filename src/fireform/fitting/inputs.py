"""The input gate at the door of every fit (``fit(..., check=True, override_checks=False)``).

A fit of Drivers or a Split passes its training drivers through
:func:`fireform.drivers.check.gate` (the checks of ``fireform check``; errors refuse with
``InputCheckError`` before any trial). ``check=False`` or ``override_checks=True`` is an
explicit choice, recorded in the result (``FitResult.extra["input_check"]``) and logged.

A :class:`FitContext` is gated once, at its first fit, and remembers the outcome
(``ctx.input_check``), so the 2^N subset fits sharing a context pay for one check. Contexts the
library builds from data its caller has already gated (the loop, Shapley workers, stability
replicates) are marked with :meth:`FitContext.mark_checked` and not checked twice. A context a
user builds by hand is therefore checked like any other data: no entry point skips the gate.
"""

from __future__ import annotations

import logging

from fireform.drivers import gate
from fireform.fitting.context import FitContext
from fireform.fitting.split import training_drivers

__all__ = ["gate_inputs"]

log = logging.getLogger("fireform.fitting")


def gate_inputs(data, *, check: bool = True, override: bool = False) -> dict:
    """Gate the training drivers of ``data``; returns the note recorded in the FitResult."""
    if isinstance(data, FitContext):
        if data.input_check is not None:
            return dict(data.input_check)
        if check:  # gate the context's training drivers once; every later fit reuses the outcome
            data.mark_checked(_gate(data.drivers, override))
            return dict(data.input_check or {})
    if not check:
        log.warning("fit with check=False: the input checks were skipped by the caller")
        return {"input_check": "skipped (check=False)"}
    return _gate(training_drivers(data), override)


def _gate(drivers, override: bool) -> dict:
    report = gate(drivers, override=override)
    if report.overridden:
        n = len(report.errors)
        log.warning("fit despite %d input-check error(s): overridden by the caller", n)
        return {"input_check": f"overridden ({n} error(s))",
                "input_errors": [f"[{r.check}] {r.variable} {r.region}".strip() for r in report.errors.itertuples()]}
    return {"input_check": "ok", "input_warnings": int(len(report.warnings))}
