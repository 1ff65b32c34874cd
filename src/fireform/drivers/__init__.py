"""Drivers: inputs in canonical units, regions, derived drivers, input checks, twin world."""

from fireform.drivers.catalog import Variable, catalog, variable
from fireform.drivers.dataset import Drivers, month_lengths, spherical_cell_area
from fireform.drivers.regions import RegionSet, gfed_regions, global_region, ilamb_regions

__all__ = [
    "Drivers",
    "RegionSet",
    "Variable",
    "catalog",
    "variable",
    "global_region",
    "ilamb_regions",
    "month_lengths",
    "spherical_cell_area",
]

from fireform.drivers.load import load_drivers, open_file  # noqa: E402
from fireform.drivers.derived import add_derived  # noqa: E402
from fireform.drivers.check import InputReport, check_drivers, check_paths  # noqa: E402
from fireform.drivers.bundles import (  # noqa: E402
    IsimipAR6,
    data_root,
    load_biomes,
    load_gfed_regions,
    load_isimip3a_ar6,
    load_pantanal,
)
from fireform.drivers.units import conversion  # noqa: E402

__all__ += [
    "gfed_regions", "load_drivers", "open_file", "add_derived", "InputReport", "check_drivers",
    "check_paths", "IsimipAR6", "data_root", "load_biomes", "load_gfed_regions",
    "load_isimip3a_ar6", "load_pantanal", "conversion",
]
