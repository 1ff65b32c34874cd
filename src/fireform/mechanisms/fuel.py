"""Fuel-limited mechanisms: fuel amount (ramps, gates, humps) and fuel continuity.

Facts and sources: each record's references and notes, the ED2 baseline and the
van Nes et al. (2018) tree-cover threshold. Inputs in catalog units: ``fuel`` g m-2 (carbon),
``agb`` kg m-2 (carbon), ``pr_annual`` mm yr-1, ``tree_cover`` fraction.
"""

from __future__ import annotations

import numpy as np

from fireform.mechanisms._base import Mechanism, Param, Shape, register
from fireform.mechanisms._math import clip01, log_gaussian, sigmoid

__all__ = [
    "fuel_ramp",
    "fuel_biomass_hump",
    "min_fuel_gate",
    "hyperarid_suppression",
    "agb_linear",
    "tree_cover_limiter",
]


# -- CLM fuel-availability ramp --------------------------------------------------------------
def fuel_ramp(fuel, *, xp=np, fuel_lo, fuel_hi):
    """clip((fuel - fuel_lo) / (fuel_hi - fuel_lo)); bounds keep fuel_hi > fuel_lo."""
    return clip01((fuel - fuel_lo) / (fuel_hi - fuel_lo), xp)


register(
    Mechanism(
        id="fuel_ramp",
        name="Fuel-availability ramp (CLM Li et al.)",
        func=fuel_ramp,
        inputs=("fuel",),
        params=(
            Param("fuel_lo", 0.0, 500.0, "g m-2", "fuel load below which fire cannot occur",
                  default=105.0),
            Param("fuel_hi", 600.0, 5000.0, "g m-2", "fuel load above which fuel is not limiting",
                  default=1050.0),
        ),
        regime="fuel",
        equation="clip((fuel - fuel_lo) / (fuel_hi - fuel_lo))",
        references=("Li2012", "Li2013", "ctsm"),
        notes=(
            "[S] fb = max(0, min(1, (fuelc - lfuel)/(ufuel - lfuel))) in ESCOMP/CTSM "
            "src/biogeochem/CNFireLi2014Mod.F90 (also Li2016/2021/2024 modules). lfuel and ufuel "
            "are read from the CTSM parameter file, not the source; the literature gives "
            "75-105 and 825-1050 gC m-2 across versions. Defaults 105/1050 follow the CLM4.5 "
            "(Li et al. 2013) values as quoted there - not re-checked against a parameter file. "
            "Departure: CLM's fuel is litter + CWD + above-ground vegetation carbon, the "
            "catalog's `fuel` is fine fuel (leaf + litter + fine woody debris)."
        ),
        shape=Shape(monotone={"fuel": 1}),
        tag="S",
    )
)


# -- Fuel-biomass hump (the decoy that tracks GPP) --------------------------------------------
def fuel_biomass_hump(agb, *, xp=np, agb_opt, sigma):
    """exp(-ln(max(AGB, 0.01) / agb_opt)^2 / (2 sigma^2)); peak 1 at AGB = agb_opt."""
    return log_gaussian(agb, agb_opt, sigma, 0.01, xp)


register(
    Mechanism(
        id="fuel_biomass_hump",
        name="Fuel-biomass hump, log-Gaussian in above-ground biomass",
        func=fuel_biomass_hump,
        inputs=("agb",),
        params=(
            Param("agb_opt", 0.1, 20.0, "kg m-2",
                  "above-ground biomass (carbon) at which fire peaks", log=True),
            Param("sigma", 0.3, 2.0, "1", "width of the hump in natural-log units of AGB"),
        ),
        regime="fuel",
        equation="exp(-log(max(agb, 0.01) / agb_opt)^2 / (2 * sigma^2))",
        references=("Pausas2013",),
        notes=(
            "PROPOSAL [A]: the intermediate fire-productivity hypothesis of Pausas & Ribeiro "
            "(2013) restated in standing biomass (sparse biomass limits fuel, dense forest is "
            "too moist and closed); no published equation, no literature parameter values. "
            "Biomass tracks productivity, so in the twin world this term is the DECOY strongly "
            "correlated with GPP gating: an ablation should find it redundant. AGB is floored at "
            "0.01 kg m-2 so the logarithm stays finite at zero biomass."
        ),
        shape=Shape(hump=("agb",)),
        tag="A",
    )
)


# -- GlobFIRM-style minimum-fuel gate (smooth) -----------------------------------------------
def min_fuel_gate(fuel, *, xp=np, fuel_min, k_fuel):
    """S(fuel; fuel_min, k_fuel): a smooth version of GlobFIRM's 'no fire below F_min'."""
    return sigmoid(k_fuel * (fuel - fuel_min), xp)


register(
    Mechanism(
        id="min_fuel_gate",
        name="Minimum-fuel gate (GlobFIRM litter threshold, smoothed)",
        func=min_fuel_gate,
        inputs=("fuel",),
        params=(
            Param("fuel_min", 50.0, 2000.0, "g m-2", "fuel load at which the gate is half open",
                  default=200.0),
            Param("k_fuel", 1e-3, 0.2, "m2 g-1", "steepness of the gate", log=True),
        ),
        regime="fuel",
        equation="sigmoid(k_fuel * (fuel - fuel_min))",
        references=("Thonicke2001", "lpjml"),
        notes=(
            "[S] GlobFIRM (LPJmL src/soil/fire_prob.c) sets fire to zero when litter carbon is "
            "below 200 gC m-2 (default fuel_min); LPJ-LMfire uses 1000 g dry matter m-2 "
            "(about 450-500 gC m-2). Departure: the hard threshold is smoothed into a logistic; "
            "k_fuel has no literature value (large k approaches the hard gate), and the catalog's "
            "fine fuel stands in for litter."
        ),
        shape=Shape(monotone={"fuel": 1}),
        tag="S",
    )
)


# -- Krawchuk & Moritz hyperarid (resource-limited) suppression ------------------------------
def hyperarid_suppression(pr_annual, *, xp=np, pr0, k_pr):
    """S(P_annual; pr0, k_pr) with k_pr > 0: fire vanishes toward the arid end."""
    return sigmoid(k_pr * (pr_annual - pr0), xp)


register(
    Mechanism(
        id="hyperarid_suppression",
        name="Hyperarid (resource-limited) suppression, sigmoid in annual precipitation",
        func=hyperarid_suppression,
        inputs=("pr_annual",),
        params=(
            Param("pr0", 20.0, 1000.0, "mm yr-1",
                  "annual precipitation at which the arid limit halves fire"),
            Param("k_pr", 2e-3, 0.1, "yr mm-1", "steepness of the arid limit", log=True),
        ),
        regime="fuel",
        equation="sigmoid(k_pr * (pr_annual - pr0))",
        references=("KrawchukMoritz2011",),
        notes=(
            "PROPOSAL [A]: Krawchuk & Moritz (2011) find fire resource-limited at the arid end "
            "of the productivity gradient (too little biomass to carry fire) and "
            "flammability-limited at the wet end; they give no closed-form equation. The "
            "logistic in trailing-12-month precipitation (catalog `pr_annual`, a derived input) "
            "is the smooth minimum-resource gate of the resource-limitation literature. Classed as fuel-limited "
            "(resource = fuel). No parameter has a literature value."
        ),
        shape=Shape(monotone={"pr_annual": 1}),
        tag="A",
    )
)


# -- ED2 linear above-ground-biomass fuel term -----------------------------------------------
def agb_linear(agb, *, xp=np, agb_max):
    """min(1, AGB / agb_max): ED2's linear fuel term, normalised to stay in [0, 1]."""
    return xp.minimum(1.0, agb / agb_max)


register(
    Mechanism(
        id="agb_linear",
        name="Linear above-ground-biomass fuel term (ED2 stock fire)",
        func=agb_linear,
        inputs=("agb",),
        params=(
            Param("agb_max", 1.0, 60.0, "kg m-2",
                  "biomass at which the linear term saturates (normalisation)", log=True,
                  default=20.0),
        ),
        regime="fuel",
        equation="min(1, agb / agb_max)",
        references=("Longo2019", "ed2"),
        notes=(
            "[S] ED2 (EDmodel/ED2 ED/src/dynamics/fire.f90, disturbance.f90): the monthly fire "
            "rate is FIRE_PARAMETER x (area-weighted AGB, kgC m-2) x 1[W < W_F], i.e. linear in "
            "AGB. Departure: normalised by agb_max and capped at 1 so the factor stays in [0, 1]; "
            "the ED2 slope moves into the form's scale (scale = FIRE_PARAMETER/12 x agb_max, see "
            "baselines.ed2_stock). Default agb_max = 20 kgC m-2 is our choice (not from ED2): it "
            "keeps the ED2 scale below 1 and reproduces ED2 exactly for AGB <= 20 kgC m-2."
        ),
        shape=Shape(monotone={"agb": 1}),
        tag="S",
    )
)


# -- van Nes et al. 2018 tree-cover limiter --------------------------------------------------
def tree_cover_limiter(tree_cover, *, xp=np, tc0, k_tc):
    """S(-tree cover; -tc0, k_tc) = 1/(1 + exp(-k_tc (tc0 - tree_cover)))."""
    return sigmoid(k_tc * (tc0 - tree_cover), xp)


register(
    Mechanism(
        id="tree_cover_limiter",
        name="Tree-cover limiter (fire forbids closed forest)",
        func=tree_cover_limiter,
        inputs=("tree_cover",),
        params=(
            Param("tc0", 0.1, 0.8, "1", "tree cover at which fire is halved", default=0.4),
            Param("k_tc", 2.0, 100.0, "1", "steepness of the fall in fire with tree cover",
                  log=True),
        ),
        regime="fuel",
        equation="sigmoid(k_tc * (tc0 - tree_cover))",
        references=("vanNes2018", "Archibald2009"),
        notes=(
            "PROPOSAL [A]: van Nes et al. (2018) report that fire frequency rises sharply below "
            "about 40% tree cover (default tc0 = 0.4; fuel continuity of grassy ground layers); "
            "Archibald et al. (2009) find tree cover among the top predictors of burnt area in "
            "southern Africa. No published equation; the logistic is ours and k_tc has no "
            "literature value. Tree cover is static in the catalog, so the term is per cell."
        ),
        shape=Shape(monotone={"tree_cover": -1}),
        tag="A",
    )
)
