"""Productivity-limited mechanisms: too little growth to build fuel, or (hump) too wet to burn.

Facts and sources: each record's references and notes, and the ConFire structure.
All functions take inputs in catalog units (gC m-2 yr-1 for the productivity running means).
"""

from __future__ import annotations

import numpy as np

from fireform.mechanisms._base import Mechanism, Param, Shape, register
from fireform.mechanisms._math import log_gaussian, sigmoid

__all__ = ["productivity_hump", "gpp_gating", "simfire_productivity", "confire_fuel"]


# -- Pausas & Ribeiro intermediate-productivity hump -----------------------------------------
def productivity_hump(npp_mean_12m, *, xp=np, x_opt, sigma):
    """exp(-ln(max(NPP12, 1) / x_opt)^2 / (2 sigma^2)); peak 1 at NPP12 = x_opt."""
    return log_gaussian(npp_mean_12m, x_opt, sigma, 1.0, xp)


register(
    Mechanism(
        id="productivity_hump",
        name="Intermediate fire-productivity hump (Pausas-Ribeiro), log-Gaussian in NPP",
        func=productivity_hump,
        inputs=("npp_mean_12m",),
        params=(
            Param("x_opt", 100.0, 2500.0, "g m-2 yr-1",
                  "NPP (trailing 12-month mean, carbon) at which fire peaks", log=True,
                  default=750.0),
            Param("sigma", 0.3, 2.0, "1",
                  "width of the hump in natural-log units of NPP"),
        ),
        regime="productivity",
        equation="exp(-log(max(npp_mean_12m, 1) / x_opt)^2 / (2 * sigma^2))",
        references=("Pausas2013", "vanderWerf2008"),
        notes=(
            "PROPOSAL [A]: Pausas & Ribeiro (2013) state the intermediate fire-productivity "
            "hypothesis (fire peaks at intermediate productivity: the low side limited by "
            "biomass, the high side by moisture) but publish no equation; the log-Gaussian form "
            "is ours. Default x_opt = 750 gC m-2 yr-1 is the middle of "
            "van der Werf et al. (2008)'s observed NPP peak range (500-1000 gC m-2 yr-1); sigma "
            "has no literature value (0.5-1 is a plausible range). NPP is floored at "
            "1 gC m-2 yr-1 so the logarithm stays finite for zero or negative NPP (the factor is "
            "flat and small there)."
        ),
        shape=Shape(hump=("npp_mean_12m",)),
        tag="A",
    )
)


# -- van der Werf monthly GPP gating: antecedent GPP x current-month dryness -----------------
def gpp_gating(gpp_mean_12m, vpd, *, xp=np, gpp0, k_gpp, vpd0, k_vpd):
    """S(GPP12; gpp0, k_gpp) x S(VPD; vpd0, k_vpd), S(x; x0, k) = 1/(1 + exp(-k (x - x0)))."""
    return sigmoid(k_gpp * (gpp_mean_12m - gpp0), xp) * sigmoid(k_vpd * (vpd - vpd0), xp)


register(
    Mechanism(
        id="gpp_gating",
        name="Monthly GPP gating: antecedent GPP build-up x current-month VPD dryness",
        func=gpp_gating,
        inputs=("gpp_mean_12m", "vpd"),
        params=(
            Param("gpp0", 100.0, 3000.0, "g m-2 yr-1",
                  "antecedent (12-month mean) GPP at which fuel build-up is half-saturated"),
            Param("k_gpp", 1e-4, 0.05, "m2 yr g-1",
                  "steepness of the fuel build-up sigmoid in GPP", log=True),
            Param("vpd0", 0.1, 4.0, "kPa", "current-month VPD at which dryness is half-saturated"),
            Param("k_vpd", 0.3, 20.0, "kPa-1", "steepness of the dryness sigmoid in VPD",
                  log=True),
        ),
        regime="productivity",
        equation=(
            "sigmoid(k_gpp * (gpp_mean_12m - gpp0)) * sigmoid(k_vpd * (vpd - vpd0))"
        ),
        references=("vanderWerf2008", "Kuhn-Regnier2021", "pythoninferno", "Kelley2019"),
        notes=(
            "PROPOSAL in this combination. The structure (a sigmoid of an antecedent running "
            "mean of vegetation productivity times a sigmoid of current conditions) is read in "
            "SINFERNO's source (akuhnregnier/python-inferno src/python_inferno/inferno.py, "
            "which uses generalised sigmoids of a moving average of fAPAR and of current fAPAR) "
            "[S]; van der Werf et al. (2008) supply the rationale (fire in the tropics is gated "
            "by fuel build-up in the preceding wet period and by current dryness) and LimFIRE/"
            "ConFire (Kelley et al. 2019) use NPP of the previous 12 months as fuel. Departures: "
            "GPP running mean instead of fAPAR, the plain logistic (SINFERNO's shape exponent "
            "= 1), and VPD as the current-month dryness term. No parameter has a literature value."
        ),
        shape=Shape(monotone={"gpp_mean_12m": 1, "vpd": 1}),
        tag="A",
    )
)


# -- SIMFIRE productivity power law ----------------------------------------------------------
def simfire_productivity(gpp_mean_12m, *, xp=np, g_max, b):
    """min(1, (max(GPP12, 0) / g_max)^b); SIMFIRE uses fAPAR_max^0.905."""
    return xp.minimum(1.0, xp.power(xp.maximum(gpp_mean_12m, 0.0) / g_max, b))


register(
    Mechanism(
        id="simfire_productivity",
        name="SIMFIRE productivity power law (fAPAR_max^0.905 analogue in GPP)",
        func=simfire_productivity,
        inputs=("gpp_mean_12m",),
        params=(
            Param("g_max", 500.0, 6000.0, "g m-2 yr-1",
                  "12-month mean GPP at which the factor saturates at 1", log=True),
            Param("b", 0.3, 2.0, "1", "exponent of the power law", default=0.905),
        ),
        regime="productivity",
        equation="min(1, (max(gpp_mean_12m, 0) / g_max)^b)",
        references=("Knorr2014",),
        notes=(
            "[S] exponent 0.905 read in CABLE core/blaze/simfire.F90 (Knorr et al. 2014: annual "
            "BA = a_biome fAPAR_max^0.905 (1e-5 NI_max)^0.86 exp(-0.0168 PD)). Departures: the "
            "trailing 12-month mean GPP replaces the annual maximum of fAPAR (the catalog has no "
            "fAPAR), and the power law is capped at 1 by normalising with g_max (no literature "
            "value; SIMFIRE's biome constant a_biome belongs in the form's scale)."
        ),
        shape=Shape(monotone={"gpp_mean_12m": 1}),
        tag="S",
    )
)


# -- ConFire / LimFIRE fuel control ----------------------------------------------------------
def confire_fuel(npp_mean_12m, *, xp=np, npp0, k_npp):
    """S(NPP12; npp0, k_npp): ConFire's fuel control on the previous 12 months of NPP."""
    return sigmoid(k_npp * (npp_mean_12m - npp0), xp)


register(
    Mechanism(
        id="confire_fuel",
        name="ConFire/LimFIRE fuel control: sigmoid of trailing 12-month NPP",
        func=confire_fuel,
        inputs=("npp_mean_12m",),
        params=(
            Param("npp0", 0.0, 1500.0, "g m-2 yr-1",
                  "12-month mean NPP at which the fuel control is half-open"),
            Param("k_npp", 1e-4, 0.05, "m2 yr g-1", "steepness of the fuel sigmoid", log=True),
        ),
        regime="productivity",
        equation="sigmoid(k_npp * (npp_mean_12m - npp0))",
        references=("Kelley2019", "confire"),
        notes=(
            "[S] ConFire (douglask3/Bayesian_fire_models fire_model/ConFire.py): each control is "
            "1/(1 + exp(-k (sum_j beta_j x_j + x0))) and burned area is Fmax times the product "
            "of controls; LimFIRE/ConFire (Kelley et al. 2019) use NPP of the previous 12 months "
            "as the fuel driver. Here the control has one driver, written as k (x - x0). ConFire "
            "fits its parameters by Bayesian inference per application: no default is published."
        ),
        shape=Shape(monotone={"npp_mean_12m": 1}),
        tag="S",
    )
)
