"""``FitResult``: the one record of a finished fit, in memory, in the fit cache and in the run
journal. It round-trips through JSON (:meth:`FitResult.to_dict` / :meth:`FitResult.from_dict`),
so nothing that stores fits ever needs pickle (a file that can run code when read)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from fireform.fitting.objective import Objective
from fireform.forms import Form
from fireform.scoring import CONVENTIONS, Scores

__all__ = ["FitResult"]


@dataclass(frozen=True, eq=False)
class FitResult:
    """A finished fit: best parameters, the full training score vector, the trial history."""

    form_hash: str
    form_json: str
    params: dict[str, float]  # best parameters by name ("scale", "<term>.<param>")
    theta: np.ndarray  # the same in layout order
    value: float  # best objective value
    objective: Objective
    scores: Scores  # of the best parameters on the training period
    trials: pd.DataFrame  # one row per finished trial (see ``_trials_frame``)
    sampler: str
    seed: int
    n_trials: int  # completed trials
    trials_requested: int
    stopped_early: bool
    sampler_seconds: float  # ask + tell, in the driving thread
    eval_seconds: float  # sum of evaluation durations (overlaps sampler time when pipelined)
    wall_seconds: float
    cache_key: str
    study_name: str
    storage: str | None  # storage string (None: in memory)
    fingerprint: str  # training data
    years: tuple[int, ...]  # training years
    warm_start: tuple[dict, ...] = ()
    from_cache: bool = False
    extra: dict = field(default_factory=dict)
    journal_id: int | None = None  # the row of the run journal that holds this fit (loop only)

    @property
    def id(self) -> int | None:
        return self.journal_id

    @property
    def param_names(self) -> list[str]:
        return list(self.params)

    @property
    def form(self) -> Form:
        return Form.from_json(self.form_json)

    def vector(self, region: str = "global") -> dict[str, float]:
        return self.scores.vector(region)

    def overall(self, convention: str = "ilamb2", region: str = "global") -> float:
        return float(self.scores.overall(convention, region))

    def overall_table(self) -> pd.DataFrame:
        """Tidy: convention, region, value — the Overall score under every convention."""
        return pd.DataFrame(
            [
                {"convention": c, "region": r, "value": self.overall(c, r)}
                for r in self.scores.regions
                for c in CONVENTIONS
            ]
        )

    def score_frame(self) -> pd.DataFrame:
        """Tidy component scores (region, component, value, reason)."""
        return self.scores.to_frame()

    def at_bounds(self, *, within: float = 1e-3) -> list[str]:
        """Parameters whose fitted value lies within ``within`` of its box's width (in the
        sampler's coordinates: log10 for log parameters) of a bound: the data push them against
        the box, so the bound, not the data, set them."""
        out = []
        for p in self.form.params:
            v = self.params[p.name]
            lo, hi, x = (np.log10(p.lo), np.log10(p.hi), np.log10(v)) if p.log else (p.lo, p.hi, v)
            if min(x - lo, hi - x) <= within * (hi - lo):
                out.append(p.name)
        return out

    def params_file(self) -> dict:
        """What ``fit --out`` writes and ``form export --params`` / ``deploy-check --params`` read."""
        return {"form_hash": self.form_hash, "theta": dict(self.params), "objective": self.objective.describe(),
                "value": self.value, "years": list(self.years), "at_bounds": self.at_bounds()}

    def trials_to_reach(self, target: float) -> int | None:
        """Completed trials until the best value first reached ``target`` (None: never)."""
        hit = np.nonzero(self.trials["best_so_far"].to_numpy() >= target)[0]
        return int(hit[0]) + 1 if hit.size else None

    def summary(self) -> dict:
        """JSON-able headline (one line of the cache and the journal)."""
        return {
            "form_hash": self.form_hash,
            "objective": self.objective.key(),
            "value": self.value,
            "params": self.params,
            "overall": {c: self.overall(c) for c in CONVENTIONS},
            "vector": self.vector(),
            "sampler": self.sampler,
            "seed": self.seed,
            "n_trials": self.n_trials,
            "trials_requested": self.trials_requested,
            "stopped_early": self.stopped_early,
            "sampler_seconds": self.sampler_seconds,
            "eval_seconds": self.eval_seconds,
            "wall_seconds": self.wall_seconds,
            "cache_key": self.cache_key,
            "fingerprint": self.fingerprint,
            "years": list(self.years),
        }

    def line(self) -> str:
        """One greppable summary line."""
        return (
            f"fit {self.form_hash} {self.objective.metric}[{self.objective.convention}]="
            f"{self.value:.4f} trials={self.n_trials}/{self.trials_requested} "
            f"sampler={self.sampler} seed={self.seed} wall={self.wall_seconds:.1f}s "
            f"(sampler {self.sampler_seconds:.1f}s, eval {self.eval_seconds:.1f}s) key={self.cache_key}"
        )

    def __repr__(self) -> str:
        return f"FitResult({self.line()})"

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything, JSON-able: the summary, the objective, the score table and the trials."""
        d = self.summary()
        d.update(
            form_json=self.form_json, theta=[float(x) for x in self.theta],
            objective=asdict(self.objective), scores=self.scores.to_frame().to_dict(orient="split"),
            trials=_frame_json(self.trials), study_name=self.study_name, storage=self.storage,
            warm_start=[dict(w) for w in self.warm_start], extra=_jsonable(self.extra),
        )
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "FitResult":
        scores = pd.DataFrame(**d["scores"])
        trials = pd.DataFrame(**d["trials"])
        return cls(
            form_hash=d["form_hash"], form_json=d["form_json"],
            params={k: float(v) for k, v in d["params"].items()},
            theta=np.asarray(d["theta"], dtype=float), value=float(d["value"]),
            objective=Objective(**d["objective"]), scores=Scores.from_frame(scores), trials=trials,
            sampler=d["sampler"], seed=int(d["seed"]), n_trials=int(d["n_trials"]),
            trials_requested=int(d["trials_requested"]), stopped_early=bool(d["stopped_early"]),
            sampler_seconds=float(d["sampler_seconds"]), eval_seconds=float(d["eval_seconds"]),
            wall_seconds=float(d["wall_seconds"]), cache_key=d["cache_key"],
            study_name=d["study_name"], storage=d["storage"], fingerprint=d["fingerprint"],
            years=tuple(int(y) for y in d["years"]),
            warm_start=tuple(dict(w) for w in d.get("warm_start", ())), extra=dict(d.get("extra", {})),
        )

    def with_journal_id(self, journal_id: int) -> "FitResult":
        return replace(self, journal_id=int(journal_id))


def _frame_json(df: pd.DataFrame) -> dict:
    d = df.to_dict(orient="split")
    d.pop("index", None)
    d["data"] = [[_num(v) for v in row] for row in d["data"]]
    return d


def _num(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    return v


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    return _num(x)
