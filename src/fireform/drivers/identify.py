"""Which catalog variable a raw file's variable is: by mapping, name, standard_name or file name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fireform.drivers.catalog import catalog

__all__ = ["Identification", "identify"]


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(catalog name -> aliases incl. the name itself, standard_name -> catalog name), from the
    catalog: the one vocabulary every command identifies variables with."""
    aliases = {name: tuple(dict.fromkeys(_norm(a) for a in (name, *v.aliases))) for name, v in catalog().items()}
    std: dict[str, str] = {}
    for name, v in catalog().items():
        for s in v.standard_names:
            std.setdefault(s, name)  # first in catalog order (air_temperature: tas)
    return aliases, std


@dataclass(frozen=True)
class Identification:
    """How a raw variable was mapped to a catalog name, and why."""

    file: str
    var: str
    name: str | None
    how: str  # "mapping" | "name" | "standard_name" | "file name" | "unidentified"
    conflict: str = ""



def _match_alias(text: str) -> str | None:
    t = _norm(text)
    best: tuple[int, str] | None = None
    for name, aliases in _vocabulary()[0].items():
        for a in aliases:
            if t == a or re.search(rf"(^|_){re.escape(a)}(_|$)", t):
                if best is None or len(a) > best[0]:
                    best = (len(a), name)
    return best[1] if best else None


def identify(ds, var: str, file: str, mapping: Mapping | None = None) -> Identification:
    """The catalog name of raw variable ``var`` of ``file``: from the mapping, else by variable
    name, standard_name and, last, the file name. A file name naming another variable than the
    metadata is recorded as a conflict."""
    stem = Path(file).stem
    if mapping:
        for name, ref in mapping.items():
            fref, vref = ref if isinstance(ref, tuple) else (None, ref)
            hit = (vref == var and (fref is None or Path(str(fref)).name == Path(file).name)) or (
                not isinstance(ref, tuple) and ref in (file, Path(file).name, stem)
            )
            if hit:
                return Identification(file, var, name, "mapping")
    cat = catalog()
    from_file = _match_alias(stem)
    attrs = ds[var].attrs
    std = attrs.get("standard_name")
    guess, how = None, "unidentified"
    std_names = _vocabulary()[1]
    if var in cat:
        guess, how = var, "name"
    elif std == "air_temperature" and "maximum" in str(attrs.get("cell_methods", "")):
        guess, how = "tasmax", "standard_name"  # CF: tasmax is air_temperature with a maximum
    elif std in std_names:
        guess, how = std_names[std], "standard_name"
    elif _match_alias(var):
        guess, how = _match_alias(var), "name"
    elif from_file:
        guess, how = from_file, "file name"
    conflict = ""
    if guess and from_file and from_file != guess and how != "file name":
        conflict = (
            f"the file name {Path(file).name!r} suggests {from_file!r} but the metadata "
            f"(variable {var!r}" + (f", standard_name {std!r}" if std else "") + f") says {guess!r}"
        )
    return Identification(file, var, guess, how, conflict)

