"""Frozen records for mechanisms and their parameters, and the registry.

A mechanism is a vectorized pure function plus a record. The function takes the record's
inputs positionally (canonical units, numpy or jax arrays), the parameters as keywords, and an
array namespace ``xp`` (numpy by default, ``jax.numpy`` in the fused kernel); it returns a
dimensionless factor in [0, 1]. The record's ``equation`` restates the function in fireform's
safe expression language (``fireform.forms.expr``): exports (Fortran, LaTeX) and the kernel are
generated from it, and the contract suite checks that it equals the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from fireform.exceptions import DuplicateRegistrationError, UnknownNameError

__all__ = ["Param", "Shape", "Mechanism", "Registry", "REGISTRY", "register", "get", "REGIMES"]

REGIMES = ("productivity", "fuel", "ignition", "weather", "human")


@dataclass(frozen=True)
class Param:
    """A bounded continuous parameter. The optimizer samples in [lo, hi] (log-uniform if ``log``)."""

    name: str
    lo: float
    hi: float
    units: str
    description: str
    log: bool = False
    default: float | None = None  # literature value, used for baselines and warm starts

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or not self.lo < self.hi:
            raise ValueError(f"parameter {self.name!r}: bounds must be finite with lo < hi, got [{self.lo}, {self.hi}]")
        if self.log and self.lo <= 0:
            raise ValueError(f"parameter {self.name!r}: a log-scale parameter needs lo > 0, got {self.lo}")
        if self.default is not None and not self.lo <= self.default <= self.hi:
            raise ValueError(f"parameter {self.name!r}: default {self.default} outside [{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Shape:
    """Declared shape, checked by the contract suite.

    ``monotone`` maps an input name to +1 (non-decreasing) or -1 (non-increasing) in that input,
    for every parameter value in bounds. ``hump`` lists inputs in which the factor rises then falls.
    """

    bounded: bool = True  # in [0, 1]
    monotone: dict[str, int] = field(default_factory=dict)
    hump: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mechanism:
    id: str
    name: str
    func: Callable
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    regime: Literal["productivity", "fuel", "ignition", "weather", "human"]
    equation: str  # safe expression language, same meaning as func
    references: tuple[str, ...]  # BibTeX keys in references.bib
    notes: str  # where the equation comes from; departures; "proposal" if the paper has none
    shape: Shape = field(default_factory=Shape)
    tag: Literal["S", "A", "M"] = "S"  # S: from a paper or model code; A: adapted; M: made here (a proposal)

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise ValueError(f"mechanism {self.id!r}: regime {self.regime!r} not in {REGIMES}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"mechanism {self.id!r}: duplicate parameter names {names}")
        if not self.references:
            raise ValueError(f"mechanism {self.id!r}: at least one reference is required")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def __call__(self, *inputs, xp=None, **params):
        return self.func(*inputs, xp=np if xp is None else xp, **params)


class Registry:
    """Mechanisms by id. Registering an id twice raises; unknown ids fail with the valid list."""

    def __init__(self) -> None:
        self._items: dict[str, Mechanism] = {}

    def add(self, mech: Mechanism) -> Mechanism:
        if mech.id in self._items:
            raise DuplicateRegistrationError(f"mechanism {mech.id!r} is already registered")
        self._items[mech.id] = mech
        return mech

    def get(self, mech_id: str) -> Mechanism:
        try:
            return self._items[mech_id]
        except KeyError:
            raise UnknownNameError(
                f"unknown mechanism {mech_id!r}; valid ids: {', '.join(sorted(self._items))}"
            ) from None

    def __contains__(self, mech_id: str) -> bool:
        return mech_id in self._items

    def __iter__(self) -> Iterator[Mechanism]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def ids(self) -> list[str]:
        return list(self._items)


REGISTRY = Registry()


def register(mech: Mechanism) -> Mechanism:
    return REGISTRY.add(mech)


def get(mech_id: str) -> Mechanism:
    return REGISTRY.get(mech_id)
