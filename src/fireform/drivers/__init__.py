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

from fireform.drivers.load import load_drivers  # noqa: E402
from fireform.drivers.derived import add_derived  # noqa: E402

__all__ += ["gfed_regions", "load_drivers", "add_derived"]
