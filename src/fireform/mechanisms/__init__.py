"""The mechanism library: cited, bounded, vectorized terms of burned-area forms.

Importing this package registers every mechanism in :data:`REGISTRY`. Each mechanism is a pure
function ``f(*inputs, xp=np, **params) -> factor in [0, 1]`` plus a frozen
:class:`Mechanism` record (see ``_base.py``); baseline forms are plain data in ``baselines.py``.
"""

# importing the modules registers their mechanisms
from fireform.mechanisms import fuel, human, ignition, moisture, productivity  # noqa: F401
from fireform.mechanisms._base import (
    REGIMES,
    REGISTRY,
    Mechanism,
    Param,
    Registry,
    Shape,
    get,
    register,
)
from fireform.mechanisms.baselines import BASELINES, baseline, baseline_names
from fireform.mechanisms.references import bib_entries, bib_keys

__all__ = [
    "REGIMES",
    "REGISTRY",
    "Mechanism",
    "Param",
    "Registry",
    "Shape",
    "get",
    "register",
    "BASELINES",
    "baseline",
    "baseline_names",
    "bib_entries",
    "bib_keys",
]
