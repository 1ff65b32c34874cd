"""Parameter values of a form from a JSON file (what ``--params P.json`` reads)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fireform.exceptions import FormError

__all__ = ["load_theta"]


def load_theta(form, params: str | Path | None) -> np.ndarray:
    """``{"name": value}`` or ``{"theta": {...}}`` (as ``fireform form export --json`` writes);
    the form's defaults when ``params`` is None."""
    if params is None:
        return form.default_theta()
    params = Path(params)
    if not params.is_file():
        raise FormError(f"parameter file {str(params)!r} does not exist")
    try:
        d = json.loads(params.read_text())
    except json.JSONDecodeError as e:
        raise FormError(f"{params}: not valid JSON: {e}") from None
    if isinstance(d, dict) and isinstance(d.get("theta"), dict):
        d = d["theta"]
    if not isinstance(d, dict):
        raise FormError(f"{params}: expected an object of parameter values by name")
    return form.theta_vector(d)
