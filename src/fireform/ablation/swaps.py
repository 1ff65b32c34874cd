"""Swaps: which library mechanisms are *relatives* of a form's term, the form with a term
replaced by one, and whether the data tell the two apart.

A relative is defined from the mechanism catalog's metadata only (no hand list):

- **input relative**: it reads at least one of the term's *raw* inputs. A derived input counts
  as the raw drivers it is computed from (``pr_annual`` is ``pr``, ``gpp_mean_12m`` is ``gpp``,
  ``dryness`` is ``pr`` and ``vpd``: :func:`fireform.drivers.derived_spec`), so a mechanism on
  the monthly field and one on its 12-month mean are relatives;
- **regime relative**: it has the same regime (productivity, fuel, ignition, weather, human).

Candidates are ranked closest first: more shared raw inputs, then same regime, then a larger
Jaccard overlap of the raw inputs, then id (deterministic). A mechanism already in the form (as
any term) is never a candidate, nor one whose inputs the data lack.

An alternative joins the term's equivalence class when the swapped form's training objective is
not worse than the form's by more than the fit noise: the data do not prefer the chosen term
(one better by more than the noise joins too, flagged ``better``: the search missed it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fireform.drivers import catalog, derived_spec
from fireform.exceptions import FormError
from fireform.forms import Form, MechanismTerm, Term
from fireform.mechanisms import REGISTRY, Mechanism, Registry

__all__ = ["Relative", "raw_inputs", "relatives", "swap_form", "SwapVerdict", "compare_swap",
           "class_label"]


@dataclass(frozen=True)
class Relative:
    """A library mechanism related to a term: what they share and how close it ranks."""

    mechanism: str
    shared_inputs: tuple[str, ...]  # raw drivers both read
    same_regime: bool
    jaccard: float  # |shared raw inputs| / |union of raw inputs|

    @property
    def relation(self) -> str:
        parts = []
        if self.shared_inputs:
            parts.append("reads " + ",".join(self.shared_inputs))
        if self.same_regime:
            parts.append("same regime")
        return "; ".join(parts)


def raw_inputs(inputs: Iterable[str]) -> frozenset[str]:
    """The raw drivers behind ``inputs``: a derived input is replaced by the drivers it is
    computed from (recursively)."""
    cat = catalog()
    out: set[str] = set()
    todo = list(inputs)
    while todo:
        n = todo.pop()
        if n in cat and cat[n].role == "derived":
            todo.extend(derived_spec(n).inputs)
        else:
            out.add(n)
    return frozenset(out)


def _regime(term: Term) -> str | None:
    return term.mechanism.regime if isinstance(term, MechanismTerm) else None


def _mech_ids(form: Form) -> set[str]:
    return {t.mechanism.id if isinstance(t, MechanismTerm) else t.id for t in form.terms}


def relatives(form: Form, term_id: str, *, available: Iterable[str] | None = None,
              registry: Registry | None = None) -> list[Relative]:
    """The library relatives of ``form``'s term ``term_id``, closest first (module docstring).
    ``available``: the data's variables; mechanisms reading anything else are left out."""
    term = form.term(term_id)
    reg = REGISTRY if registry is None else registry
    have = None if available is None else set(available)
    mine = raw_inputs(term.inputs)
    regime = _regime(term)
    used = _mech_ids(form)
    out = []
    for m in reg:
        if m.id in used or (have is not None and not set(m.inputs) <= have):
            continue
        theirs = raw_inputs(m.inputs)
        shared = tuple(sorted(mine & theirs))
        same = regime is not None and m.regime == regime
        if shared or same:
            out.append(Relative(m.id, shared, same, len(shared) / len(mine | theirs)))
    out.sort(key=lambda r: (-len(r.shared_inputs), not r.same_regime, -r.jaccard, r.mechanism))
    return out


def swap_form(form: Form, term_id: str | None, mechanism: str | Mechanism, *,
              registry: Registry | None = None) -> Form:
    """``form`` with the term ``term_id`` replaced by the library mechanism ``mechanism`` (``term_id``
    None: added), named by its sorted term ids."""
    reg = REGISTRY if registry is None else registry
    mech = reg.get(mechanism) if isinstance(mechanism, str) else mechanism
    if mech.id in form.term_ids:
        raise FormError(f"form {form.name!r} already has {mech.id!r}; a swap must bring a new term")
    out = (form if term_id is None else form.without(term_id)).with_term(MechanismTerm(mech))
    ids = sorted(out.term_ids)
    return Form(terms=out.terms, scale=out.scale, name="+".join(ids), defaults=out.defaults)


@dataclass(frozen=True)
class SwapVerdict:
    """How a swapped form compares with the form on the training data."""

    delta: float  # swapped objective - form objective (> 0: the swap fits better)
    within_noise: bool  # |delta| <= noise
    in_class: bool  # delta >= -noise: the data do not prefer the form's term
    better: bool  # delta > noise
    regions_differing: tuple[str, ...]  # regions where the swap is worse by more than their noise


def compare_swap(value: float, swap_value: float, noise: float, *,
                 regional: Mapping[str, float] | None = None,
                 swap_regional: Mapping[str, float] | None = None,
                 regional_noise: Mapping[str, float] | None = None) -> SwapVerdict:
    """Compare a swap's fitted objective with the form's, globally (``noise``: the fit noise)
    and per region (``regional_noise`` per region, default ``noise``; a region where either
    value is undefined cannot tell them apart and is left out)."""
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"fit noise must be finite and >= 0, got {noise!r}")
    d = float(swap_value) - float(value)
    if not np.isfinite(d):
        d = -np.inf  # a swap that failed to score is worse, not equivalent
    differ = []
    for r, v in (regional or {}).items():
        s = (swap_regional or {}).get(r, np.nan)
        n = (regional_noise or {}).get(r, noise)
        if np.isfinite(v) and np.isfinite(s) and v - s > n:
            differ.append(r)
    return SwapVerdict(delta=d, within_noise=bool(abs(d) <= noise), in_class=bool(d >= -noise),
                       better=bool(d > noise), regions_differing=tuple(differ))


def class_label(form_terms: Sequence[str], classes: Mapping[str, Sequence[str]], *,
                flagged: Iterable[str] = (), optional: Sequence[str] = (), sep: str = " x ") -> str:
    """The form named with its equivalence classes: a term whose class holds alternatives is
    written ``{term ~ alt1 ~ alt2}``, e.g. ``gpp_gating x {temperature_ignition ~
    clm_temperature_limiter}``. ``classes``: term -> alternatives in its class; a term in
    ``flagged`` (its Shapley share did not survive a refit at a higher budget) gets a trailing
    ``?``; each ``optional`` term (dropped because the form without it fits within the noise of
    the form with it: the data cannot tell whether it is there) follows in brackets,
    ``[clm_temperature_limiter]``."""
    bad = set(flagged)
    parts = []
    for t in form_terms:
        alts = [a for a in classes.get(t, ()) if a != t]
        s = "{" + " ~ ".join([t, *alts]) + "}" if alts else t
        parts.append(s + "?" if t in bad else s)
    for t in optional:  # an optional term's class is keyed "[term]"
        if t not in form_terms:
            alts = [a for a in classes.get(f"[{t}]", ()) if a != t]
            parts.append("[" + " ~ ".join([t, *alts]) + "]")
    return sep.join(parts)
