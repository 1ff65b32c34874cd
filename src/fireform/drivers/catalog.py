"""The variable catalog: the one vocabulary of names, canonical units and valid ranges."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from fireform.exceptions import UnknownNameError

__all__ = ["Variable", "catalog", "variable"]


@dataclass(frozen=True)
class Variable:
    """One catalog entry; ``units`` are pint-parseable canonical units."""

    name: str
    units: str
    lo: float
    hi: float
    kind: str  # "dynamic" (time, lat, lon) or "static" (lat, lon)
    role: str  # "target" | "driver" | "derived" | "source" (a model output drivers are derived from) | "comparison"
    description: str
    aliases: tuple[str, ...] = ()  # other names in files (CMOR names first), see catalog.yml
    standard_names: tuple[str, ...] = ()  # CF standard names that mean exactly this variable
    seasonal: bool = False  # every land cell has a seasonal cycle (checked by the input checks)

    @property
    def static(self) -> bool:
        return self.kind == "static"


@lru_cache(maxsize=1)
def catalog() -> dict[str, Variable]:
    """All catalog variables by name, in file order."""
    text = resources.files("fireform.drivers").joinpath("catalog.yml").read_text()
    raw = yaml.safe_load(text)
    return {
        name: Variable(
            name=name,
            units=str(rec["units"]),
            lo=float(rec["range"][0]),
            hi=float(rec["range"][1]),
            kind=rec["kind"],
            role=rec["role"],
            description=rec["description"],
            seasonal=bool(rec.get("seasonal", False)),
            aliases=tuple(str(x) for x in rec.get("aliases", ())),
            standard_names=tuple(str(x) for x in rec.get("standard_names", ())),
        )
        for name, rec in raw.items()
    }


def variable(name: str) -> Variable:
    """The catalog entry for ``name``; unknown names fail with the valid list."""
    cat = catalog()
    if name not in cat:
        raise UnknownNameError(
            f"unknown variable {name!r}; the catalog has: {', '.join(sorted(cat))}"
        )
    return cat[name]
