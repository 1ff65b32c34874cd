"""``prune``: drop the mechanisms a Shapley ablation found carrying little, refit, compare.

A term is dropped when its share of the total gain is below ``threshold`` (default 5%). Then
the last-in rule (as in a run, :mod:`fireform.loop.ablate`): kept terms are ranked by what
leaving them out costs in the game (:func:`last_in_costs`); each whose cost is at most
``cover_screen`` x ``noise`` is refitted without, and dropped when that refit is within
``noise`` of the best refit so far (the full form's, or a pruned one that beat it). The pruned
form and the full form are refitted with the same budget (``trials``), each warm-started from
its own coalition fit in
the Shapley result, and scored on the training period (the fit's own score vector) and on the
holdout period, read once through the Split's explicit ``unseal`` (journaled by the Split;
refused while any fit runs), under every Overall convention and in every region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fireform.drivers import add_derived
from fireform.exceptions import FitError
from fireform.fitting import FitContext, Split, fit
from fireform.fitting.samplers import DEFAULT_SAMPLER
from fireform.forms import params_of
from fireform.forms.kernel import compile_kernel
from fireform.scoring import CONVENTIONS, Benchmark

__all__ = ["prune", "PruneResult", "kept_players", "last_in_costs", "drop_covered"]


@dataclass(frozen=True, eq=False)
class PruneResult:
    """kept / dropped term ids, both refits, and ``scores``: a tidy table with columns
    form (full | pruned), period (train | holdout), region, convention, value."""

    kept: tuple[str, ...]
    dropped: tuple[str, ...]
    threshold: float
    full_form_json: str
    pruned_form_json: str
    full_fit: object
    pruned_fit: object
    scores: pd.DataFrame
    holdout_reads: int
    covered: tuple[str, ...] = ()  # of ``dropped``: those the last-in rule dropped

    def compare(self, period: str = "holdout", region: str = "global") -> pd.DataFrame:
        """convention x (full, pruned, difference) for one period and region."""
        s = self.scores[(self.scores.period == period) & (self.scores.region == region)]
        w = s.pivot(index="convention", columns="form", values="value")
        w["pruned_minus_full"] = w["pruned"] - w["full"]
        return w.reset_index()

    def line(self) -> str:
        c = self.compare("holdout")
        return (f"prune drop {','.join(self.dropped) or '-'} keep {','.join(self.kept)} | holdout "
                + " ".join(f"{r.convention}:{r.full:.4f}->{r.pruned:.4f}" for r in c.itertuples()))


def kept_players(shapley_result, threshold: float) -> tuple[str, ...]:
    v = shapley_result.values
    keep = [p for p, s in zip(v.player, v.share) if np.isfinite(s) and s >= threshold]
    return tuple(p for p in shapley_result.players if p in keep)


def last_in_costs(subsets: pd.DataFrame, players, keep) -> list[tuple[str, float]]:
    """For each term of the coalition ``keep``: what leaving it out costs in the Shapley game's
    own subset fits, v(K) - v(K without it), cheapest first (NaN, last, where the game lacks a
    coalition). A share averages a term's gain over every coalition, so two terms that each carry
    weight alone (two productivity shapes; a human term shaped like the missing part of one) both
    keep a share although, beside the rest, either adds nothing: the last-in cost shows it. The
    game's fits are at the Shapley budget and can fall short, so this only ranks which terms to
    refit without (:func:`fireform.loop.ablate.shapley_and_prune`)."""
    players = list(players)
    value = {frozenset(p for p in players if bool(r[p])): float(r["value"]) for _, r in subsets.iterrows()}
    cur = frozenset(keep)
    out = [(t, value[cur] - value[cur - {t}] if cur in value and cur - {t} in value else np.nan)
           for t in sorted(cur)]
    return sorted(out, key=lambda x: (not np.isfinite(x[1]), x[1] if np.isfinite(x[1]) else 0.0, x[0]))


def drop_covered(subsets: pd.DataFrame, players, kept, current, *, screen: float, noise: float,
                 reference: float, refit: Callable[[tuple[str, ...], Any], Any],
                 on_refit: Callable[[dict], None] | None = None) -> tuple[tuple[str, ...], Any, list[dict]]:
    """The last-in rule, shared by :func:`prune` and a run's prune step: cheapest first by
    :func:`last_in_costs`, each kept term whose cost is at most ``screen`` is refitted without
    (``refit(rest, current)`` -> a fit with ``.value``), and dropped when that refit is within
    ``noise`` of the best fit so far (``reference`` or the current fit, whichever is higher: a
    drop never costs more than the noise against what is already fitted); repeated on what
    remains. Returns (kept, its fit, one row per refit: term, game_cost, without, reference,
    dropped, fit), each row also passed to ``on_refit`` as it is made."""
    kept, rows = tuple(kept), []
    while len(kept) > 1:
        dropped = False
        for t, cost in last_in_costs(subsets, players, kept):
            if not (np.isfinite(cost) and cost <= screen):
                break  # cheapest first: the rest are beyond the screen
            rest = tuple(p for p in kept if p != t)
            rec = refit(rest, current)
            ref = max(reference, current.value)
            dropped = bool(rec.value >= ref - noise)
            row = {"term": t, "game_cost": float(cost), "without": rec.value, "reference": ref,
                   "dropped": dropped, "fit": rec}
            rows.append(row)
            if on_refit is not None:
                on_refit(row)
            if dropped:
                kept, current = rest, rec
                break
        if not dropped:
            break
    return kept, current, rows


def _scores_rows(form_label: str, period: str, scores) -> list[dict]:
    return [{"form": form_label, "period": period, "region": r, "convention": c,
             "value": float(scores.overall(c, r))} for r in scores.regions for c in CONVENTIONS]


def _holdout_scores(form, theta, held):
    missing = [n for n in form.inputs if n not in held]
    d = add_derived(held, missing) if missing else held
    pred = compile_kernel(form, d)(form.theta_vector(theta))
    return Benchmark.from_drivers(d).score(pred)


def prune(form, shapley_result, *, split, threshold: float = 0.05, trials: int = 1000,
          sampler: str = DEFAULT_SAMPLER, seed: int = 0, patience: int | None = None, cache=None,
          noise: float = 1e-3, cover_screen: float = 20.0,
          reason: str = "prune: full vs pruned form on the holdout years") -> PruneResult:
    """Drop terms with share < ``threshold`` and those the others cover for (the last-in rule,
    module docstring; ``cover_screen=0`` turns it off), refit full and pruned forms on
    ``split.train``, and score both on training and (unsealed once, journaled) holdout years.

    split: a :class:`fireform.fitting.Split` (the holdout is read only through ``unseal``).
    noise: the fit noise (e.g. the spread of repeated fits of the full form; the loop's
        ``budget.min_noise`` by default).
    """
    if not (np.isfinite(noise) and noise >= 0 and np.isfinite(cover_screen) and cover_screen >= 0):
        raise FitError(f"noise and cover_screen must be finite and >= 0, got {noise!r}, {cover_screen!r}")
    if not isinstance(split, Split):
        raise FitError(f"prune needs a fireform.fitting.Split (training + sealed holdout), got {type(split).__name__}")
    if tuple(form.term_ids) != tuple(shapley_result.players):
        raise FitError(f"the Shapley result is for terms {shapley_result.players}, not {form.term_ids}")
    kept = kept_players(shapley_result, threshold)
    if not kept:
        raise FitError(f"no term has a share >= {threshold}: nothing would remain")
    ctx = FitContext(split.train, objective=shapley_result.objective)
    opts = dict(trials=trials, sampler=sampler, seed=seed, patience=patience, cache=cache)
    full_fit = fit(form, ctx, warm_start=shapley_result.full_fit.params, **opts)
    pruned_fit = fit(form.subset(kept), ctx, warm_start=shapley_result.fit_of(kept).params, **opts)
    covered: list[str] = []
    if cover_screen > 0:
        def refit(rest, cur):
            return fit(form.subset(rest), ctx, warm_start=params_of(cur.params, rest), **opts)

        kept, pruned_fit, refits = drop_covered(shapley_result.subsets, form.term_ids, kept, pruned_fit,
                                                screen=cover_screen * noise, noise=noise,
                                                reference=full_fit.value, refit=refit)
        covered = [r["term"] for r in refits if r["dropped"]]
    dropped = tuple(p for p in form.term_ids if p not in kept)
    pruned = form.subset(kept)
    held = split.unseal(reason)
    rows = (_scores_rows("full", "train", full_fit.scores) + _scores_rows("pruned", "train", pruned_fit.scores)
            + _scores_rows("full", "holdout", _holdout_scores(form, full_fit.params, held))
            + _scores_rows("pruned", "holdout", _holdout_scores(pruned, pruned_fit.params, held)))
    return PruneResult(kept=kept, dropped=dropped, threshold=float(threshold),
                       full_form_json=form.to_json(), pruned_form_json=pruned.to_json(),
                       full_fit=full_fit, pruned_fit=pruned_fit, scores=pd.DataFrame(rows),
                       holdout_reads=len(split.reads), covered=tuple(covered))
