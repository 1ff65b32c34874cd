"""The terms of a form: a library mechanism (:class:`MechanismTerm`) or a new term in the safe
expression language (:class:`NewTerm`); the overall :class:`Scale`; parameter records."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

import fireform.mechanisms  # noqa: F401  (importing the package registers the library)
from fireform.drivers import catalog
from fireform.exceptions import ExpressionError, FormError
from fireform.forms import expr as ex
from fireform.mechanisms import REGISTRY, Mechanism, Param, Registry

__all__ = ["MechanismTerm", "NewTerm", "Term", "Scale", "ParamSpec", "Bounds", "default_registry",
           "param_dict", "param_from_dict"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def default_registry() -> Registry:
    """The global mechanism registry (the library's mechanisms registered on import)."""
    return REGISTRY


@lru_cache(maxsize=4096)
def _parse(text: str) -> ex.Expr:
    return ex.parse(text)


def _check_inputs(inputs: Iterable[str], where: str) -> None:
    cat = catalog()
    for n in inputs:
        if n not in cat:
            raise FormError(
                f"{where}: input {n!r} is not in the variable catalog "
                f"(fireform/drivers/catalog.yml: {', '.join(cat)})"
            )


@dataclass(frozen=True)
class ParamSpec:
    """One entry of a form's parameter vector."""

    name: str  # "scale" or "<term_id>.<param>"
    lo: float
    hi: float
    log: bool
    units: str
    description: str
    default: float | None = None
    term: str | None = None  # None for the scale


@dataclass(frozen=True, eq=False)
class Bounds:
    """Parameter bounds in layout order."""

    lo: np.ndarray
    hi: np.ndarray
    log: np.ndarray  # bool


@dataclass(frozen=True)
class Scale:
    """The overall scale (burned fraction per month when every term is 1)."""

    lo: float = 1e-5
    hi: float = 1.0
    log: bool = True
    default: float | None = None

    def __post_init__(self) -> None:
        try:
            Param("scale", self.lo, self.hi, "1", "scale", log=self.log, default=self.default)
        except ValueError as e:
            raise FormError(f"form scale: {e}") from None

    def to_dict(self) -> dict:
        d = {"lo": self.lo, "hi": self.hi, "log": self.log}
        if self.default is not None:
            d["default"] = self.default
        return d


@dataclass(frozen=True)
class MechanismTerm:
    """A library mechanism used as a term; ``alias`` names a second use of the same mechanism."""

    mechanism: Mechanism
    alias: str | None = None

    def __post_init__(self) -> None:
        if self.alias is not None and not _ID.match(self.alias):
            raise FormError(f"term alias {self.alias!r} must be an identifier ([A-Za-z][A-Za-z0-9_]*)")
        _check_inputs(self.mechanism.inputs, f"mechanism {self.mechanism.id!r}")

    @property
    def id(self) -> str:
        return self.alias or self.mechanism.id

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.mechanism.inputs)

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(self.mechanism.params)

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(self.mechanism.references)

    @property
    def equation(self) -> str:
        return self.mechanism.equation

    @property
    def expr(self) -> ex.Expr:
        try:
            return _parse(self.mechanism.equation)
        except ExpressionError as e:
            raise FormError(f"mechanism {self.mechanism.id!r}: equation: {e}") from None

    @property
    def description(self) -> str:
        return self.mechanism.name

    def compute(self, arrays: Mapping[str, object], values: Mapping[str, float], *, xp=np):
        """The factor from the mechanism's own function."""
        return self.mechanism.func(*(arrays[n] for n in self.inputs), xp=xp, **values)

    def to_dict(self) -> dict:
        d = {"mechanism": self.mechanism.id}
        if self.alias is not None:
            d["alias"] = self.alias
        return d

    def math(self) -> dict:
        return self.to_dict()


@dataclass(frozen=True)
class NewTerm:
    """A new term in the safe expression language; needs a rationale and >= 1 reference."""

    name: str
    expression: str
    params: tuple[Param, ...]
    rationale: str
    references: tuple[str, ...]

    def __post_init__(self) -> None:
        where = f"new term {self.name!r}"
        if not isinstance(self.name, str) or not _ID.match(self.name) or self.name == "scale":
            raise FormError(f"{where}: the name must be an identifier other than 'scale'")
        if not str(self.rationale or "").strip():
            raise FormError(f"{where}: a rationale is required (why this term, in a sentence)")
        refs = tuple(str(r) for r in (self.references or ()) if str(r).strip())
        if not refs:
            raise FormError(f"{where}: at least one reference (BibTeX key or DOI) is required")
        object.__setattr__(self, "references", refs)
        object.__setattr__(self, "params", tuple(self.params))
        for p in self.params:
            if not isinstance(p, Param):
                raise FormError(f"{where}: parameters must be Param records, got {p!r}")
        pnames = [p.name for p in self.params]
        if len(set(pnames)) != len(pnames):
            raise FormError(f"{where}: duplicate parameter names {pnames}")
        e = ex.parse(self.expression)
        ex.validate(
            e,
            inputs=set(catalog()),
            params={p.name: (p.lo, p.hi) for p in self.params},
            where=where,
        )
        unused = sorted(set(pnames) - ex.names(e))
        if unused:
            raise FormError(f"{where}: parameters {unused} are declared but not used")

    @property
    def id(self) -> str:
        return self.name

    @cached_property
    def expr(self) -> ex.Expr:
        return _parse(self.expression)

    @property
    def inputs(self) -> tuple[str, ...]:
        cat = catalog()
        return tuple(n for n in cat if n in ex.names(self.expr))

    @property
    def equation(self) -> str:
        return ex.to_text(self.expr)

    @property
    def description(self) -> str:
        return self.rationale

    def compute(self, arrays: Mapping[str, object], values: Mapping[str, float], *, xp=np):
        return ex.evaluate(self.expr, {**arrays, **values}, xp=xp)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "expression": ex.to_text(self.expr),
            "params": [param_dict(p) for p in self.params],
            "rationale": self.rationale,
            "references": list(self.references),
        }

    def math(self) -> dict:
        return {
            "name": self.name,
            "expression": ex.to_text(self.expr),
            "params": [
                {"name": p.name, "lo": float(p.lo), "hi": float(p.hi), "log": bool(p.log)}
                for p in self.params
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "NewTerm":
        name = d.get("name", "?")
        params = []
        for pd in d.get("params", []) or []:
            params.append(param_from_dict(pd, f"new term {name!r}"))
        return cls(
            name=name,
            expression=d.get("expression", ""),
            params=tuple(params),
            rationale=d.get("rationale", ""),
            references=tuple(d.get("references", ()) or ()),
        )


Term = MechanismTerm | NewTerm


def param_dict(p: Param) -> dict:
    d = {
        "name": p.name,
        "lo": p.lo,
        "hi": p.hi,
        "units": p.units,
        "description": p.description,
        "log": p.log,
    }
    if p.default is not None:
        d["default"] = p.default
    return d


def param_from_dict(pd: Mapping, where: str) -> Param:
    if not isinstance(pd, Mapping) or "name" not in pd:
        raise FormError(f"{where}: each parameter needs a dict with a 'name', got {pd!r}")
    pname = pd["name"]
    lo, hi = pd.get("lo"), pd.get("hi")
    if lo is None or hi is None:
        raise FormError(
            f"{where}: parameter {pname!r} is unbounded: 'lo' and 'hi' are required"
        )
    try:
        return Param(
            name=str(pname),
            lo=float(lo),
            hi=float(hi),
            units=str(pd.get("units", "1")),
            description=str(pd.get("description", "")),
            log=bool(pd.get("log", False)),
            default=None if pd.get("default") is None else float(pd["default"]),
        )
    except (TypeError, ValueError) as e:
        raise FormError(f"{where}: {e}") from None


