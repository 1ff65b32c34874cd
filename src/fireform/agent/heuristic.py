"""The offline default proposer: deterministic, residual-driven add / drop / swap.

Rules, in order (each skips forms already tried):

1. **Shapley pruning**: if the latest Shapley table of the incumbent gives a term a share below
   ``prune_share``, propose dropping the smallest such term (simplicity criterion).
2. **Free drops**: if dropping a term costs less than the fit noise in the screened training
   objective, propose the cheapest such drop (fewer parameters at equal score wins).
3. **Best move**: otherwise the add or swap with the best screened objective; among moves within
   ``tie`` (and the noise) of the best, the one that touches the regime the regional
   diagnostics flag most often, then fewer parameters, then alphabetical order (so the same context always gives the
   same proposal).
   **A regime the form lacks**: when no screened move gains more than the noise, the screen
   cannot rank (it moves one term with the others held, and a term whose value needs the others
   to re-adjust screens flat), so the best add of a regime the form has no term of (fuel,
   productivity, weather, ignition, human) comes first: the fire triangle's missing side before
   a second shape of one it has. Measured on a twin world whose truth is SIMFIRE productivity x
   soil wetness x temperature: the search held hyperarid and human terms, no productivity term,
   and spent six iterations on flat adds; adding ``simfire_productivity`` screened at -0.0006
   but fitted at +0.014.
4. Nothing untried left -> ``None`` (the loop stops searching).

The screen (:func:`fireform.agent.context.screen_moves`) scores each move on the training data
with the new term at a handful of points of its box: it ranks moves; the optimizer then fits
the numbers. The heuristic itself never chooses a number.
"""

from __future__ import annotations

from fireform.agent.base import Proposer, register_proposer
from fireform.agent.proposal import Proposal

__all__ = ["HeuristicProposer"]

_REGIME_WORDS = {
    "fuel": ("fuel",),
    "productivity": ("productivity", "antecedent"),
    "weather": ("dryness", "weather", "seasonal timing", "wet season"),
    "ignition": ("ignition",),
    "human": ("human", "humans"),
}


class HeuristicProposer(Proposer):
    name = "heuristic"

    def __init__(self, *, prune_share: float = 0.05, tie: float = 0.002, **settings) -> None:
        super().__init__(prune_share=prune_share, tie=tie, **settings)
        self.prune_share = float(prune_share)
        self.tie = float(tie)

    def propose(self, context) -> Proposal | None:
        inc = context.incumbent
        terms = list(inc["terms"])
        tried = set(context.tried)
        noise = float(context.objective["noise"])
        moves = [m for m in context.screen if m["form_hash"] not in tried]
        regimes = {m["id"]: m["regime"] for m in context.catalog}

        # 1. Shapley shares of the incumbent
        if context.shapley and len(terms) > 1:
            rows = sorted(context.shapley.get("values", []), key=lambda r: (r.get("share", 1.0), str(r.get("player"))))
            for r in rows:
                player = r.get("player", r.get("mechanism"))
                if player in terms and r.get("share", 1.0) < self.prune_share:
                    rest = [t for t in terms if t != player]
                    cand = [m for m in moves if m["action"] == "drop" and m["remove"] == player]
                    if cand:
                        return self._make(rest, "drop",
                                          f"Shapley gives {player} a share of {r['share']:.1%} of the "
                                          f"gain (< {self.prune_share:.0%}): the other terms carry its "
                                          "signal; dropping it is simpler at equal score.",
                                          {player: "dropped"})

        # 2. drops that cost less than the noise
        drops = [m for m in moves if m["action"] == "drop" and m["gain"] > -noise]
        if drops:
            m = max(drops, key=lambda m: (m["gain"], -m["n_params"], m["remove"]))
            rest = [t for t in terms if t != m["remove"]]
            return self._make(rest, "drop",
                              f"Dropping {m['remove']} changes the screened training objective by "
                              f"{m['gain']:+.4f}, within the fit noise {noise:.4f}: simpler at "
                              "equal score.", {m["remove"]: "dropped"})

        # 3. best add / swap, tie-broken by the regime the diagnostics flag
        grow = [m for m in moves if m["action"] in ("add", "swap")]
        if not grow:
            return None
        flagged = self._flagged(context.diagnostics)
        best = max(m["objective"] for m in grow)
        # the screen is a ranking: regimes only break near-ties (the screen is coarser than a fit)
        tol = min(noise, self.tie)
        near = [m for m in grow if m["objective"] >= best - tol]

        def key(m):
            reg = regimes.get(m["add"], "")
            return (-flagged.get(reg, 0), -m["objective"], m["n_params"], m["action"], m["add"], m["remove"])

        have = {regimes.get(t, "") for t in terms}
        missing = [m for m in grow if m["action"] == "add" and regimes.get(m["add"], "") not in have]
        lacking = bool(missing) and max(m["gain"] for m in grow) <= noise
        if lacking:  # a flat screen: the regime the form lacks first (module docstring)
            near = [max(missing, key=lambda m: (m["objective"], -m["n_params"], m["add"]))]
        m = sorted(near, key=key)[0]
        new = [t for t in terms if t != m["remove"]] + [m["add"]]
        worst = [d for d in context.diagnostics if d["region"] != "global"]
        worst = sorted(worst, key=lambda d: -abs(d.get("bias_relative") or 0.0))[:2]
        where = "; ".join(f"{d['region']}: {d['suspect']}" for d in worst) or "global residuals"
        verb = f"swap {m['remove']} for {m['add']}" if m["action"] == "swap" else f"add {m['add']}"
        rationale = (
            f"{verb} ({regimes.get(m['add'], '?')} regime, which the form has no term of): no screened move "
            f"gains more than the noise {noise:.4f}, and a term whose value needs the others to re-adjust "
            f"screens flat; this one screens at {m['gain']:+.4f}. Diagnostics: {where}." if lacking else
            f"{verb} ({regimes.get(m['add'], '?')} regime): the screened training objective rises "
            f"{m['gain']:+.4f} to {m['objective']:.4f}, the best single-term move. Diagnostics: {where}."
        )
        return self._make(new, m["action"], rationale, {m["add"]: f"{regimes.get(m['add'], '?')} regime; best screened move"})

    @staticmethod
    def _flagged(diags) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in diags:
            s = str(d.get("suspect", "")).lower()
            for reg, words in _REGIME_WORDS.items():
                if any(w in s for w in words):
                    out[reg] = out.get(reg, 0) + 1
        return out

    def _make(self, mechanisms, action, rationale, term_rationales) -> Proposal:
        return Proposal(mechanisms=sorted(mechanisms), rationale=rationale, action=action,
                        term_rationales={k: v for k, v in term_rationales.items() if k})


register_proposer("heuristic", HeuristicProposer)
