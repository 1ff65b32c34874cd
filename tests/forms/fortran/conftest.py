"""Forms reading every derived input, and the gfortran marker."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fireform.forms.form import Form, NewTerm, default_registry
from fireform.mechanisms._base import Param

requires_gfortran = pytest.mark.skipif(shutil.which("gfortran") is None, reason="needs gfortran")

# One new term per catalog derived input, each a sigmoid of its input (a real, bounded response).
_SCALES = {"gpp": 1500.0, "npp": 600.0, "pr_annual": 1000.0, "dryness": 0.0, "nesterov": 2000.0}


def _term(name: str) -> NewTerm:
    centre = next(v for k, v in _SCALES.items() if name.startswith(k))
    width = {"dryness": 0.3}.get(name, centre / 3)
    return NewTerm(
        f"resp_{name}", f"sigmoid((({name}) - c_{name})/w_{name})",
        (Param(f"c_{name}", centre - width, centre + width, "input units", f"half point of {name}"),
         Param(f"w_{name}", width / 2, width * 2, "input units", f"width of the {name} response")),
        f"response to {name}", ("test",),
    )


def all_derived_form(names: list[str]) -> Form:
    reg = default_registry()
    f = Form.from_mechanisms(["temperature_ignition"], registry=reg, name="all_derived")
    for n in names:
        f = f.with_term(_term(n))
    return f


def theta_of(form, seed: int) -> np.ndarray:
    b = form.bounds
    return b.lo + (b.hi - b.lo) * np.random.default_rng(seed).uniform(0.2, 0.8, b.lo.size)
