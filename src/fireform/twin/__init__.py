"""The twin world: synthetic, physically patterned drivers on real geography, and burned area
generated from a known form (the truth), so recovery of that form can be tested.

Above :mod:`fireform.forms` (the truth is a Form); nothing below imports it.
"""

from fireform.twin.demo import (
                                CORRELATED_DECOY,
                                DEMO_FORM_IDS,
                                DEMO_TRUTH,
                                TRUE_IDS,
                                demo_drivers,
                                demo_form,
                                demo_truth,
)
from fireform.twin.geography import LandGrid, land_grid, land_mask
from fireform.twin.physics import day_length, hamon_pet, miami_npp, saturation_vapour_pressure, wet_day_intensity
from fireform.twin.truth import add_truth, load_truth_form, truth_values, with_truth
from fireform.twin.world import SYNTH_VARIABLES, make_world, world_drivers, write_world

__all__ = [
    "make_world", "write_world", "world_drivers", "SYNTH_VARIABLES",
    "add_truth", "with_truth", "truth_values", "load_truth_form",
    "DEMO_TRUTH", "TRUE_IDS", "CORRELATED_DECOY", "DEMO_FORM_IDS", "demo_truth", "demo_form",
    "demo_drivers", "LandGrid", "land_grid", "land_mask",
    "miami_npp", "saturation_vapour_pressure", "day_length", "hamon_pet", "wet_day_intensity",
]
