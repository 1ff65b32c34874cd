"""Human mechanisms: ignitions that rise then fall with population, suppression, cropland.

Facts and sources: each record's references and notes, and the ConFire
structure. Inputs in catalog units: ``popd`` persons km-2, ``cropland`` fraction (both static).
"""

from __future__ import annotations

import numpy as np

from fireform.mechanisms._base import Mechanism, Param, Shape, register
from fireform.mechanisms._math import sigmoid

__all__ = [
    "human_ignition_hump",
    "human_ignition_power",
    "population_suppression",
    "cropland_suppression",
    "cropland_fragmentation",
    "confire_suppression",
]


# -- SPITFIRE human ignitions (hump in population density) -----------------------------------
def human_ignition_hump(popd, *, xp=np, b_pop):
    """(b sqrt(D) / 2)^2 exp(2 - b sqrt(D)) = D exp(-b sqrt(D)) / max; peak 1 at D = 4 / b^2."""
    # min(1, .) only absorbs rounding at the peak (the exact maximum is 1)
    s = b_pop * xp.sqrt(popd)
    return xp.minimum(1.0, xp.power(0.5 * s, 2.0) * xp.exp(2.0 - s))


register(
    Mechanism(
        id="human_ignition_hump",
        name="Human ignitions, hump in population density (SPITFIRE)",
        func=human_ignition_hump,
        inputs=("popd",),
        params=(
            Param("b_pop", 0.1, 2.0, "km", "decay of ignitions per person with sqrt(density)",
                  log=True, default=0.5),
        ),
        regime="human",
        equation="min(1, (0.5 * b_pop * sqrt(popd))^2 * exp(2 - b_pop * sqrt(popd)))",
        references=("Thonicke2010",),
        notes=(
            "[S] SPITFIRE human ignitions = 30 exp(-0.5 sqrt(D)) "
            "a(N_D) D/100, peak at D = 16 persons km-2. Generalised to D exp(-b sqrt(D)) (peak "
            "at D = 4/b^2; b = 0.5 is SPITFIRE) and divided by its maximum (4/b^2) e^-2 so the "
            "peak is exactly 1; SPITFIRE's constant 30/100 and regional propensity a(N_D) "
            "belong in the form's scale."
        ),
        shape=Shape(hump=("popd",)),
        tag="S",
    )
)


# -- CLM human ignitions D^0.43 (saturating) -------------------------------------------------
def human_ignition_power(popd, *, xp=np, d_ref, p_pop):
    """min(1, (D / d_ref)^p_pop); CLM: ignitions proportional to D^0.43."""
    return xp.minimum(1.0, xp.power(popd / d_ref, p_pop))


register(
    Mechanism(
        id="human_ignition_power",
        name="Human ignitions as a power of population density (CLM), capped",
        func=human_ignition_power,
        inputs=("popd",),
        params=(
            Param("d_ref", 1.0, 5000.0, "km-2",
                  "population density at which the factor reaches 1 (normalisation)", log=True),
            Param("p_pop", 0.2, 1.0, "1", "exponent of population density", default=0.43),
        ),
        regime="human",
        equation="min(1, (popd / d_ref)^p_pop)",
        references=("Li2012", "ctsm"),
        notes=(
            "[S] lh = alpha 6.8 hdm^0.43 in ESCOMP/CTSM src/biogeochem/CNFireLi2014Mod.F90 "
            "(default p_pop = 0.43). Departure: normalised by d_ref and capped at 1 (d_ref has no "
            "CLM value); the hump of CLM arises only in a product with population_suppression."
        ),
        shape=Shape(monotone={"popd": 1}),
        tag="S",
    )
)


# -- Population suppression (CLM / INFERNO) --------------------------------------------------
def population_suppression(popd, *, xp=np, c_sup, k_sup):
    """c + (1 - c) exp(-k D): unsuppressed fraction; CLM c = 0.01, k = 0.025 km2.

    Computed as 1 - (1 - c)(1 - exp(-k D)), the same value, which cannot round above 1.
    """
    return 1.0 - (1.0 - c_sup) * (1.0 - xp.exp(-k_sup * popd))


register(
    Mechanism(
        id="population_suppression",
        name="Fire suppression by people (CLM / INFERNO unsuppressed fraction)",
        func=population_suppression,
        inputs=("popd",),
        params=(
            Param("c_sup", 0.0, 0.5, "1", "unsuppressed fraction at very high density",
                  default=1.0 / 99.0),
            Param("k_sup", 1e-3, 0.2, "km2", "suppression per person km-2", log=True,
                  default=0.025),
        ),
        regime="human",
        equation="1 - (1 - c_sup) * (1 - exp(-k_sup * popd))",
        references=("Li2012", "Mangeon2016", "ctsm"),
        notes=(
            "[S] CLM: 1 - fs = 0.01 + 0.98 exp(-0.025 hdm) (ESCOMP/CTSM "
            "src/biogeochem/CNFireLi2014Mod.F90); INFERNO: 0.05 + 0.9 exp(-0.05 D). Written as "
            "c + (1 - c) exp(-k D) so the factor is 1 at D = 0: CLM's form is 0.99 x this with "
            "c = 0.01/0.99 = 1/99 (defaults c = 1/99, k = 0.025); INFERNO's is 0.95 x this "
            "with c = 0.0526, "
            "k = 0.05 (constant factors belong in the scale)."
        ),
        shape=Shape(monotone={"popd": -1}),
        tag="S",
    )
)


# -- Cropland suppression (exponential, proposal) --------------------------------------------
def cropland_suppression(cropland, *, xp=np, k_crop):
    """exp(-k_crop f_crop): burned area falls with agricultural expansion."""
    return xp.exp(-k_crop * cropland)


register(
    Mechanism(
        id="cropland_suppression",
        name="Cropland suppression, exponential (Andela et al. 2017)",
        func=cropland_suppression,
        inputs=("cropland",),
        params=(
            Param("k_crop", 0.1, 10.0, "1", "rate of decline of fire with cropland fraction",
                  log=True),
        ),
        regime="human",
        equation="exp(-k_crop * cropland)",
        references=("Andela2017",),
        notes=(
            "PROPOSAL [A]: Andela et al. (2017) find global burned area fell ~24% over "
            "1998-2015, mostly through agricultural expansion and intensification in savannas "
            "and grasslands; they give no equation. exp(-k f_crop) is ours; "
            "k_crop has no literature value. Compare cropland_fragmentation (CLM's "
            "1 - f_crop)."
        ),
        shape=Shape(monotone={"cropland": -1}),
        tag="A",
    )
)


# -- Cropland fragmentation (CLM) ------------------------------------------------------------
def cropland_fragmentation(cropland, *, xp=np, p_crop):
    """(1 - f_crop)^p_crop; CLM Li2014-2021: p = 1; Li2024 sqrt(natural fraction): p ~ 0.5."""
    return xp.power(1.0 - cropland, p_crop)


register(
    Mechanism(
        id="cropland_fragmentation",
        name="Cropland exclusion / fragmentation (CLM (1 - f_crop)^p)",
        func=cropland_fragmentation,
        inputs=("cropland",),
        params=(
            Param("p_crop", 0.25, 4.0, "1", "exponent of the non-crop fraction", log=True,
                  default=1.0),
        ),
        regime="human",
        equation="(1 - cropland)^p_crop",
        references=("Li2013", "ctsm"),
        notes=(
            "[S] ig contains (1 - cropf_col) in ESCOMP/CTSM src/biogeochem/CNFireLi2014Mod.F90 "
            "(default p_crop = 1); Li2024 uses sqrt(natural-vegetation fraction), "
            "approximated here by p_crop = 0.5 (natural fraction ~ 1 - cropland; pasture and "
            "urban land are not separated here)."
        ),
        shape=Shape(monotone={"cropland": -1}),
        tag="S",
    )
)


# -- ConFire suppression control -------------------------------------------------------------
def confire_suppression(cropland, popd, *, xp=np, s_pop, s0, k_s):
    """1 - S(f_crop + s_pop D; s0, k_s): ConFire's suppression control."""
    return sigmoid(-k_s * (cropland + s_pop * popd - s0), xp)


register(
    Mechanism(
        id="confire_suppression",
        name="ConFire suppression control: cropland + people",
        func=confire_suppression,
        inputs=("cropland", "popd"),
        params=(
            Param("s_pop", 0.0, 0.1, "km2", "suppression weight of population density"),
            Param("s0", 0.0, 1.0, "1", "suppression index at which the control is 1/2"),
            Param("k_s", 0.5, 20.0, "1", "steepness of the suppression control", log=True),
        ),
        regime="human",
        equation="sigmoid(-k_s * (cropland + s_pop * popd - s0))",
        references=("Kelley2019", "confire"),
        notes=(
            "[S] ConFire (douglask3/Bayesian_fire_models fire_model/ConFire.py; Kelley et al. "
            "2019): suppression = cropland + H x population density inside a decreasing "
            "logistic control. Parameters are fitted in ConFire: no default."
        ),
        shape=Shape(monotone={"cropland": -1, "popd": -1}),
        tag="S",
    )
)
