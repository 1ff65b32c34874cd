"""Which catalog variable a raw file's variable is: by mapping, name, standard_name or file name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fireform.drivers.catalog import catalog

__all__ = ["Identification", "identify"]

_STANDARD_NAMES = {
    "precipitation_flux": "pr",
    "precipitation_amount": "pr",
    "air_temperature": "tas",
    "relative_humidity": "rh",
    "wind_speed": "wind",
    "burned_area_fraction": "burned_fraction",
    "gross_primary_productivity_of_biomass_expressed_as_carbon": "gpp",
    "net_primary_productivity_of_biomass_expressed_as_carbon": "npp",
    "vegetation_carbon_content": "agb",
    "area_fraction": None,
}

# Aliases (lower case, longest first when matched) of variable and file names.
_ALIASES: dict[str, tuple[str, ...]] = {
    "burned_fraction": ("burned_fraction", "burntfractionall", "percentage_of_area_burned",
                        "burnt_area", "burned_area", "burntarea", "burnedarea", "burnt", "burned", "ba"),
    "tasmax": ("tasmax", "tas_max", "tmax", "tx"),
    "tas": ("tas_mean", "tas", "t2m", "tmean", "temperature"),
    "pr": ("pr_mean", "precipitation", "precip", "prec", "pr", "tp"),
    "vpd_max": ("vpd_max", "vpdmax"),
    "vpd": ("vpd_mean", "vpd"),
    "rh": ("rh", "hurs", "relative_humidity"),
    "dry_days": ("dry_days", "drydays", "dry_day"),
    "consec_dry_days": ("consec_dry", "cdd"),
    "lightning": ("lightning", "cloud2ground", "flash_rate", "flashes", "lght"),
    "tree_cover": ("tree_cover", "treecover", "tree_cover_vcf"),
    "total_cover": ("total_cover", "totalcover"),
    "agb": ("agb", "cveg", "biomass", "cvegag"),
    "gpp": ("gpp",),
    "npp": ("npp",),
    "popd": ("popd", "population_density", "pop_den", "popden"),
    "cropland": ("cropland", "crop", "crops"),
    "soil_moisture": ("soil_moisture", "mrso", "swc", "sm"),
    "wind": ("wind", "sfcwind", "ws"),
    "fuel": ("fuel", "litter", "clitter"),
}


@dataclass(frozen=True)
class Identification:
    """How a raw variable was mapped to a catalog name, and why."""

    file: str
    var: str
    name: str | None
    how: str  # "mapping" | "name" | "standard_name" | "file name" | "unidentified"
    conflict: str = ""



def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _match_alias(text: str) -> str | None:
    t = _norm(text)
    best: tuple[int, str] | None = None
    for name, aliases in _ALIASES.items():
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
    if var in cat:
        guess, how = var, "name"
    elif std in _STANDARD_NAMES and _STANDARD_NAMES[std]:
        guess, how = _STANDARD_NAMES[std], "standard_name"
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

