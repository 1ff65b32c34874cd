"""Drivers: inputs in canonical units on one grid, regions, derived drivers, the input checks,
and the real-data bundle."""

from fireform.drivers.bundles import BIOME_NAMES, IsimipAR6, load_biomes, load_isimip3a_ar6, load_pantanal
from fireform.drivers.catalog import Variable, catalog, variable
from fireform.drivers.check import InputReport, check_drivers, check_paths, gate, gate_paths
from fireform.drivers.dataset import Drivers, month_lengths, spherical_cell_area
from fireform.drivers.derived import DERIVED, add_derived, derived_spec
from fireform.drivers.from_model import DERIVATIONS, AssumptionWarning, derivations
from fireform.drivers.load import Source, load_drivers, month_index, open_file
from fireform.drivers.paths import bundle_info, bundle_path, data_root
from fireform.drivers.regions import (
                                      REGION_SETS,
                                      RegionSet,
                                      gfed_regions,
                                      global_region,
                                      ilamb_regions,
                                      load_gfed_regions,
                                      region_set,
)
from fireform.drivers.units import conversion, convert
from fireform.drivers.years import parse_years, year_list

__all__ = [
    "Drivers", "Variable", "catalog", "variable", "load_drivers", "open_file", "month_index", "Source",
    "add_derived", "derived_spec", "DERIVED", "InputReport", "check_drivers", "check_paths", "gate", "gate_paths",
    "RegionSet", "REGION_SETS", "region_set", "global_region", "ilamb_regions", "gfed_regions",
    "load_gfed_regions", "month_lengths", "spherical_cell_area", "conversion", "convert",
    "parse_years", "year_list", "IsimipAR6", "BIOME_NAMES", "data_root", "bundle_path", "bundle_info",
    "load_biomes", "load_isimip3a_ar6", "load_pantanal", "DERIVATIONS", "AssumptionWarning", "derivations",
]
